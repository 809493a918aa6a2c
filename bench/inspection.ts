// Inspection benchmarks. `benchInspection`: one-off inspection time of a 1 GiB safetensors file and a
// 500 MB PyTorch zip. `benchInspectionUpload`: what inspection costs an upload, measured end to end
// through a real server (a child process, as in production) with INSPECTION=on vs INSPECTION=off.
// Standalone: `node --import tsx bench/inspection.ts` prints JSON for both.
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { open, rm, stat } from "node:fs/promises";
import http from "node:http";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { crc32 } from "node:zlib";
import { inspectArtifact } from "../src/inspection/index.ts";
import { InspectionPool } from "../src/inspection/pool.ts";
import { compare, figure, round, spawnServer } from "./support.ts";
import type { ChildServer, Figure } from "./support.ts";

const GiB = 1024 ** 3;

/** A 1 GiB safetensors file: a real header, and a sparse (all-zero) data region it fully covers. */
async function writeSafetensors(path: string): Promise<void> {
  const numel = GiB / 4;
  let header = JSON.stringify({
    __metadata__: { format: "pt" },
    weight: { dtype: "F32", shape: [numel], data_offsets: [0, GiB] },
  });
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const fh = await open(path, "w");
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    await fh.write(Buffer.concat([len, Buffer.from(header)]), 0, undefined, 0);
    await fh.truncate(8 + header.length + GiB);
  } finally {
    await fh.close();
  }
}

/** torch.save-style data.pkl (protocol 2) for an OrderedDict holding one float32 tensor. */
function dataPkl(numel: number): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s);
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    return Buffer.concat([Buffer.from("X"), n, b]);
  };
  const int = (v: number) => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(v, 1);
    return b;
  };
  const g = (m: string, n: string) => Buffer.from(`c${m}\n${n}\n`, "latin1");
  return Buffer.concat([
    Buffer.from([0x80, 0x02]),
    g("collections", "OrderedDict"),
    Buffer.from(")R("),
    str("weight"),
    g("torch._utils", "_rebuild_tensor_v2"),
    Buffer.from("(("),
    str("storage"),
    g("torch", "FloatStorage"),
    str("0"),
    str("cpu"),
    int(numel),
    Buffer.from("tQ"),
    int(0),
    int(numel),
    Buffer.from([0x85]),
    int(1),
    Buffer.from([0x85]),
    Buffer.from([0x89]),
    g("collections", "OrderedDict"),
    Buffer.from(")R"),
    Buffer.from("tRu."),
  ]);
}

/**
 * A fitted text vectorizer's state as pickle.dump writes it (protocol 4): a dict whose
 * `vocabulary_` maps a million terms to their column, as scikit-learn's CountVectorizer and
 * TfidfVectorizer keep it. About 15 MB of small opcodes (three per term), the pickle that costs
 * inspection the most per byte: every opcode is read, none skipped.
 */
async function writeVocabularyPickle(path: string): Promise<void> {
  const terms = 1_000_000;
  const parts: Buffer[] = [Buffer.from("80047d94", "hex")]; // PROTO 4, EMPTY_DICT, MEMOIZE
  const key = Buffer.from("vocabulary_", "utf8");
  parts.push(Buffer.from([0x8c, key.length]), key, Buffer.from("947d9428", "hex")); // key, {}, MARK
  for (let i = 0; i < terms; i++) {
    const term = Buffer.from(`w${i}`, "utf8");
    const index = Buffer.alloc(5);
    index[0] = 0x4a; // BININT
    index.writeInt32LE(i, 1);
    parts.push(Buffer.from([0x8c, term.length]), term, Buffer.from([0x94]), index);
    if (i % 1000 === 999) parts.push(Buffer.from(i === terms - 1 ? "75" : "7528", "hex")); // SETITEMS, MARK
  }
  parts.push(Buffer.from("732e", "hex")); // SETITEM (the outer dict), STOP
  const fh = await open(path, "w");
  try {
    await fh.writeFile(Buffer.concat(parts));
  } finally {
    await fh.close();
  }
}

function localHeader(name: string, crc: number, size: number): Buffer {
  const n = Buffer.from(name);
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt32LE(crc >>> 0, 14);
  h.writeUInt32LE(size, 18);
  h.writeUInt32LE(size, 22);
  h.writeUInt16LE(n.length, 26);
  return Buffer.concat([h, n]);
}

function centralHeader(name: string, crc: number, size: number, offset: number): Buffer {
  const n = Buffer.from(name);
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt16LE(20, 6);
  h.writeUInt32LE(crc >>> 0, 16);
  h.writeUInt32LE(size, 20);
  h.writeUInt32LE(size, 24);
  h.writeUInt16LE(n.length, 28);
  h.writeUInt32LE(offset, 42);
  return Buffer.concat([h, n]);
}

/** A stored (not deflated) PyTorch zip of ~500 MB whose tensor payload is a sparse zero region. */
async function writeTorchZip(path: string): Promise<void> {
  const bytes = 500 * 1024 * 1024;
  const zeros = Buffer.alloc(16 * 1024 * 1024);
  let zeroCrc = 0;
  for (let done = 0; done < bytes; done += zeros.length)
    zeroCrc = crc32(zeros.subarray(0, Math.min(zeros.length, bytes - done)), zeroCrc);
  const members: [string, Buffer | null, number, number][] = [
    ["archive/data.pkl", dataPkl(bytes / 4), 0, 0],
    ["archive/byteorder", Buffer.from("little"), 0, 0],
    ["archive/data/0", null, zeroCrc, bytes],
    ["archive/version", Buffer.from("3\n"), 0, 0],
  ];
  const fh = await open(path, "w");
  try {
    let pos = 0;
    const central: Buffer[] = [];
    for (const [name, data, crc0, size0] of members) {
      const crc = data ? crc32(data) : crc0;
      const size = data ? data.length : size0;
      const lh = localHeader(name, crc, size);
      central.push(centralHeader(name, crc, size, pos));
      await fh.write(lh, 0, lh.length, pos);
      pos += lh.length;
      if (data) await fh.write(data, 0, data.length, pos);
      pos += size; // the zero payload is a hole: never written, reads back as zeros
    }
    const cd = Buffer.concat(central);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(members.length, 8);
    eocd.writeUInt16LE(members.length, 10);
    eocd.writeUInt32LE(cd.length, 12);
    eocd.writeUInt32LE(pos, 16);
    await fh.write(Buffer.concat([cd, eocd]), 0, cd.length + 22, pos);
  } finally {
    await fh.close();
  }
}

export async function benchInspection(
  workDir: string,
): Promise<{ safetensors1Gb: Figure; pytorch500Mb: Figure }> {
  const st = join(workDir, "bench-1gb.safetensors");
  const pt = join(workDir, "bench-500mb.pt");
  try {
    await writeSafetensors(st);
    await writeTorchZip(pt);
    let t = performance.now();
    const a = await inspectArtifact(st, "model.safetensors");
    const safetensors1GbMs = performance.now() - t;
    t = performance.now();
    const b = await inspectArtifact(pt, "pytorch_model.pt");
    const pytorch500MbMs = performance.now() - t;
    if (a.verdict !== "SAFE" || b.verdict !== "SAFE")
      throw new Error(`bench inputs did not inspect cleanly: ${JSON.stringify([a.findings, b.findings])}`);
    return {
      safetensors1Gb: figure(safetensors1GbMs, "ms", 0),
      pytorch500Mb: figure(pytorch500MbMs, "ms", 0),
    };
  } finally {
    await rm(st, { force: true });
    await rm(pt, { force: true });
  }
}

const MB = 1024 * 1024;

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * MB })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function gql(url: string, query: string): Promise<void> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
}

/** PUTs a file; resolves with the status, the parsed answer and the wall time until the answer arrived. */
function put(
  url: string,
  target: string,
  file: string,
  size: number,
  sha256: string,
): Promise<{ status: number; body: any; seconds: number; afterBodySeconds: number }> {
  const started = process.hrtime.bigint();
  let sent = started;
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
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString() || "null"),
            seconds: Number(process.hrtime.bigint() - started) / 1e9,
            afterBodySeconds: Number(process.hrtime.bigint() - sent) / 1e9,
          }),
        );
      },
    );
    req.on("error", reject);
    req.on("finish", () => (sent = process.hrtime.bigint()));
    createReadStream(file, { highWaterMark: MB }).pipe(req);
  });
}

/**
 * Upload throughput of the same large files through HTTP PUT with inspection on and off, on two
 * servers started the same way except for INSPECTION. Each measurement uploads to a fresh version
 * of a fresh model; the modes alternate, starting with each in turn (off/on, on/off, …), so machine
 * noise hits both alike, and the median of `REPEAT` runs (default 3) per mode is reported. Files: a
 * 1 GiB safetensors and a 500 MB PyTorch zip (sparse on the client side; the server streams, hashes
 * and stores every byte), and a vectorizer's pickle of a million terms (15 MB, read opcode by
 * opcode). Alongside, the time a warm pool worker takes to inspect each file, which is what
 * inspection adds to an upload's latency once the bytes are stored.
 */
export async function benchInspectionUpload(): Promise<Record<string, unknown>> {
  const repeat = Number(process.env.REPEAT ?? 3);
  const work = mkdtempSync(join(tmpdir(), "registro-bench-inspection-upload-"));
  const servers: ChildServer[] = [];
  try {
    const files = [
      { name: "model.safetensors", path: join(work, "bench-1gb.safetensors"), write: writeSafetensors },
      { name: "pytorch_model.pt", path: join(work, "bench-500mb.pt"), write: writeTorchZip },
      { name: "vectorizer.pkl", path: join(work, "bench-vocabulary.pkl"), write: writeVocabularyPickle },
    ];
    const inputs = [];
    for (const f of files) {
      await f.write(f.path);
      inputs.push({ ...f, size: (await stat(f.path)).size, sha256: await sha256Of(f.path) });
    }
    const modes = ["off", "on"] as const;
    const urls: Record<(typeof modes)[number], string> = { off: "", on: "" };
    for (const mode of modes) {
      const dataDir = join(work, `data-${mode}`);
      const server = await spawnServer("src/main.ts", {
        DATA_DIR: dataDir,
        DATABASE_URL: `file:${dataDir}/registro.db`,
        INSPECTION: mode,
        INSPECTION_WORKERS: "1",
      });
      servers.push(server);
      urls[mode] = server.url;
      // Warm-up: module loading, the first query, and (with inspection) the worker's start-up.
      await gql(server.url, `mutation { createRegisteredModel(input: { name: "warmup" }) { __typename } }`);
      await gql(
        server.url,
        `mutation { createModelVersion(input: { name: "warmup", source: "bench", pendingArtifacts: true }) { __typename } }`,
      );
      const onnx = fileURLToPath(new URL("../test/fixtures/inspection/files/model.onnx", import.meta.url));
      await put(
        server.url,
        "/artifacts/warmup/1/model.onnx",
        onnx,
        (await stat(onnx)).size,
        await sha256Of(onnx),
      );
    }

    const results: Record<string, unknown> = {};
    let model = 0;
    for (const input of inputs) {
      type Run = {
        seconds: number;
        afterBodySeconds: number;
        verdict: string | null;
        format: string | null;
        load: number;
      };
      const runs: Record<string, Run[]> = { off: [], on: [] };
      // Two rounds are not counted: the machine's write-back falls behind once one or two large
      // files have been written and slows the next two uploads by half, whichever server takes
      // them (checked by swapping which mode goes first); counted, that fell on one mode only.
      for (let i = -2; i < repeat; i++) {
        for (const mode of i % 2 === 0 ? modes : [...modes].reverse()) {
          const name = `bench-${++model}`;
          await gql(
            urls[mode],
            `mutation { createRegisteredModel(input: { name: "${name}" }) { __typename } }`,
          );
          await gql(
            urls[mode],
            `mutation { createModelVersion(input: { name: "${name}", source: "bench", pendingArtifacts: true }) { __typename } }`,
          );
          const r = await put(
            urls[mode],
            `/artifacts/${name}/1/${input.name}`,
            input.path,
            input.size,
            input.sha256,
          );
          if (r.status !== 201)
            throw new Error(`upload (${mode}) answered ${r.status}: ${JSON.stringify(r.body)}`);
          if (i >= 0)
            runs[mode]!.push({
              seconds: r.seconds,
              afterBodySeconds: r.afterBodySeconds,
              verdict: r.body.artifact.verdict,
              format: r.body.artifact.format,
              load: os.loadavg()[0] ?? 0,
            });
        }
      }
      const median = (list: Run[]) =>
        [...list].sort((a, b) => a.seconds - b.seconds)[Math.floor(list.length / 2)]!;
      const mb = input.size / MB;
      const off = median(runs.off!);
      const on = median(runs.on!);
      const offFigure = { ...figure(mb / off.seconds, "MB/s", 1), loadAverage1m: round(off.load, 2) };
      const onFigure = { ...figure(mb / on.seconds, "MB/s", 1), loadAverage1m: round(on.load, 2) };
      // What inspection itself costs, on a warm pool worker (as in the server after its first upload).
      const pool = new InspectionPool({ size: 1 });
      let warmInspectionMs: number;
      try {
        await pool.inspect(input.path, input.name);
        const t0 = performance.now();
        await pool.inspect(input.path, input.name);
        warmInspectionMs = performance.now() - t0;
      } finally {
        await pool.close();
      }
      results[input.name] = {
        sizeMB: round(mb),
        // Median run of each mode; the ratio is on / off of exactly these two figures.
        inspectionOnVsOff: compare(onFigure, offFigure),
        uploadSecondsOff: runs.off!.map((r) => round(r.seconds, 2)),
        uploadSecondsOn: runs.on!.map((r) => round(r.seconds, 2)),
        // From the last body byte sent to the answer: storing the tail, fsync, inspection, commit.
        afterBodyMsOff: runs.off!.map((r) => round(r.afterBodySeconds * 1000, 0)),
        afterBodyMsOn: runs.on!.map((r) => round(r.afterBodySeconds * 1000, 0)),
        warmInspection: figure(warmInspectionMs, "ms", 0),
        verdictOn: on.verdict,
        formatOn: on.format,
        verdictOff: off.verdict,
      };
    }
    return { repeat, inspectionWorkers: 1, ...results };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = mkdtempSync(join(tmpdir(), "registro-bench-inspection-"));
  (async () => {
    try {
      const inspection = await benchInspection(dir);
      const upload = await benchInspectionUpload();
      console.log(JSON.stringify({ inspection, upload }, null, 2));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
