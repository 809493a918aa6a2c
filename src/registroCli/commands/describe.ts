// `registro describe MODEL[/VERSION|@alias|/Stage]`: a model (its versions, aliases, tags), or one
// version (params, metrics, signature, artifacts with formats and verdicts, what blocks promotion).
import type { Command } from "commander";
import type { ModelSummary } from "../apiTypes.ts";
import { contextOf } from "../context.ts";
import { noSuchModel, parseVersionRef, resolveVersion } from "../modelRef.ts";
import { table } from "../output.ts";
import { fetchVersion, renderBlockers, renderVersion } from "../versionView.ts";

export function registerDescribeCommand(program: Command): void {
  program
    .command("describe")
    .description("show a model, or one version of it")
    .argument("<ref>", "MODEL, MODEL/VERSION, MODEL@alias or MODEL/Stage")
    .action(async (ref: string, _options: object, command: Command) => {
      const { client, out } = contextOf(command);
      const parsed = parseVersionRef(ref);
      if (parsed.kind !== "latest") {
        const version = await resolveVersion(client, parsed);
        const { view, blockers } = await fetchVersion(client, parsed.model, version);
        out.result({ model: parsed.model, version: view, blockers }, () =>
          [renderVersion(parsed.model, view), renderBlockers(blockers)].join("\n"),
        );
        return;
      }
      const data = await client.request<{ registeredModel: ModelSummary | null }>(
        `query($name: String!) { registeredModel(name: $name) {
          name modelId description createdAt createdBy deleted revision
          tags { key value } aliases { alias version }
          reviewPolicy { stage aliasPattern requiredApprovals }
          versions(first: 100, direction: DESC) { totalCount nodes { version stage status aliases createdAt createdBy
            artifacts { verdict } } } } }`,
        { name: parsed.model },
      );
      const model = data.registeredModel;
      if (!model) throw await noSuchModel(client, parsed.model);
      out.result(model, () =>
        [
          `${model.name}${model.deleted ? " (deleted)" : ""}: ${model.versions.totalCount} version(s), revision ${model.revision}`,
          model.description ? `  description: ${model.description}` : "",
          `  created ${model.createdAt} by ${model.createdBy}`,
          model.tags.length ? `  tags: ${model.tags.map((t) => `${t.key}=${t.value}`).join(", ")}` : "",
          model.aliases.length
            ? `  aliases: ${model.aliases.map((a) => `${a.alias}→${a.version}`).join(", ")}`
            : "",
          model.reviewPolicy.length
            ? `  review policy: ${model.reviewPolicy.map((r) => `${r.stage ?? r.aliasPattern} needs ${r.requiredApprovals}`).join(", ")}`
            : "",
          table(
            ["version", "stage", "status", "aliases", "unsafe", "created", "by"],
            model.versions.nodes.map((v) => [
              v.version,
              v.stage,
              v.status,
              v.aliases.join(",") || null,
              (v.artifacts ?? []).filter(
                (a) => a.verdict === null || a.verdict === "DANGEROUS" || a.verdict === "UNSCANNABLE",
              ).length,
              v.createdAt,
              v.createdBy,
            ]),
          ),
        ]
          .filter((line) => line !== "")
          .join("\n"),
      );
    });
}
