// `registro diff MODEL A B`: what differs between two versions: params, metrics, artifacts (by path,
// with digests and verdicts) and signatures. A and B are version numbers, `@alias` or a stage.
import { isDeepStrictEqual } from "node:util";
import type { Command } from "commander";
import { contextOf } from "../context.ts";
import { parseVersionRef, resolveVersion } from "../modelRef.ts";
import { table } from "../output.ts";
import { fetchVersion, renderSignature } from "../versionView.ts";
import type { VersionView } from "../versionView.ts";

interface Change {
  key: string;
  a: unknown;
  b: unknown;
}

function diffRecords(a: Record<string, unknown>, b: Record<string, unknown>): Change[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys
    .filter((k) => !isDeepStrictEqual(a[k], b[k]))
    .map((k) => ({ key: k, a: a[k] ?? null, b: b[k] ?? null }));
}

function diffArtifacts(a: VersionView, b: VersionView) {
  const paths = [...new Set([...a.artifacts, ...b.artifacts].map((x) => x.path))].sort();
  return paths.map((path) => {
    const left = a.artifacts.find((x) => x.path === path);
    const right = b.artifacts.find((x) => x.path === path);
    const side = (x: typeof left) =>
      x ? { sha256: x.sha256, size: x.size, verdict: x.verdict, format: x.format } : null;
    const status = !left ? "added" : !right ? "removed" : left.sha256 === right.sha256 ? "same" : "changed";
    return { path, status, a: side(left), b: side(right) };
  });
}

export function registerDiffCommand(program: Command): void {
  program
    .command("diff")
    .description("compare two versions: params, metrics, artifacts, signatures")
    .argument("<model>", "model name")
    .argument("<a>", "a version number, @alias or stage")
    .argument("<b>", "a version number, @alias or stage")
    .action(async (model: string, a: string, b: string, _options: object, command: Command) => {
      const { client, out } = contextOf(command);
      const refOf = (text: string) =>
        parseVersionRef(text.startsWith("@") ? `${model}${text}` : `${model}/${text}`);
      const [va, vb] = await Promise.all([
        resolveVersion(client, refOf(a)),
        resolveVersion(client, refOf(b)),
      ]);
      const [{ view: left }, { view: right }] = await Promise.all([
        fetchVersion(client, model, va),
        fetchVersion(client, model, vb),
      ]);
      const metricsOf = (v: VersionView) => Object.fromEntries(v.metrics.map((m) => [m.key, m.value]));
      const result = {
        model,
        a: va,
        b: vb,
        params: diffRecords(left.params, right.params),
        metrics: diffRecords(metricsOf(left), metricsOf(right)),
        artifacts: diffArtifacts(left, right),
        signature: {
          same:
            isDeepStrictEqual(left.signature?.inputs ?? null, right.signature?.inputs ?? null) &&
            isDeepStrictEqual(left.signature?.outputs ?? null, right.signature?.outputs ?? null),
          a: left.signature,
          b: right.signature,
        },
      };
      const cell = (v: unknown) =>
        v === null || v === undefined ? null : typeof v === "string" ? v : JSON.stringify(v);
      out.result(result, () => {
        const lines = [`${model}: version ${va} → version ${vb}`];
        lines.push(
          result.params.length
            ? `params:\n${table(
                ["key", `v${va}`, `v${vb}`],
                result.params.map((c) => [c.key, cell(c.a), cell(c.b)]),
              )}`
            : "params: same",
        );
        lines.push(
          result.metrics.length
            ? `metrics:\n${table(
                ["key", `v${va}`, `v${vb}`, "delta"],
                result.metrics.map((c) => [
                  c.key,
                  c.a,
                  c.b,
                  typeof c.a === "number" && typeof c.b === "number" ? (c.b - c.a).toPrecision(4) : null,
                ]),
              )}`
            : "metrics: same",
        );
        lines.push(
          `artifacts:\n${table(
            ["path", "status", `v${va} sha256`, `v${va} verdict`, `v${vb} sha256`, `v${vb} verdict`],
            result.artifacts.map((x) => [
              x.path,
              x.status,
              x.a?.sha256.slice(0, 12),
              x.a ? (x.a.verdict ?? "not inspected") : null,
              x.b?.sha256.slice(0, 12),
              x.b ? (x.b.verdict ?? "not inspected") : null,
            ]),
          )}`,
        );
        if (result.signature.same) lines.push(`signature: same${left.signature ? "" : " (none)"}`);
        else
          lines.push(
            `signature of v${va}:\n${left.signature ? renderSignature(left.signature) : "  none"}`,
            `signature of v${vb}:\n${right.signature ? renderSignature(right.signature) : "  none"}`,
          );
        return lines.join("\n");
      });
    });
}
