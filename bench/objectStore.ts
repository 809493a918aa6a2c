// Object-store benchmark: a 1 GB artifact uploaded and downloaded through a Registro server with
// BLOB_STORE=s3, against the raw speed of the same S3-compatible server (s3rver, in a process of its
// own) driven by the same SDK in the same run: `@aws-sdk/lib-storage`'s Upload with the same part
// size, then GetObject to a file. Both clients hash what they download and write it to disk, so the
// ratio is what Registro adds (streaming through a second process, hashing on upload, checking the
// digest, recording the event). Also the server's peak RSS growth during its upload and download
// (VmRSS of the child sampled every 10 ms) against the 64 MB target.
// Settings: BENCH_OBJECT_STORE_BYTES (default 1GiB; `100MiB` for a quick run),
// BENCH_OBJECT_STORE_ROUNDS (default 2), BENCH_OBJECT_STORE_ONLY=upload|download (one direction;
// both by default), BENCH_OBJECT_STORE_INSPECTION=off (the server's INSPECTION: on by default, as in
// production, where inspecting an upload reads it back from the bucket into a local copy, a second
// transfer the upload's time includes). Standalone: `node --import tsx bench/objectStore.ts` prints JSON.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { parseByteSize } from "../src/artifacts/units.ts";
import { download, hashing, makeFile, memory, upload } from "./artifacts.ts";
import { combine, compare, figure, postJson, ROOT, round, spawnServer } from "./support.ts";
import type { ChildServer } from "./support.ts";

const MB = 1024 * 1024;
const PART_SIZE = 8 * MB;
/** lib-storage's parts in flight; the store's own setting, so both sides buffer alike. */
const QUEUE_SIZE = 2;
const RSS_TARGET_MB = 64;

interface S3Endpoint {
  readonly endpoint: string;
  readonly bucket: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly env: Readonly<Record<string, string>>;
}

async function startS3Process(): Promise<{ child: ChildProcess; s3: S3Endpoint }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "bench/objectStoreServer.ts")], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const s3 = await new Promise<S3Endpoint>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += String(chunk);
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve(JSON.parse(line) as S3Endpoint);
    });
    child.once("exit", (code) => reject(new Error(`s3rver process exited with ${code}`)));
    setTimeout(() => reject(new Error("s3rver did not start")), 30_000).unref();
  });
  return { child, s3 };
}

const stopChild = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });

async function graphql(url: string, query: string) {
  const { text } = await postJson(`${url}/graphql`, { query });
  if (/"errors"|Error"/.test(text)) throw new Error(text);
}

/** Peak VmRSS growth of `pid` over what it held when `run` began, sampled every 10 ms. */
async function peakGrowth(pid: number, run: () => Promise<void>): Promise<number> {
  const before = memory(pid).rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, memory(pid).rss);
  }, 10);
  try {
    await run();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, memory(pid).rss) - before;
}

type Sample = { work: number; seconds: number; load: number };

export async function benchObjectStore(): Promise<Record<string, unknown>> {
  const bytes = parseByteSize(process.env.BENCH_OBJECT_STORE_BYTES ?? "1GiB");
  if (bytes === null || bytes < 1) throw new Error("BENCH_OBJECT_STORE_BYTES: a size, e.g. 100MiB");
  const rounds = Number(process.env.BENCH_OBJECT_STORE_ROUNDS ?? 2);
  const only = process.env.BENCH_OBJECT_STORE_ONLY;
  if (only !== undefined && only !== "upload" && only !== "download")
    throw new Error("BENCH_OBJECT_STORE_ONLY: upload or download");
  const inspection = process.env.BENCH_OBJECT_STORE_INSPECTION ?? "on";
  const sizeMb = bytes / MB;
  const work = mkdtempSync(path.join(tmpdir(), "registro-bench-object-store-"));
  const source = path.join(work, "model.bin");
  const received = path.join(work, "received.bin");
  let s3Process: ChildProcess | null = null;
  let server: ChildServer | null = null;
  try {
    const sha256 = await makeFile(source, bytes);
    const started = await startS3Process();
    s3Process = started.child;
    const { s3 } = started;
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: s3.credentials,
    });
    server = await spawnServer("src/main.ts", {
      ...s3.env,
      S3_PART_SIZE: String(PART_SIZE),
      DATA_DIR: path.join(work, "data"),
      INSPECTION: inspection,
      // Warnings (an unscannable random file) would land in the bench's JSON on stdout.
      LOG_LEVEL: "error",
      DATABASE_URL: `file:${path.join(work, "data", "registro.db")}`,
    });
    const { url } = server;
    const pid = server.child.pid!;
    await graphql(
      url,
      `
        mutation {
          createRegisteredModel(input: { name: "bench" }) {
            __typename
          }
        }
      `,
    );
    await graphql(
      url,
      `
        mutation {
          createModelVersion(input: { name: "bench", source: "bench", pendingArtifacts: true }) {
            __typename
          }
        }
      `,
    );
    // Warm both paths (module loading, connections, the first multipart upload, download and
    // inspection) with a file of three parts, outside the measurements.
    const warm = path.join(work, "warmup.bin");
    const warmBytes = 2 * PART_SIZE + 1;
    const warmSha = await makeFile(warm, warmBytes);
    if ((await upload(url, "/artifacts/bench/1/warmup.bin", warm, warmBytes, warmSha)) !== 201)
      throw new Error("warm-up upload refused");
    await download(url, "/artifacts/bench/1/warmup.bin", received);
    await new Upload({
      client,
      params: { Bucket: s3.bucket, Key: "bench/warmup.bin", Body: createReadStream(warm) },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
    }).done();
    rmSync(received);

    const timed = async (run: () => Promise<void>): Promise<Sample> => {
      const begin = process.hrtime.bigint();
      await run();
      return {
        work: sizeMb,
        seconds: Number(process.hrtime.bigint() - begin) / 1e9,
        load: os.loadavg()[0] ?? 0,
      };
    };
    const rawUpload = (key: string) =>
      timed(async () => {
        await new Upload({
          client,
          params: { Bucket: s3.bucket, Key: key, Body: createReadStream(source, { highWaterMark: MB }) },
          partSize: PART_SIZE,
          queueSize: QUEUE_SIZE,
        }).done();
      });
    const rawDownload = (key: string) =>
      timed(async () => {
        const hash = createHash("sha256");
        const object = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
        await pipeline(object.Body as Readable, hashing(hash), createWriteStream(received));
        if (hash.digest("hex") !== sha256) throw new Error("raw download hashed differently");
        rmSync(received);
      });
    const registroUpload = (target: string) =>
      timed(async () => {
        const status = await upload(url, target, source, bytes, sha256);
        if (status !== 201) throw new Error(`upload through Registro: HTTP ${status}`);
      });
    const registroDownload = (target: string) =>
      timed(async () => {
        if ((await download(url, target, received)) !== sha256)
          throw new Error("download through Registro hashed differently");
        rmSync(received);
      });

    const up = { raw: [] as Sample[], registro: [] as Sample[] };
    const down = { raw: [] as Sample[], registro: [] as Sample[] };
    const uploadGrowth: number[] = [];
    const downloadGrowth: number[] = [];
    const hwmBefore = memory(pid).hwm;
    for (let i = 1; i <= rounds; i++) {
      const key = `bench/raw-${i}.bin`;
      const target = `/artifacts/bench/1/model-${i}.bin`;
      // Alternate which side goes first, so a drift in the machine's load weighs on both alike.
      const registroFirst = i % 2 === 0;
      const measureUpload = async (side: "raw" | "registro") => {
        if (side === "raw") up.raw.push(await rawUpload(key));
        else
          uploadGrowth.push(
            await peakGrowth(pid, async () => void up.registro.push(await registroUpload(target))),
          );
      };
      const measureDownload = async (side: "raw" | "registro") => {
        if (side === "raw") down.raw.push(await rawDownload(key));
        else
          downloadGrowth.push(
            await peakGrowth(pid, async () => void down.registro.push(await registroDownload(target))),
          );
      };
      const order = registroFirst ? (["registro", "raw"] as const) : (["raw", "registro"] as const);
      // The downloads need what the uploads stored, so uploads always run, measured or not.
      for (const side of order) await measureUpload(side);
      if (only !== "upload") for (const side of order) await measureDownload(side);
      await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
      // A server that silently used its folder would make the comparison meaningless.
      if (i === 1)
        await client.send(
          new HeadObjectCommand({ Bucket: s3.bucket, Key: `sha256/${sha256.slice(0, 2)}/${sha256}` }),
        );
    }
    const perRound = (list: Sample[]) =>
      list.map((s) => ({ MBps: round(s.work / s.seconds), loadAverage1m: round(s.load, 2) }));
    return {
      artifactSizeMB: round(sizeMb, 1),
      rounds,
      partSizeMB: PART_SIZE / MB,
      inspection,
      ...(only === "download"
        ? {}
        : {
            upload: compare(combine(up.registro, "MB/s"), combine(up.raw, "MB/s")),
            uploadRounds: { registro: perRound(up.registro), raw: perRound(up.raw) },
            serverPeakRssGrowthDuringUpload: figure(Math.max(...uploadGrowth) / MB, "MB", 1),
            serverRssGrowthUploadRoundsMB: uploadGrowth.map((g) => round(g / MB, 1)),
          }),
      ...(only === "upload"
        ? {}
        : {
            download: compare(combine(down.registro, "MB/s"), combine(down.raw, "MB/s")),
            downloadRounds: { registro: perRound(down.registro), raw: perRound(down.raw) },
            serverPeakRssGrowthDuringDownload: figure(Math.max(...downloadGrowth) / MB, "MB", 1),
            serverRssGrowthDownloadRoundsMB: downloadGrowth.map((g) => round(g / MB, 1)),
          }),
      serverHighWaterMarkGrowth: figure((memory(pid).hwm - hwmBefore) / MB, "MB", 1),
      rssTargetMB: RSS_TARGET_MB,
    };
  } finally {
    await server?.stop();
    if (s3Process) await stopChild(s3Process);
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchObjectStore().then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
