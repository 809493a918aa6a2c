// `registro verify MODEL[/VERSION|@alias|/Stage]`: each artifact's integrity as the server reports it
// (present, of the recorded size, not found damaged), then every byte downloaded and hashed here and
// compared with the recorded sha256 (nothing is written to disk). `--server-only` skips the download.
import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import type { Command } from "commander";
import { downloadArtifact } from "../artifactTransfer.ts";
import { contextOf } from "../context.ts";
import { CliError, ExitCode } from "../exitCodes.ts";
import { eachLimited } from "../localFiles.ts";
import { parseVersionRef, resolveVersion } from "../modelRef.ts";
import { formatBytes, table } from "../output.ts";
import { createProgress } from "../progress.ts";
import { fetchVersion } from "../versionView.ts";

interface Checked {
  path: string;
  size: number;
  sha256: string;
  integrity: string;
  /** The sha256 of the bytes downloaded; null with --server-only or when the download failed. */
  downloaded: string | null;
  ok: boolean;
  problem: string | null;
}

export function registerVerifyCommand(program: Command): void {
  program
    .command("verify")
    .description(
      "check that every artifact of a version is intact: server integrity, then download and re-hash",
    )
    .argument("<ref>", "MODEL (newest version), MODEL/VERSION, MODEL@alias or MODEL/Stage")
    .option("--server-only", "only ask the server (presence, size, damage records); download nothing")
    .action(async (ref: string, options: { serverOnly?: boolean }, command: Command) => {
      const ctx = contextOf(command);
      const parsed = parseVersionRef(ref);
      const version = await resolveVersion(ctx.client, parsed);
      const { view } = await fetchVersion(ctx.client, parsed.model, version);
      const total = options.serverOnly ? 0 : view.artifacts.reduce((s, a) => s + a.size, 0);
      const progress = createProgress({
        enabled: !ctx.out.options.quiet && !options.serverOnly,
        verb: "verified",
        totalBytes: total,
      });
      let checked: Checked[];
      try {
        checked = await eachLimited(view.artifacts, 4, async (artifact): Promise<Checked> => {
          const base = {
            path: artifact.path,
            size: artifact.size,
            sha256: artifact.sha256,
            integrity: artifact.integrity,
          };
          if (options.serverOnly || artifact.integrity !== "OK")
            return {
              ...base,
              downloaded: null,
              ok: artifact.integrity === "OK",
              problem: artifact.integrity === "OK" ? null : `server reports ${artifact.integrity}`,
            };
          const bar = progress.file(artifact.path, artifact.size);
          const sink = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });
          try {
            const { hash } = await downloadArtifact(
              ctx.settings,
              {
                url: new URL(artifact.downloadUrl, ctx.settings.url + "/").toString(),
                sha256: artifact.sha256,
                size: artifact.size,
                offset: 0,
                hash: createHash("sha256"),
                open: sink,
              },
              (n) => bar.advance(n),
              () => createHash("sha256"),
              ctx.signal,
            );
            const digest = hash.digest("hex");
            bar.done(digest === artifact.sha256 ? "verified" : "MISMATCH");
            return {
              ...base,
              downloaded: digest,
              ok: digest === artifact.sha256,
              problem: digest === artifact.sha256 ? null : "downloaded bytes differ from the recorded sha256",
            };
          } catch (error) {
            if (ctx.signal.aborted) throw error;
            const message = error instanceof Error ? error.message : String(error);
            bar.fail(message);
            return { ...base, downloaded: null, ok: false, problem: message };
          }
        });
      } finally {
        progress.stop();
      }
      const bad = checked.filter((c) => !c.ok);
      ctx.out.result({ model: parsed.model, version, ok: bad.length === 0, artifacts: checked }, () =>
        [
          table(
            ["path", "size", "integrity", "downloaded", "result"],
            checked.map((c) => [
              c.path,
              formatBytes(c.size),
              c.integrity,
              c.downloaded === null ? null : c.downloaded === c.sha256 ? "sha256 matches" : "sha256 DIFFERS",
              c.ok ? "ok" : c.problem,
            ]),
          ),
          bad.length === 0
            ? `${parsed.model} version ${version}: all ${checked.length} artifact(s) intact`
            : "",
        ]
          .filter(Boolean)
          .join("\n"),
      );
      if (bad.length > 0)
        throw new CliError(
          `${bad.length} of ${checked.length} artifact(s) of ${parsed.model} version ${version} are damaged (${bad.map((b) => b.path).join(", ")}); an operator runs \`npm run verify\` and uploads the identical files again to heal them`,
          ExitCode.failure,
          "BLOB_CORRUPT",
        );
    });
}
