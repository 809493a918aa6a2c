// `registro history MODEL`: the model's events, oldest first, as a table (or `--json`).
import type { Command } from "commander";
import { Option } from "commander";
import { contextOf } from "../context.ts";
import { usageError } from "../exitCodes.ts";
import { noSuchModel } from "../modelRef.ts";
import { table } from "../output.ts";

interface HistoryEvent {
  position: number;
  revision: number;
  type: string;
  occurredAt: string;
  actor: { id: string | null; displayName: string; kind: string };
  data: Record<string, unknown>;
}

/** The few facts of an event a reader looks for first. */
function summary(event: HistoryEvent): string {
  const d = event.data;
  const parts: string[] = [];
  for (const key of [
    "version",
    "from",
    "to",
    "stage",
    "alias",
    "path",
    "key",
    "value",
    "reason",
    "comment",
    "name",
  ])
    if (d[key] !== undefined && d[key] !== null && typeof d[key] !== "object")
      parts.push(`${key}=${d[key] as string | number | boolean}`);
  const text = parts.join(" ");
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

export function registerHistoryCommand(program: Command): void {
  program
    .command("history")
    .description("every change to a model, oldest first")
    .argument("<model>", "model name")
    .addOption(new Option("--limit <n>", "at most this many events (newest are kept)").default("500"))
    .option("--actor <id>", "only changes by this principal id")
    .action(async (model: string, options: { limit: string; actor?: string }, command: Command) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
        throw usageError("--limit must be from 1 to 100000");
      const { client, out } = contextOf(command);
      const events: HistoryEvent[] = [];
      let before: string | null = null;
      // Newest pages first (`last`/`before`), so --limit keeps the latest changes.
      while (events.length < limit) {
        const page: {
          registeredModel: { name: string } | null;
          history: {
            nodes: HistoryEvent[];
            pageInfo: { hasPreviousPage: boolean; startCursor: string | null };
          };
        } = await client.request(
          `query($name: String!, $last: Int, $before: String, $actor: String) {
              registeredModel(name: $name) { name }
              history(name: $name, last: $last, before: $before, actorId: $actor) {
                nodes { position revision type occurredAt actor { id displayName kind } data }
                pageInfo { hasPreviousPage startCursor } } }`,
          { name: model, last: Math.min(500, limit - events.length), before, actor: options.actor },
        );
        if (before === null && page.history.nodes.length === 0 && !page.registeredModel)
          throw await noSuchModel(client, model);
        events.unshift(...page.history.nodes);
        if (!page.history.pageInfo.hasPreviousPage || !page.history.pageInfo.startCursor) break;
        before = page.history.pageInfo.startCursor;
      }
      out.result({ model, events }, () =>
        table(
          ["rev", "when", "event", "by", "what"],
          events.map((e) => [
            e.revision,
            e.occurredAt.replace(/\.\d+Z$/, "Z"),
            e.type,
            e.actor.displayName,
            summary(e),
          ]),
        ),
      );
    });
}
