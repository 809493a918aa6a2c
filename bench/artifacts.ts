// Artifact transfer benchmark: upload and download throughput of a 1 GB file through a real server
// (a child process, as in production), against this machine's raw baseline measured in the same run
// (copying the file with sha256 hashing through Node streams), and the server's peak memory growth
// during the upload (VmRSS sampled every 10 ms from /proc/<pid>/status, plus the VmHWM delta).
// Targets: >= 60 % of baseline both ways; < 64 MB peak growth for a 1 GB upload.
// Standalone: `node --import tsx bench/artifacts.ts` prints JSON. SIZE_MB overrides the size.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MB = 1024 * 1024;

function hashing(hash: ReturnType<typeof createHash>) {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
}

async function makeFile(file: string, bytes: number): Promise<string> {
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

function memory(pid: number): { rss: number; hwm: number } {
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

function upload(url: string, target: string, file: string, size: number, sha256: string): Promise<number> {
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

async function download(url: string, target: string, file: string): Promise<string> {
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
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export async function benchArtifacts(): Promise<Record<string, number>> {
  const sizeMb = Number(process.env.SIZE_MB ?? 1024);
  const bytes = sizeMb * MB;
  const work = mkdtempSync(path.join(tmpdir(), "registro-bench-artifacts-"));
  const source = path.join(work, "model.bin");
  let server: ChildProcess | null = null;
  try {
    const sha256 = await makeFile(source, bytes);

    // Baseline: the same machine copying the file with sha256 hashing through Node streams. It is
    // measured right before each transfer, so a busy shared machine skews both sides alike.
    const baseline = async (): Promise<number> => {
      const copy = path.join(work, "copy.bin");
      const begin = process.hrtime.bigint();
      const hash = createHash("sha256");
      await pipeline(createReadStream(source, { highWaterMark: MB }), hashing(hash), createWriteStream(copy));
      const elapsed = seconds(begin);
      if (hash.digest("hex") !== sha256) throw new Error("baseline copy hashed differently");
      rmSync(copy);
      return sizeMb / elapsed;
    };

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
    await upload(
      url,
      "/artifacts/bench/1/warmup.bin",
      path.join(ROOT, "package.json"),
      readFileSync(path.join(ROOT, "package.json")).length,
      createHash("sha256")
        .update(readFileSync(path.join(ROOT, "package.json")))
        .digest("hex"),
    );

    const baselineBeforeUpload = await baseline();
    const before = memory(pid);
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, memory(pid).rss);
    }, 10);
    let start = process.hrtime.bigint();
    const status = await upload(url, "/artifacts/bench/1/model.bin", source, bytes, sha256);
    const uploadSeconds = seconds(start);
    clearInterval(sampler);
    const after = memory(pid);
    peakRss = Math.max(peakRss, after.rss);
    if (status !== 201) throw new Error(`upload: HTTP ${status}`);

    const baselineBeforeDownload = await baseline();
    start = process.hrtime.bigint();
    const downloaded = await download(url, "/artifacts/bench/1/model.bin", path.join(work, "downloaded.bin"));
    const downloadSeconds = seconds(start);
    if (downloaded !== sha256) throw new Error("download hashed differently");

    const uploadMBps = sizeMb / uploadSeconds;
    const downloadMBps = sizeMb / downloadSeconds;
    return {
      artifactSizeMB: sizeMb,
      baselineCopyWithSha256MBps: round((baselineBeforeUpload + baselineBeforeDownload) / 2),
      uploadMBps: round(uploadMBps),
      downloadMBps: round(downloadMBps),
      uploadPercentOfBaseline: round((100 * uploadMBps) / baselineBeforeUpload),
      downloadPercentOfBaseline: round((100 * downloadMBps) / baselineBeforeDownload),
      serverRssBeforeUploadMB: round(before.rss / MB),
      serverPeakRssGrowthDuringUploadMB: round((peakRss - before.rss) / MB),
      serverHwmGrowthDuringUploadMB: round((after.hwm - before.hwm) / MB),
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
