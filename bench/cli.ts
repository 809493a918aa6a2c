// `registro register` of a directory (default 1 GB across 20 files) and `registro download` of it,
// against curl moving the same files one after another to and from the same server, in interleaved
// rounds of the same run. Both sides do the same job: curl announces each file's sha256 (computed
// with sha256sum first, as docs/artifacts.md shows) and the downloaded files are checked with
// `sha256sum -c`, since the CLI verifies every digest too. The CLI's figures include its process
// start (tsx) and its GraphQL calls (create, finalize, read back); curl's side makes the same
// GraphQL calls in-process. BENCH_CLI_BYTES overrides the size, BENCH_CLI_ROUNDS the rounds (2).
import { execFile, spawn } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { combine, compare, ROOT, spawnServer } from "./support.ts";

const run = promisify(execFile);
const FILES = 20;
const MB = 1024 * 1024;

async function makeFiles(dir: string, totalBytes: number): Promise<{ name: string; sha256: string }[]> {
  mkdirSync(dir, { recursive: true });
  const each = Math.floor(totalBytes / FILES);
  const chunk = Buffer.alloc(MB);
  const files = [];
  for (let i = 0; i < FILES; i++) {
    const name = `shard-${String(i).padStart(2, "0")}.bin`;
    const handle = await open(path.join(dir, name), "w");
    const hash = createHash("sha256");
    try {
      for (let written = 0; written < each; written += chunk.length) {
        randomFillSync(chunk);
        const part = chunk.subarray(0, Math.min(chunk.length, each - written));
        hash.update(part);
        await handle.write(part);
      }
    } finally {
      await handle.close();
    }
    files.push({ name, sha256: hash.digest("hex") });
  }
  return files;
}

async function gql(url: string, query: string): Promise<void> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  const text = await response.text();
  if (!response.ok || text.includes('"errors"')) throw new Error(`${query}: ${text}`);
}

function cli(url: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin/registro.js"), ...args, "--quiet"], {
      cwd: ROOT,
      env: { ...process.env, REGISTRO_URL: url },
      stdio: ["ignore", "ignore", "inherit"],
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`registro ${args[0]} exited ${code}`)),
    );
  });
}

const bash = (script: string, cwd: string) =>
  run("bash", ["-eo", "pipefail", "-c", script], { cwd, maxBuffer: 1 << 20 });

export async function benchCli(): Promise<Record<string, unknown>> {
  const totalBytes = Number(process.env.BENCH_CLI_BYTES ?? 1_000_000_000);
  const rounds = Number(process.env.BENCH_CLI_ROUNDS ?? 2);
  const work = mkdtempSync(path.join(tmpdir(), "registro-bench-cli-"));
  const source = path.join(work, "model");
  const server = await spawnServer("src/main.ts", {
    DATA_DIR: path.join(work, "data"),
    DATABASE_URL: `file:${path.join(work, "data", "registro.db")}`,
    // Random shards are UNSCANNABLE, which the server logs as a warning per upload: keep stdout JSON.
    LOG_LEVEL: "error",
  });
  try {
    const files = await makeFiles(source, totalBytes);
    const bytes = Math.floor(totalBytes / FILES) * FILES;
    writeFileSync(path.join(work, "SHA256SUMS"), files.map((f) => `${f.sha256}  ${f.name}\n`).join(""));
    type Sample = { work: number; seconds: number; load: number };
    const timed = async (job: () => Promise<unknown>): Promise<Sample> => {
      const begin = process.hrtime.bigint();
      await job();
      const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
      return { work: bytes / MB, seconds, load: os.loadavg()[0] ?? 0 };
    };
    const samples = {
      cliUpload: [] as Sample[],
      curlUpload: [] as Sample[],
      cliDownload: [] as Sample[],
      curlDownload: [] as Sample[],
    };

    const curlUpload = (model: string) =>
      timed(async () => {
        await gql(
          server.url,
          `mutation { createRegisteredModel(input: { name: "${model}" }) { __typename } }`,
        );
        await gql(
          server.url,
          `mutation { createModelVersion(input: { name: "${model}", source: "bench", pendingArtifacts: true }) { __typename } }`,
        );
        await bash(
          `for f in *.bin; do curl -sf -o /dev/null -T "$f" "${server.url}/artifacts/${model}/1/$f" ` +
            `-H "X-Checksum-Sha256: $(sha256sum "$f" | cut -d' ' -f1)"; done`,
          source,
        );
        await gql(
          server.url,
          `mutation { finalizeModelVersion(input: { name: "${model}", version: 1 }) { __typename } }`,
        );
      });
    const curlDownload = (model: string, dir: string) =>
      timed(async () => {
        mkdirSync(dir);
        await bash(
          files
            .map((f) => `curl -sf -o "${f.name}" "${server.url}/artifacts/${model}/1/${f.name}"`)
            .join("\n") + `\nsha256sum --quiet -c "${path.join(work, "SHA256SUMS")}"`,
          dir,
        );
      });
    const cliUpload = (model: string) =>
      timed(() => cli(server.url, ["register", model, source, "--create-model"]));
    const cliDownload = (model: string, dir: string) =>
      timed(() => cli(server.url, ["download", `${model}/1`, dir]));

    for (let i = 1; i <= rounds; i++) {
      // Alternate which side goes first, so neither always meets a warmer page cache.
      const pairs: [() => Promise<void>, () => Promise<void>] = [
        async () => {
          samples.curlUpload.push(await curlUpload(`curl-${i}`));
          samples.curlDownload.push(await curlDownload(`curl-${i}`, path.join(work, `curl-${i}`)));
          rmSync(path.join(work, `curl-${i}`), { recursive: true });
        },
        async () => {
          samples.cliUpload.push(await cliUpload(`cli-${i}`));
          samples.cliDownload.push(await cliDownload(`cli-${i}`, path.join(work, `cli-${i}`)));
          rmSync(path.join(work, `cli-${i}`), { recursive: true });
        },
      ];
      if (i % 2 === 0) pairs.reverse();
      for (const pair of pairs) await pair();
    }
    return {
      bytes,
      files: FILES,
      rounds,
      upload: compare(combine(samples.cliUpload, "MB/s"), combine(samples.curlUpload, "MB/s")),
      download: compare(combine(samples.cliDownload, "MB/s"), combine(samples.curlDownload, "MB/s")),
    };
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchCli(), null, 2));
