// `registro watch [MODEL]`: promotions and alias moves as they commit, over graphql-ws. The cursor of
// each notification is saved in a state file once printed, so the next run resumes where this one
// stopped: nothing is missed and nothing repeated (the server replays from the cursor).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { contextOf } from "../context.ts";
import type { CommandContext } from "../context.ts";
import { CliError, ExitCode, usageError } from "../exitCodes.ts";

interface WatchOptions {
  state?: string;
  fromNow?: boolean;
  count?: string;
}

interface Cursors {
  stage?: string;
  alias?: string;
}

/** `$XDG_STATE_HOME/registro/watch-<hash of server and model>.json` (`~/.local/state/…`). */
function defaultStateFile(url: string, model: string | undefined): string {
  const base = process.env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state");
  const key = createHash("sha256")
    .update(`${url}\n${model ?? ""}`)
    .digest("hex")
    .slice(0, 16);
  return path.join(base, "registro", `watch-${key}.json`);
}

function readCursors(file: string): Cursors {
  try {
    const value = JSON.parse(readFileSync(file, "utf8")) as Cursors;
    return {
      ...(typeof value.stage === "string" ? { stage: value.stage } : {}),
      ...(typeof value.alias === "string" ? { alias: value.alias } : {}),
    };
  } catch {
    return {};
  }
}

function saveCursors(file: string, cursors: Cursors): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(cursors) + "\n", { mode: 0o600 });
  renameSync(temp, file);
}

interface StageChange {
  cursor: string;
  version: number;
  stage: string;
  previousStage: string;
  comment: string | null;
  occurredAt: string;
  actor: { displayName: string };
  modelVersion: { model: { name: string } };
  archivedVersionNumbers: number[];
}

interface AliasChange {
  cursor: string;
  alias: string;
  change: string;
  version: number | null;
  previousVersion: number | null;
  occurredAt: string;
  actor: { displayName: string };
  event: { modelId: string };
  modelVersion: { model: { name: string } } | null;
  previousModelVersion: { model: { name: string } } | null;
}

const STAGE = `subscription($name: String, $after: String) { modelVersionStageChanged(name: $name, after: $after) {
  cursor version stage previousStage comment occurredAt actor { displayName } modelVersion { model { name } }
  archivedVersionNumbers } }`;
const ALIAS = `subscription($name: String, $after: String) { registeredModelAliasChanged(name: $name, after: $after) {
  cursor alias change version previousVersion occurredAt actor { displayName } event { modelId }
  modelVersion { model { name } } previousModelVersion { model { name } } } }`;

export function registerWatchCommand(program: Command): void {
  program
    .command("watch")
    .description("follow promotions and alias moves live, resuming from the last one seen")
    .argument("[model]", "only this model")
    .option("--state <file>", "where the resume cursor is kept (default: under ~/.local/state/registro)")
    .option("--from-now", "ignore the saved cursor: start with the next change")
    .option("--count <n>", "stop after this many changes")
    .action(async (model: string | undefined, options: WatchOptions, command: Command) => {
      const ctx = contextOf(command);
      const count = options.count === undefined ? Infinity : Number(options.count);
      if (count !== Infinity && (!Number.isInteger(count) || count < 1))
        throw usageError("--count must be a positive integer");
      const stateFile = options.state
        ? path.resolve(options.state)
        : defaultStateFile(ctx.settings.url, model);
      const cursors = options.fromNow ? {} : readCursors(stateFile);
      await watch(ctx, model, count, stateFile, cursors);
    });
}

async function watch(
  ctx: CommandContext,
  model: string | undefined,
  count: number,
  stateFile: string,
  cursors: Cursors,
) {
  const { out, settings } = ctx;
  let seen = 0;
  let failure: CliError | undefined;
  const client = createClient({
    url: `${settings.url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: settings.token ? { Authorization: `Bearer ${settings.token}` } : {},
    lazy: false,
    // graphql-ws reconnects and resubscribes by itself; each resubscription must carry the latest
    // cursor, so subscriptions are restarted here instead, from `cursors`.
    retryAttempts: 0,
  });
  out.note(`watching ${model ?? "every model"} on ${settings.url} (state ${stateFile})`);
  await new Promise<void>((resolve) => {
    let stopped = false;
    const disposers: (() => void)[] = [];
    const stop = (error?: CliError) => {
      if (stopped) return;
      stopped = true;
      failure = error;
      disposers.forEach((d) => d());
      void client.dispose();
      resolve();
    };
    ctx.signal.addEventListener("abort", () => stop(), { once: true });
    const onChange = (kind: keyof Cursors, cursor: string, json: Record<string, unknown>, human: string) => {
      if (stopped) return;
      out.line({ kind, ...json }, human);
      cursors[kind] = cursor;
      saveCursors(stateFile, cursors);
      if (++seen >= count) stop();
    };
    const follow = (kind: keyof Cursors, query: string, retry = 0) => {
      if (stopped) return;
      const dispose = client.subscribe<{
        modelVersionStageChanged?: StageChange;
        registeredModelAliasChanged?: AliasChange;
      }>(
        { query, variables: { name: model ?? null, after: cursors[kind] ?? null } },
        {
          next: ({ data, errors }) => {
            const error = errors?.[0];
            if (error) {
              const code = error.extensions?.code as string | undefined;
              if (code === "SUBSCRIBER_TOO_SLOW") {
                cursors[kind] = error.extensions?.cursor as string;
                return; // `complete` follows; we resubscribe from that cursor.
              }
              stop(
                code === "INVALID_CURSOR"
                  ? new CliError(
                      `${error.message}; the saved cursor is not this registry's: run with --from-now`,
                      ExitCode.failure,
                      code,
                    )
                  : CliError.fromApi(code, error.message),
              );
              return;
            }
            if (kind === "stage") {
              const c = data?.modelVersionStageChanged;
              if (!c) return;
              onChange(
                kind,
                c.cursor,
                { ...c },
                `${c.occurredAt} ${c.modelVersion.model.name} v${c.version} ${c.previousStage} → ${c.stage} by ${c.actor.displayName}` +
                  (c.archivedVersionNumbers.length
                    ? ` (archived ${c.archivedVersionNumbers.join(", ")})`
                    : "") +
                  (c.comment ? `: ${c.comment}` : ""),
              );
            } else {
              const c = data?.registeredModelAliasChanged;
              if (!c) return;
              onChange(
                kind,
                c.cursor,
                { ...c },
                `${c.occurredAt} ${(c.modelVersion ?? c.previousModelVersion)?.model.name ?? c.event.modelId} alias ${c.alias} ${c.change}` +
                  (c.previousVersion ? ` from v${c.previousVersion}` : "") +
                  (c.version ? ` to v${c.version}` : "") +
                  ` by ${c.actor.displayName}`,
              );
            }
          },
          error: (error: unknown) => {
            const close = error as { code?: number; reason?: string };
            if (close?.code === 4401 || close?.code === 4403) {
              stop(
                new CliError(
                  `the server refused the credentials (${close.reason ?? close.code}); set REGISTRO_TOKEN or run \`registro login\``,
                  ExitCode.permission,
                  "UNAUTHENTICATED",
                ),
              );
              return;
            }
            const wait = Math.min(30_000, 500 * 2 ** retry);
            out.note(
              `connection lost (${close?.reason || (error as Error)?.message || close?.code}); retrying in ${wait / 1000} s`,
            );
            setTimeout(() => follow(kind, query, retry + 1), wait);
          },
          complete: () => setTimeout(() => follow(kind, query), 500),
        },
      );
      disposers.push(dispose);
    };
    follow("stage", STAGE);
    follow("alias", ALIAS);
  });
  if (failure) throw failure;
}
