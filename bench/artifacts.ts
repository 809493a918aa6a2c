// Artifact transfer benchmark: upload and download throughput of a 1 GB file through a real server
// (a child process, as in production), against this machine's raw baseline measured in the same run
// (copying the file with sha256 hashing through Node streams), and the server's peak memory growth
// during the upload (VmRSS sampled every 10 ms from /proc/<pid>/status, plus the VmHWM delta).
// Targets: >= 60 % of baseline both ways; < 64 MB peak growth for a 1 GB upload.
// Standalone: `node --import tsx bench/artifacts.ts` prints JSON. SIZE_MB overrides the size, ROUNDS
// the number of interleaved rounds (default 3).
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import http from "node:http";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { combine, compare, figure, round } from "./support.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MB = 1024 * 1024;

export function hashing(hash: ReturnType<typeof createHash>) {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
}

export async function makeFile(file: string, bytes: number): Promise<string> {
  const handle = await open(file, "w");
  const hash = createHash("sha256");
  const block = Buffer.alloc(8 * MB);
  try {
    for (let written = 0; written < bytes; written += block.length) {
      const chunk = block.subarray(0, Math.min(block.length, bytes - written));
      randomFillSync(chunk);
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

export function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src/main.ts")], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      DATABASE_URL: `file:${dataDir}/registro.db`,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)\/graphql/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 60_000).unref();
  });
  return { child, url };
}

async function gql(url: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
}

export function upload(
  url: string,
  target: string,
  file: string,
  size: number,
  sha256: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = http.request(
      {
        hostname,
        port,
        method: "PUT",
        path: target,
        headers: { "content-length": size, "x-checksum-sha256": sha256 },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    createReadStream(file, { highWaterMark: MB }).pipe(req);
  });
}

export async function download(url: string, target: string, file: string): Promise<string> {
  const hash = createHash("sha256");
  await new Promise<void>((resolve, reject) => {
    http
      .get(`${url}${target}`, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`download: HTTP ${res.statusCode}`));
        pipeline(res, hashing(hash), createWriteStream(file)).then(resolve, reject);
      })
      .on("error", reject);
  });
  return hash.digest("hex");
}

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

/**
 * Rounds of: baseline copy, upload, baseline copy, download. Each transfer is compared with the
 * baseline copy taken right before it, and the reported figures are totals over all rounds (bytes
 * over seconds), so the ratio printed is exactly the quotient of the two figures printed with it.
 */
export async function benchArtifacts(): Promise<Record<string, unknown>> {
  const sizeMb = Number(process.env.SIZE_MB ?? 1024);
  const rounds = Number(process.env.ROUNDS ?? 3);
  const bytes = sizeMb * MB;
  const work = mkdtempSync(path.join(tmpdir(), "registro-bench-artifacts-"));
  const source = path.join(work, "model.bin");
  let server: ChildProcess | null = null;
  try {
    const sha256 = await makeFile(source, bytes);
    type Sample = { work: number; seconds: number; load: number };
    const timed = async (run: () => Promise<void>): Promise<Sample> => {
      const begin = process.hrtime.bigint();
      await run();
      return { work: sizeMb, seconds: seconds(begin), load: os.loadavg()[0] ?? 0 };
    };
    // The machine's raw speed for the same job: read the file, hash it, write a copy.
    const baseline = () =>
      timed(async () => {
        const copy = path.join(work, "copy.bin");
        const hash = createHash("sha256");
        await pipeline(
          createReadStream(source, { highWaterMark: MB }),
          hashing(hash),
          createWriteStream(copy),
        );
        if (hash.digest("hex") !== sha256) throw new Error("baseline copy hashed differently");
        rmSync(copy);
      });

    const started = await startServer(path.join(work, "data"));
    server = started.child;
    const { url } = started;
    const pid = server.pid!;
    await gql(url, `mutation { createRegisteredModel(input: { name: "bench" }) { __typename } }`, {});
    await gql(
      url,
      `mutation { createModelVersion(input: { name: "bench", source: "bench", pendingArtifacts: true }) { __typename } }`,
      {},
    );
    // Warm the route (module loading, first query) so it does not count as upload growth.
    const warmup = readFileSync(path.join(ROOT, "package.json"));
    await upload(
      url,
      "/artifacts/bench/1/warmup.bin",
      path.join(ROOT, "package.json"),
      warmup.length,
      createHash("sha256").update(warmup).digest("hex"),
    );

    const samples = { baselineForUpload: [] as Sample[], upload: [] as Sample[] };
    const downloads = { baselineForDownload: [] as Sample[], download: [] as Sample[] };
    let peakGrowth = 0;
    let rssBefore = 0;
    for (let i = 1; i <= rounds; i++) {
      samples.baselineForUpload.push(await baseline());
      const before = memory(pid).rss;
      if (i === 1) rssBefore = before;
      let peakRss = before;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, memory(pid).rss);
      }, 10);
      let status = 0;
      samples.upload.push(
        await timed(async () => {
          status = await upload(url, `/artifacts/bench/1/model-${i}.bin`, source, bytes, sha256);
        }),
      );
      clearInterval(sampler);
      peakGrowth = Math.max(peakGrowth, Math.max(peakRss, memory(pid).rss) - before);
      if (status !== 201) throw new Error(`upload: HTTP ${status}`);

      downloads.baselineForDownload.push(await baseline());
      downloads.download.push(
        await timed(async () => {
          const got = await download(
            url,
            `/artifacts/bench/1/model-${i}.bin`,
            path.join(work, "downloaded.bin"),
          );
          if (got !== sha256) throw new Error("download hashed differently");
          rmSync(path.join(work, "downloaded.bin"));
        }),
      );
    }
    const perRound = (list: Sample[]) =>
      list.map((s) => ({ MBps: round(s.work / s.seconds), loadAverage1m: round(s.load, 2) }));
    return {
      artifactSizeMB: sizeMb,
      rounds,
      upload: compare(combine(samples.upload, "MB/s"), combine(samples.baselineForUpload, "MB/s")),
      download: compare(combine(downloads.download, "MB/s"), combine(downloads.baselineForDownload, "MB/s")),
      uploadRounds: perRound(samples.upload),
      baselineBeforeUploadRounds: perRound(samples.baselineForUpload),
      downloadRounds: perRound(downloads.download),
      baselineBeforeDownloadRounds: perRound(downloads.baselineForDownload),
      serverRssBeforeUpload: figure(rssBefore / MB, "MB", 1),
      serverPeakRssGrowthDuringUpload: figure(peakGrowth / MB, "MB", 1),
    };
  } finally {
    if (server?.pid !== undefined && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchArtifacts().then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
