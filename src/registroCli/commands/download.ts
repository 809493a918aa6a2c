// `registro download MODEL[@alias|/version|/Stage] [DIR]`: every artifact of the version, each
// checked against its sha256. Bytes land in `DIR/<folder>/.<name>.part` and take their final name
// (an atomic rename) only once the digest matches; a `.part` left by an interrupted run is resumed
// with a Range request. An existing file with other content is never overwritten without --force.
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { Option } from "commander";
import { downloadArtifact } from "../artifactTransfer.ts";
import { contextOf } from "../context.ts";
import type { CommandContext } from "../context.ts";
import { CliError, ExitCode, usageError } from "../exitCodes.ts";
import { eachLimited, hashFile, sha256OfFile } from "../localFiles.ts";
import { parseVersionRef, resolveVersion } from "../modelRef.ts";
import { formatBytes, table } from "../output.ts";
import { createProgress } from "../progress.ts";
import { fetchVersion } from "../versionView.ts";
import type { ArtifactView } from "../versionView.ts";

interface DownloadOptions {
  force?: boolean;
  concurrency: string;
}

export interface DownloadedFile {
  path: string;
  size: number;
  sha256: string;
  /** downloaded, resumed (from a .part file, with a Range request), or unchanged (already there). */
  status: "downloaded" | "resumed" | "unchanged";
}

export function registerDownloadCommand(program: Command): void {
  program
    .command("download")
    .description("download every artifact of a version, verifying each sha256 (resumes interrupted files)")
    .argument("<ref>", "MODEL (newest version), MODEL@alias, MODEL/VERSION or MODEL/Stage")
    .argument("[dir]", "where to put the files", ".")
    .option("--force", "overwrite existing files whose content differs")
    .addOption(new Option("--concurrency <n>", "files downloaded at once").default("4"))
    .action(async (ref: string, dir: string, options: DownloadOptions, command: Command) => {
      const ctx = contextOf(command);
      const concurrency = Number(options.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32)
        throw usageError("--concurrency must be an integer from 1 to 32");
      const parsed = parseVersionRef(ref);
      const version = await resolveVersion(ctx.client, parsed);
      const { view } = await fetchVersion(ctx.client, parsed.model, version);
      if (view.artifacts.length === 0)
        throw new CliError(
          `${parsed.model} version ${version} has no artifacts`,
          ExitCode.notFound,
          "NOT_FOUND",
        );
      if (view.status !== "READY") ctx.out.note(`note: version ${version} is ${view.status}, not READY`);
      const files = await downloadAll(ctx, view.artifacts, dir, options.force === true, concurrency);
      ctx.out.result({ model: parsed.model, version, dir: path.resolve(dir), files }, () =>
        [
          `${parsed.model} version ${version} → ${dir}`,
          table(
            ["path", "size", "sha256", "status"],
            files.map((f) => [f.path, formatBytes(f.size), f.sha256.slice(0, 16), f.status]),
          ),
        ].join("\n"),
      );
    });
}

/** Where an artifact goes under `dir`; a path that would leave it (a hostile server) is refused. */
export function targetOf(dir: string, artifactPath: string): string {
  const segments = artifactPath.split("/");
  const root = path.resolve(dir);
  const target = path.resolve(root, ...segments);
  const relative = path.relative(root, target);
  if (
    segments.some((s) => s === "" || s === "." || s === ".." || s.includes("\\") || s.includes("\0")) ||
    relative === "" ||
    relative.startsWith("..") ||
    path.isAbsolute(relative)
  )
    throw new CliError(
      `the server named an artifact path outside the folder: ${JSON.stringify(artifactPath)}`,
    );
  return target;
}

export const partFileOf = (target: string) =>
  path.join(path.dirname(target), `.${path.basename(target)}.part`);

export async function downloadAll(
  ctx: CommandContext,
  artifacts: readonly ArtifactView[],
  dir: string,
  force: boolean,
  concurrency: number,
): Promise<DownloadedFile[]> {
  // Settle what is already there before transferring anything: refusing halfway helps nobody.
  const plans = await Promise.all(
    artifacts.map(async (artifact) => {
      const target = targetOf(dir, artifact.path);
      if (!existsSync(target)) return { artifact, target, unchanged: false };
      if (!statSync(target).isFile()) throw new CliError(`${target} exists and is not a file`);
      if ((await sha256OfFile(target)) === artifact.sha256) return { artifact, target, unchanged: true };
      if (!force)
        throw new CliError(
          `${target} exists with other content; move it away, or pass --force to overwrite it`,
          ExitCode.failure,
          "FILE_EXISTS",
        );
      return { artifact, target, unchanged: false };
    }),
  );
  const totalBytes = artifacts.reduce((sum, a) => sum + a.size, 0);
  const progress = createProgress({ enabled: !ctx.out.options.quiet, verb: "downloaded", totalBytes });
  try {
    return await eachLimited(plans, concurrency, async ({ artifact, target, unchanged }) => {
      const bar = progress.file(artifact.path, artifact.size);
      const result = (status: DownloadedFile["status"]): DownloadedFile => ({
        path: artifact.path,
        size: artifact.size,
        sha256: artifact.sha256,
        status,
      });
      if (unchanged) {
        bar.done("unchanged");
        return result("unchanged");
      }
      try {
        const status = await downloadOne(ctx, artifact, target, (n) => bar.advance(n));
        bar.done(status === "resumed" ? "resumed" : "downloaded");
        return result(status);
      } catch (error) {
        bar.fail(error instanceof Error ? error.message : String(error));
        throw error;
      }
    });
  } finally {
    progress.stop();
  }
}

async function downloadOne(
  ctx: CommandContext,
  artifact: ArtifactView,
  target: string,
  onBytes: (n: number) => void,
): Promise<"downloaded" | "resumed"> {
  mkdirSync(path.dirname(target), { recursive: true });
  const part = partFileOf(target);
  let offset = existsSync(part) ? statSync(part).size : 0;
  if (offset > artifact.size) {
    unlinkSync(part);
    offset = 0;
  }
  let hash = createHash("sha256");
  if (offset > 0) await hashFile(part, hash, offset);
  let resumed = false;
  if (offset < artifact.size || artifact.size === 0) {
    if (offset > 0) onBytes(offset);
    const outcome = await downloadArtifact(
      ctx.settings,
      {
        url: new URL(artifact.downloadUrl, ctx.settings.url + "/").toString(),
        sha256: artifact.sha256,
        size: artifact.size,
        offset,
        hash,
        open: (fromStart) =>
          createWriteStream(part, { flags: fromStart ? "w" : "a", highWaterMark: 1024 * 1024 }),
        discard: () => rmSync(part, { force: true }),
      },
      onBytes,
      () => {
        onBytes(-offset);
        return (hash = createHash("sha256"));
      },
      ctx.signal,
    );
    resumed = outcome.resumed;
    hash = outcome.hash;
  }
  const actual = hash.digest("hex");
  const size = statSync(part).size;
  // A body that ended early without an error: what arrived stays in .part for the next run.
  if (size < artifact.size)
    throw new CliError(
      `${artifact.path}: the server sent ${size} of ${artifact.size} bytes; run the command again to resume`,
    );
  if (actual !== artifact.sha256 || size !== artifact.size) {
    unlinkSync(part);
    throw new CliError(
      `${artifact.path}: received ${size} bytes with sha256 ${actual}, expected ${artifact.size} bytes with ${artifact.sha256}; nothing kept, run again`,
      ExitCode.failure,
      "DIGEST_MISMATCH",
    );
  }
  renameSync(part, target);
  return resumed ? "resumed" : "downloaded";
}
