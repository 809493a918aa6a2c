// The CLI against servers that do not play fair, in-process against stub servers: an artifact answer
// longer than the artifact (or announcing other lengths), a GraphQL answer that never ends or is
// trickled past the deadline, and an error message written to drive the reader's terminal. Each must
// end quickly with a clear error; the stubs stop writing once the client hangs up.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadArtifact } from "../../src/registroCli/artifactTransfer.ts";
import { downloadAll } from "../../src/registroCli/commands/download.ts";
import type { CommandContext } from "../../src/registroCli/context.ts";
import { CliError } from "../../src/registroCli/exitCodes.ts";
import { ANSWER_LIMIT_BYTES, createGraphqlClient } from "../../src/registroCli/graphqlClient.ts";
import { Output } from "../../src/registroCli/output.ts";
import { createProgress } from "../../src/registroCli/progress.ts";
import type { Settings } from "../../src/registroCli/settings.ts";
import type { ArtifactView } from "../../src/registroCli/versionView.ts";

const BODY = Buffer.from("twelve bytes");
const SHA256 = createHash("sha256").update(BODY).digest("hex");
/** Long enough for the fixed client, short enough that the old one fails rather than hangs. */
const QUICK = 5000;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * Writes `chunk` again and again until the client goes away (a little slower than the wire, to spare
 * the disk and memory of a client that does not stop), or until `upTo` bytes are sent.
 */
function endless(res: http.ServerResponse, chunk: Buffer, upTo = Infinity): void {
  let gone = false;
  let sent = 0;
  res.once("close", () => (gone = true));
  const more = () => {
    if (gone) return;
    if (sent >= upTo) return void res.end();
    sent += chunk.length;
    if (res.write(chunk)) setTimeout(more, 1);
    else res.once("drain", more);
  };
  more();
}

/** A reason the client errs: its code, or its message. */
async function failure(promise: Promise<unknown>): Promise<CliError> {
  const error: unknown = await promise.then(
    () => new Error("expected a failure"),
    (e: unknown) => e,
  );
  if (!(error instanceof CliError)) throw error;
  return error;
}

describe("registro against hostile servers", () => {
  let handler: Handler = (_req, res) => res.end();
  let server: http.Server;
  let url: string;
  let dir: string;
  const settings = (): Settings => ({ url, token: undefined, timeoutMs: 10_000 });
  const context = (s: Settings): CommandContext => ({
    settings: s,
    client: createGraphqlClient(s),
    out: new Output({ json: false, quiet: true }),
    signal: new AbortController().signal,
  });
  const artifact = {
    path: "model.bin",
    size: BODY.length,
    sha256: SHA256,
    downloadUrl: "/artifacts/m/1/model.bin",
  } as ArtifactView;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "registro-hostile-"));
    server = http.createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server?.closeAllConnections();
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    "download stops at the artifact's size when the server sends endless bytes, and keeps nothing",
    async () => {
      let clientLeft = false;
      handler = (_req, res) => {
        res.once("close", () => (clientLeft = true));
        res.writeHead(200); // no Content-Length: the body ends when the server says so
        endless(res, Buffer.alloc(16 * 1024, 0x41));
      };
      const target = path.join(dir, "endless");
      const started = performance.now();
      const error = await failure(downloadAll(context(settings()), [artifact], target, false, 1));
      expect(error.code).toBe("SIZE_MISMATCH");
      expect(error.message).toMatch(/more than the 12 bytes expected.*nothing kept/);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(existsSync(path.join(target, ".model.bin.part"))).toBe(false);
      expect(existsSync(path.join(target, "model.bin"))).toBe(false);
      await expect.poll(() => clientLeft).toBe(true);
    },
    QUICK,
  );

  it(
    "a resumed download answered with endless bytes discards its .part too",
    async () => {
      handler = (_req, res) => {
        res.writeHead(206);
        endless(res, Buffer.alloc(16 * 1024, 0x41));
      };
      const target = path.join(dir, "endless-resume");
      mkdirSync(target, { recursive: true });
      writeFileSync(path.join(target, ".model.bin.part"), BODY.subarray(0, 4));
      const error = await failure(downloadAll(context(settings()), [artifact], target, false, 1));
      expect(error.code).toBe("SIZE_MISMATCH");
      expect(error.message).toMatch(/more than the 8 bytes expected/);
      expect(existsSync(path.join(target, ".model.bin.part"))).toBe(false);
    },
    QUICK,
  );

  it(
    "verify (nothing written) stops at the artifact's size too",
    async () => {
      handler = (_req, res) => {
        res.writeHead(200);
        endless(res, Buffer.alloc(16 * 1024, 0x41));
      };
      let received = 0;
      const error = await failure(
        downloadArtifact(
          settings(),
          {
            url: `${url}/artifacts/m/1/model.bin`,
            sha256: SHA256,
            size: BODY.length,
            offset: 0,
            hash: createHash("sha256"),
            open: () =>
              new Writable({ write: (chunk: Buffer, _e, done) => ((received += chunk.length), done()) }),
          },
          () => undefined,
          () => createHash("sha256"),
        ),
      );
      expect(error.code).toBe("SIZE_MISMATCH");
      expect(received).toBeLessThanOrEqual(BODY.length);
    },
    QUICK,
  );

  it("refuses a Content-Length or Content-Range other than the artifact's before writing a byte", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-length": 1000 });
      res.end(Buffer.alloc(1000, 0x41));
    };
    const whole = path.join(dir, "long");
    const error = await failure(downloadAll(context(settings()), [artifact], whole, false, 1));
    expect(error.code).toBe("SIZE_MISMATCH");
    expect(error.message).toMatch(/announced 1000 bytes, expected 12/);
    expect(existsSync(path.join(whole, ".model.bin.part"))).toBe(false);

    // A resumed file answered from the wrong offset: what the .part holds stays, untouched.
    handler = (_req, res) => {
      res.writeHead(206, { "content-length": 8, "content-range": "bytes 2-9/12" });
      res.end(BODY.subarray(2, 10));
    };
    const resumed = path.join(dir, "range");
    mkdirSync(resumed, { recursive: true });
    const part = path.join(resumed, ".model.bin.part");
    writeFileSync(part, BODY.subarray(0, 4));
    const ranged = await failure(downloadAll(context(settings()), [artifact], resumed, false, 1));
    expect(ranged.code).toBe("SIZE_MISMATCH");
    expect(ranged.message).toMatch(/range bytes 2-9\/12, expected bytes 4-11\/12/);
    expect(readFileSync(part).equals(BODY.subarray(0, 4))).toBe(true);
  });

  it(
    "the GraphQL client refuses an answer larger than its limit, announced or streamed",
    async () => {
      let clientLeft = false;
      handler = (_req, res) => {
        res.once("close", () => (clientLeft = true));
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"data":{"x":"');
        // Four times the limit: far more than a client should take (and a bound on what an old one holds).
        endless(res, Buffer.alloc(1024 * 1024, 0x61), 4 * ANSWER_LIMIT_BYTES);
      };
      const started = performance.now();
      const error = await failure(createGraphqlClient(settings()).request("{ x }"));
      expect(error.code).toBe("ANSWER_TOO_LARGE");
      expect(error.message).toContain(`more than ${ANSWER_LIMIT_BYTES / 1024 / 1024} MiB`);
      expect(performance.now() - started).toBeLessThan(3000);
      await expect.poll(() => clientLeft).toBe(true);

      handler = (_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": ANSWER_LIMIT_BYTES + 1 });
        res.write('{"data":');
      };
      const announced = await failure(createGraphqlClient(settings()).request("{ x }"));
      expect(announced.code).toBe("ANSWER_TOO_LARGE");
    },
    QUICK,
  );

  it(
    "--timeout bounds the whole GraphQL answer, not only its headers",
    async () => {
      handler = (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"data":');
        // Below the size limit and never idle: only a deadline on the whole answer ends it.
        endless(res, Buffer.from(" "));
      };
      const started = performance.now();
      const error = await failure(createGraphqlClient({ ...settings(), timeoutMs: 1000 }).request("{ x }"));
      expect(error.message).toMatch(/did not finish its answer within 1 s \(--timeout\)/);
      expect(error.code).toBe("UNREACHABLE");
      expect(performance.now() - started).toBeLessThan(3000);
    },
    QUICK,
  );

  it("a failure the server words is shown in the progress bar without its control characters", () => {
    let written = "";
    const stream = Object.assign(
      new Writable({ write: (chunk: Buffer, _e, done) => ((written += String(chunk)), done()) }),
      { isTTY: true, columns: 400, rows: 40 },
    ) as unknown as NodeJS.WriteStream;
    const progress = createProgress({ enabled: true, verb: "downloaded", totalBytes: 12, stream });
    const bar = progress.file("model.bin", 12);
    bar.fail("uploading model.bin: conflict \u001b]0;PWNED\u0007\u001b[2J");
    progress.stop();
    expect(written).toContain("FAILED: uploading model.bin: conflict ?]0;PWNED??[2J");
    expect(written).not.toContain("\u0007");
    expect(written).not.toContain("\u001b]0;PWNED");
    expect(written).not.toContain("\u001b[2J");
  });
});
