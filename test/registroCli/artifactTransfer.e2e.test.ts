// The CLI's download over the artifact routes, in-process against stub servers: a presigned redirect
// to a bucket is followed with the same Range, and the registry's token is never sent to the bucket.
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadArtifact } from "../../src/registroCli/artifactTransfer.ts";

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
