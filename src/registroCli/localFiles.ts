// Files on the user's disk: the files a `register` uploads (given files, and every regular file under
// given directories) and streaming sha256 digests.
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { createReadStream, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { CliError, ExitCode } from "./exitCodes.ts";

export interface LocalFile {
  /** Where it is on disk. */
  readonly file: string;
  /** Its artifact path: relative to the directory given, or the file's own name; `/`-separated. */
  readonly path: string;
  readonly size: number;
}

/** Every regular file of the given files and directories (recursively, in name order). */
export function collectFiles(inputs: readonly string[]): LocalFile[] {
  const files: LocalFile[] = [];
  for (const input of inputs) {
    let stat;
    try {
      stat = statSync(input);
    } catch {
      throw new CliError(`no such file or directory: ${input}`, ExitCode.usage);
    }
    if (stat.isFile()) files.push({ file: input, path: path.basename(input), size: stat.size });
    else if (stat.isDirectory()) files.push(...walk(input, ""));
    else throw new CliError(`${input} is neither a file nor a directory`, ExitCode.usage);
  }
  const seen = new Map<string, string>();
  for (const f of files) {
    const other = seen.get(f.path);
    if (other !== undefined)
      throw new CliError(`${f.file} and ${other} would both be uploaded as ${f.path}`, ExitCode.usage);
    seen.set(f.path, f.file);
  }
  if (files.length === 0) throw new CliError(`no files found in ${inputs.join(", ")}`, ExitCode.usage);
  return files;
}

function walk(root: string, relative: string): LocalFile[] {
  const dir = path.join(root, relative);
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  return entries.flatMap((entry) => {
    const rel = relative === "" ? entry.name : `${relative}/${entry.name}`;
    const full = path.join(root, rel);
    const stat = statSync(full);
    if (stat.isDirectory()) return walk(root, rel);
    return stat.isFile() ? [{ file: full, path: rel, size: stat.size }] : [];
  });
}

/** Feeds a file's bytes (all, or the first `length`) into `hash`, streaming. */
export async function hashFile(
  file: string,
  hash: Hash = createHash("sha256"),
  length?: number,
): Promise<Hash> {
  if (length === 0) return hash;
  const stream = createReadStream(file, {
    highWaterMark: 1024 * 1024,
    ...(length === undefined ? {} : { end: length - 1 }),
  });
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  return hash;
}

export async function sha256OfFile(file: string): Promise<string> {
  return (await hashFile(file)).digest("hex");
}

/** Runs `task` over `items` with at most `limit` at a time; the first failure stops new starts. */
export async function eachLimited<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (rejected) throw rejected.reason;
  return results;
}
