// The child side of uploadingProcess.ts: `node --import tsx uploadingProcessMain.ts <store root>`
// starts an upload into the blob store, prints `writing <its temp folder>` once half of it is on
// disk, and finishes it when a line arrives on stdin (printing `stored <sha256>`).
import { once } from "node:events";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { PassThrough } from "node:stream";
import { FsBlobStore } from "../../src/artifacts/fsBlobStore.ts";

const HALF = 256 * 1024;

const store = new FsBlobStore(process.argv[2]!);
const body = new PassThrough();
const stored = store.put(body);
body.write(Buffer.alloc(HALF, 7));
for (let attempt = 0; ; attempt++) {
  if (attempt === 1000) throw new Error("the upload never reached its temp file");
  const parts = (await readdir(store.tmpDir).catch(() => [])).filter((name) => name.endsWith(".part"));
  const written = parts[0] === undefined ? 0 : (await stat(path.join(store.tmpDir, parts[0]))).size;
  if (written >= HALF) break;
  await new Promise((resolve) => setTimeout(resolve, 10));
}
process.stdout.write(`writing ${store.tmpDir}\n`);
const lines = createInterface({ input: process.stdin });
await once(lines, "line");
body.end(Buffer.alloc(HALF, 8));
const blob = await stored;
process.stdout.write(`stored ${blob.sha256}\n`);
lines.close();
await store.close();
