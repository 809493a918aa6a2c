// `registro search`: model versions matching the API's filters (modelVersions), e.g.
// `registro search --stage Staging --metric 'auc>=0.9' --order auc:desc`.
import type { Command } from "commander";
import { Option } from "commander";
import type { VersionSummary } from "../apiTypes.ts";
import { contextOf } from "../context.ts";
import { usageError } from "../exitCodes.ts";
import { collect, splitPair } from "../keyValues.ts";
import { parseStage } from "../modelRef.ts";
import { table } from "../output.ts";

interface SearchOptions {
  models?: boolean;
  model?: string;
  stage?: string;
  status?: string;
  alias?: string;
  tag: string[];
  metric: string[];
  text?: string;
  verdict?: string;
  format?: string;
  createdBy?: string;
  runId?: string;
  order?: string;
  limit: string;
}

const OPERATORS: Record<string, string> = {
  ">=": "gte",
  "<=": "lte",
  ">": "gt",
  "<": "lt",
  "=": "eq",
  "==": "eq",
};

/** `auc>=0.9` → { key: "auc", gte: 0.9 }; `auc` alone: the metric was logged. */
export function metricCondition(text: string): Record<string, unknown> {
  const match = /^(.+?)(>=|<=|==|>|<|=)(.+)$/.exec(text);
  if (!match) return { key: text };
  const value = Number(match[3]);
  if (!Number.isFinite(value)) throw usageError(`--metric ${text}: ${match[3]} is not a number`);
  return { key: match[1], [OPERATORS[match[2]!]!]: value };
}

function order(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const [key, direction = "desc"] = text.split(":");
  const dir = direction.toUpperCase();
  if (dir !== "ASC" && dir !== "DESC") throw usageError(`--order ${text}: direction is asc or desc`);
  const fields: Record<string, string> = { created: "CREATED_AT", updated: "UPDATED_AT", version: "VERSION" };
  return fields[key!] ? { field: fields[key!]!, direction: dir } : { metric: key!, direction: dir };
}

export function registerSearchCommand(program: Command): void {
  program
    .command("search")
    .description("find model versions by stage, alias, tags, metrics, text, verdicts…")
    .option("--model <name>", "versions of this model")
    .option("--stage <stage>", "None, Staging, Production or Archived")
    .option("--status <status>", "PENDING_REGISTRATION, READY or FAILED_REGISTRATION")
    .option("--alias <alias>", "the version an alias points at")
    .option("--tag <key=value>", "carrying this tag (repeatable; `key=` for any value)", collect, [])
    .option("--metric <condition>", "e.g. auc>=0.9, loss<0.2, f1 (logged at all); repeatable", collect, [])
    .option("--text <text>", "in the model's name or the description")
    .option(
      "--verdict <verdict>",
      "with an artifact of this verdict (SAFE, SUSPICIOUS, DANGEROUS, UNSCANNABLE)",
    )
    .option("--format <format>", "with an artifact of this format (ONNX, PICKLE, SAFETENSORS…)")
    .option("--created-by <name>", "registered by this display name")
    .option("--run-id <id>", "from this training run")
    .option("--order <key[:asc|desc]>", "created, updated, version, or a metric name (default: newest first)")
    .addOption(new Option("--limit <n>", "at most this many (1-500)").default("50"))
    .option("--models", "list models instead (by --stage, --alias, --tag, --text)")
    .action(async (options: SearchOptions, command: Command) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw usageError("--limit must be from 1 to 500");
      if (options.models) return searchModels(options, limit, command);
      const filter = {
        name: options.model,
        stage: options.stage && parseStage(options.stage),
        status: options.status?.toUpperCase(),
        alias: options.alias,
        tags: options.tag.length ? options.tag.map((t) => tagFilter(t)) : undefined,
        metrics: options.metric.length ? options.metric.map(metricCondition) : undefined,
        text: options.text,
        artifactVerdict: options.verdict?.toUpperCase(),
        artifactFormat: options.format?.toUpperCase(),
        createdBy: options.createdBy,
        runId: options.runId,
      };
      const { client, out } = contextOf(command);
      const data = await client.request<{ modelVersions: { totalCount: number; nodes: VersionSummary[] } }>(
        `query($filter: ModelVersionFilter, $orderBy: ModelVersionOrder, $first: Int) {
          modelVersions(filter: $filter, orderBy: $orderBy, first: $first) {
            totalCount nodes { model { name } version stage status aliases createdAt createdBy metrics { key value } } } }`,
        { filter, orderBy: order(options.order), first: limit },
      );
      const { totalCount, nodes } = data.modelVersions;
      out.result({ totalCount, versions: nodes }, () =>
        [
          table(
            ["model", "version", "stage", "status", "aliases", "metrics", "created"],
            nodes.map((v) => [
              v.model?.name,
              v.version,
              v.stage,
              v.status,
              v.aliases.join(",") || null,
              (v.metrics ?? []).map((m) => `${m.key}=${m.value}`).join(" ") || null,
              v.createdAt,
            ]),
          ),
          `${nodes.length} of ${totalCount}`,
        ].join("\n"),
      );
    });
}

/** `search --models`: registered models by any live version's stage, an alias, tags and text. */
async function searchModels(options: SearchOptions, limit: number, command: Command): Promise<void> {
  const unsupported: string[] = (
    ["model", "status", "verdict", "format", "createdBy", "runId", "order"] as const
  ).filter((key) => options[key] !== undefined);
  if (options.metric.length) unsupported.push("metric");
  if (unsupported.length)
    throw usageError(`--models takes --stage, --alias, --tag and --text, not --${unsupported.join(", --")}`);
  const filter = {
    stage: options.stage && parseStage(options.stage),
    alias: options.alias,
    tags: options.tag.length ? options.tag.map((t) => tagFilter(t)) : undefined,
    text: options.text,
  };
  const { client, out } = contextOf(command);
  const data = await client.request<{
    registeredModels: {
      totalCount: number;
      nodes: {
        name: string;
        description: string;
        aliases: { alias: string; version: number }[];
        latestVersions: { version: number; stage: string }[];
      }[];
    };
  }>(
    `query($filter: RegisteredModelFilter, $first: Int) { registeredModels(filter: $filter, first: $first) {
      totalCount nodes { name description aliases { alias version } latestVersions { version stage } } } }`,
    { filter, first: limit },
  );
  const { totalCount, nodes } = data.registeredModels;
  out.result({ totalCount, models: nodes }, () =>
    [
      table(
        ["model", "latest per stage", "aliases", "description"],
        nodes.map((m) => [
          m.name,
          m.latestVersions.map((v) => `${v.stage}:${v.version}`).join(" ") || null,
          m.aliases.map((a) => `${a.alias}→${a.version}`).join(" ") || null,
          m.description || null,
        ]),
      ),
      `${nodes.length} of ${totalCount}`,
    ].join("\n"),
  );
}

function tagFilter(text: string): { key: string; value?: string } {
  const [key, value] = splitPair(text, "--tag");
  return value === "" ? { key } : { key, value };
}
