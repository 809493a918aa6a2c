// The CLI's downloads over the artifact routes, in-process against stub servers: a connection cut
// mid-file leaves only the `.part` file and the next run resumes it with a Range request; a presigned
// redirect to a bucket is followed with the same Range, and the registry's token never goes there.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadArtifact } from "../../src/registroCli/artifactTransfer.ts";
import { downloadAll } from "../../src/registroCli/commands/download.ts";
import type { CommandContext } from "../../src/registroCli/context.ts";
import { createGraphqlClient } from "../../src/registroCli/graphqlClient.ts";
import { Output } from "../../src/registroCli/output.ts";
import type { ArtifactView } from "../../src/registroCli/versionView.ts";

const BODY = Buffer.from("0123456789".repeat(1000));
const SHA256 = createHash("sha256").update(BODY).digest("hex");

function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

describe("registro download through a presigned redirect", () => {
  const seen: { where: string; authorization?: string; range?: string }[] = [];
  let registry: { server: http.Server; url: string };
  let bucket: { server: http.Server; url: string };

  beforeAll(async () => {
    bucket = await listen((req, res) => {
      seen.push({ where: "bucket", authorization: req.headers.authorization, range: req.headers.range });
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1] ?? 0);
      res.writeHead(start > 0 ? 206 : 200, { "content-length": BODY.length - start });
      res.end(BODY.subarray(start));
    });
    registry = await listen((req, res) => {
      seen.push({ where: "registry", authorization: req.headers.authorization, range: req.headers.range });
      res.writeHead(307, { location: `${bucket.url}/sha256/${SHA256}?X-Amz-Signature=abc` });
      res.end();
    });
  });
  afterAll(() => {
    registry?.server.close();
    bucket?.server.close();
  });

  it("follows the redirect with its Range and keeps the token at the registry", async () => {
    const hash = createHash("sha256").update(BODY.subarray(0, 4000));
    let received = 0;
    const { resumed, hash: result } = await downloadArtifact(
      { url: registry.url, token: "rgo_secret", timeoutMs: 5000 },
      {
        url: `${registry.url}/artifacts/m/1/model.bin`,
        sha256: SHA256,
        size: BODY.length,
        offset: 4000,
        hash,
        open: () =>
          new Writable({ write: (chunk: Buffer, _e, done) => ((received += chunk.length), done()) }),
      },
      () => undefined,
      () => createHash("sha256"),
    );
    expect(resumed).toBe(true);
    expect(received).toBe(BODY.length - 4000);
    expect(result.digest("hex")).toBe(SHA256);
    expect(seen).toEqual([
      { where: "registry", authorization: "Bearer rgo_secret", range: "bytes=4000-" },
      { where: "bucket", authorization: undefined, range: "bytes=4000-" },
    ]);
  });
});

describe("registro download cut mid-file", () => {
  const ranges: (string | undefined)[] = [];
  let cutAfter: number | null = 6000;
  let stub: { server: http.Server; url: string };
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "registro-cut-"));
    stub = await listen((req, res) => {
      ranges.push(req.headers.range);
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1] ?? 0);
      res.writeHead(start > 0 ? 206 : 200, { "content-length": BODY.length - start, etag: `"${SHA256}"` });
      if (cutAfter === null) res.end(BODY.subarray(start));
      // The server goes away mid-file: the first bytes arrive, then the connection drops.
      else res.write(BODY.subarray(start, cutAfter), () => res.destroy());
    });
  });
  afterAll(() => {
    stub?.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the bytes in .part, never under the final name, and resumes from there", async () => {
    const settings = { url: stub.url, token: undefined, timeoutMs: 5000 };
    const ctx: CommandContext = {
      settings,
      client: createGraphqlClient(settings),
      out: new Output({ json: false, quiet: true }),
      signal: new AbortController().signal,
    };
    const artifact = {
      path: "nested/model.bin",
      size: BODY.length,
      sha256: SHA256,
      downloadUrl: "/artifacts/m/1/nested/model.bin",
    } as ArtifactView;
    const part = path.join(dir, "nested", ".model.bin.part");
    const final = path.join(dir, "nested", "model.bin");

    await expect(downloadAll(ctx, [artifact], dir, false, 1)).rejects.toThrow(
      /was cut.*run the command again/,
    );
    expect(existsSync(final)).toBe(false);
    expect(statSync(part).size).toBe(6000);

    cutAfter = null;
    const [file] = await downloadAll(ctx, [artifact], dir, false, 1);
    expect(file).toMatchObject({ path: "nested/model.bin", status: "resumed" });
    expect(ranges).toEqual([undefined, "bytes=6000-"]);
    expect(readFileSync(final).equals(BODY)).toBe(true);
    expect(existsSync(part)).toBe(false);
  });
});
