// The artifact routes over plain node:http(s): `PUT /artifacts/<model>/<version>/<path>` streaming
// a file with its announced sha256, and `GET` of a download URL from an offset (a Range request), so
// a transfer reports its bytes as they move and has an idle deadline rather than a total one (a
// large file may take long; a stalled one must not hang).
import type { Hash } from "node:crypto";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { IncomingMessage } from "node:http";
import { Transform } from "node:stream";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CliError, ExitCode } from "./exitCodes.ts";
import { authorization, unreachable } from "./graphqlClient.ts";
import type { Settings } from "./settings.ts";

/** `/artifacts/<model>/<version>/<path>`, each segment URL-encoded (a literal `@` in a name too). */
export function artifactPath(model: string, version: number, filePath: string): string {
  return `/artifacts/${encodeURIComponent(model)}/${version}/${filePath.split("/").map(encodeURIComponent).join("/")}`;
}

const BUFFER = 1024 * 1024;
/** How long an upload waits for its answer after its last byte (the server fsyncs and inspects the file). */
const ANSWER_AFTER_UPLOAD_MS = 10 * 60 * 1000;

function send(
  settings: Settings,
  method: string,
  url: URL,
  headers: Record<string, string | number>,
  signal: AbortSignal | undefined,
): { request: http.ClientRequest; response: Promise<IncomingMessage> } {
  const transport = url.protocol === "https:" ? https : http;
  const request = transport.request(url, {
    method,
    // The token goes to the registry only: never to a bucket a download is redirected to (a
    // presigned URL carries its own authorization, and S3 refuses a request with two).
    headers: { ...headers, ...(url.origin === new URL(settings.url).origin ? authorization(settings) : {}) },
    signal,
  });
  // An idle deadline: no byte either way for this long aborts the transfer. (An upload waits longer
  // for its answer once its body is sent: the server still syncs and inspects the file.)
  request.on("timeout", () => request.destroy(new Error("no progress within the timeout (--timeout)")));
  request.setTimeout(settings.timeoutMs);
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    request.once("response", (res) => {
      res.setTimeout?.(settings.timeoutMs, () =>
        res.destroy(new Error(`no progress for ${settings.timeoutMs / 1000} s`)),
      );
      resolve(res);
    });
    request.once("error", reject);
  });
  return { request, response };
}

/** The most a route's JSON answer (an error, an upload's result) may hold: it is a few hundred bytes. */
const ANSWER_LIMIT = 1 << 20;

/**
 * A route's (small) JSON answer as text: refused beyond `ANSWER_LIMIT`, and cut off after the
 * timeout as a whole (the idle deadline alone lets a server trickle bytes forever).
 */
async function readBody(response: IncomingMessage, timeoutMs: number): Promise<string> {
  const tooLarge = () =>
    new CliError(
      `the server's answer is larger than ${ANSWER_LIMIT / 1024 / 1024} MiB; is this a Registro server?`,
      ExitCode.failure,
      "ANSWER_TOO_LARGE",
    );
  if (Number(response.headers["content-length"]) > ANSWER_LIMIT) {
    response.destroy();
    throw tooLarge();
  }
  const deadline = setTimeout(
    () => response.destroy(new Error(`no complete answer within ${timeoutMs / 1000} s (--timeout)`)),
    timeoutMs,
  );
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > ANSWER_LIMIT) throw tooLarge(); // leaving the loop destroys the response
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    clearTimeout(deadline);
  }
}

/** The route's `{"error": {code, message}}`, as a CliError with its exit code. */
async function routeError(settings: Settings, response: IncomingMessage, what: string): Promise<CliError> {
  const text = await readBody(response, settings.timeoutMs).catch(() => "");
  let error: { code?: string; message?: string } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    error = undefined;
  }
  if (response.statusCode === 401)
    return new CliError(
      `${what}: the server refused the credentials; set REGISTRO_TOKEN or run \`registro login\``,
      ExitCode.permission,
      "UNAUTHENTICATED",
    );
  return CliError.fromApi(error?.code, `${what}: ${error?.message ?? `HTTP ${response.statusCode}`}`, error);
}

/** What `PUT /artifacts/…` answers: the artifact as GraphQL shows it (or `healed` for a repair). */
export interface UploadAnswer {
  readonly artifact?: { path: string; sha256: string; format: string | null; verdict: string | null };
  readonly healed?: boolean;
}

export interface UploadRequest {
  readonly model: string;
  readonly version: number;
  readonly path: string;
  readonly file: string;
  readonly size: number;
  readonly sha256: string;
  readonly role?: string;
}

/** Counts bytes as they pass. */
function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    highWaterMark: BUFFER,
    transform(chunk: Buffer, _encoding, callback) {
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
}

/** PUTs one file; answers the route's JSON (`artifact`, `signature`, …). Retries when the server says it is busy. */
export async function uploadArtifact(
  settings: Settings,
  upload: UploadRequest,
  onBytes: (n: number) => void,
  signal?: AbortSignal,
): Promise<UploadAnswer> {
  const url = new URL(settings.url + artifactPath(upload.model, upload.version, upload.path));
  for (let attempt = 1; ; attempt++) {
    const { request, response } = send(
      settings,
      "PUT",
      url,
      {
        "content-type": "application/octet-stream",
        "content-length": upload.size,
        "x-checksum-sha256": upload.sha256,
        ...(upload.role ? { "x-artifact-role": upload.role } : {}),
      },
      signal,
    );
    let sent = 0;
    const body = pipeline(
      createReadStream(upload.file, { highWaterMark: BUFFER }),
      counter((n) => {
        sent += n;
        onBytes(n);
      }),
      request,
    ).then(() => request.setTimeout(Math.max(settings.timeoutMs, ANSWER_AFTER_UPLOAD_MS)));
    let res: IncomingMessage;
    try {
      // The server may answer (and close) before reading the whole body, e.g. 409 or 503.
      [res] = await Promise.all([response, body.catch(() => undefined)]);
    } catch (error) {
      if (signal?.aborted) throw error;
      throw unreachable(settings, error);
    }
    if (res.statusCode === 503 && attempt < 5) {
      await readBody(res, settings.timeoutMs).catch(() => "");
      onBytes(-sent);
      const wait = Math.min(Number(res.headers["retry-after"]) || 1, 30);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      continue;
    }
    if (res.statusCode !== 201 && res.statusCode !== 200)
      throw await routeError(settings, res, `uploading ${upload.path}`);
    let text: string;
    try {
      text = await readBody(res, settings.timeoutMs);
    } catch (error) {
      if (error instanceof CliError)
        throw new CliError(`uploading ${upload.path}: ${error.message}`, error.exitCode, error.code);
      throw unreachable(settings, error);
    }
    try {
      return JSON.parse(text) as UploadAnswer;
    } catch {
      throw new CliError(`uploading ${upload.path}: the server answered ${text.slice(0, 200)}`);
    }
  }
}

export interface DownloadRequest {
  /** Absolute URL of the artifact. */
  readonly url: string;
  readonly sha256: string;
  /** The artifact's size as the registry recorded it: no answer may carry more. */
  readonly size: number;
  /** Bytes already held (and already fed to `hash`): asked for with a Range request. */
  readonly offset: number;
  readonly hash: Hash;
  /** Where the bytes go (the `.part` file, opened for append at `offset`, or truncated). */
  readonly open: (fromStart: boolean) => Writable;
  /** Throws away what `open` wrote (the `.part` file), once an answer proved not to be the artifact. */
  readonly discard?: () => void;
}

const sizeMismatch = (message: string) => new CliError(message, ExitCode.failure, "SIZE_MISMATCH");

/**
 * Refuses, before any byte is written, an answer whose headers announce other bytes than the ones
 * asked for: a Content-Length other than `expected`, or a Content-Range not from `offset` to the end.
 */
function checkAnnouncedLength(
  res: IncomingMessage,
  what: string,
  download: DownloadRequest,
  resumed: boolean,
  expected: number,
): void {
  const length = res.headers["content-length"];
  if (length !== undefined && Number(length) !== expected)
    throw sizeMismatch(
      `${what}: the server announced ${length} bytes, expected ${expected} (the artifact has ${download.size}); nothing written`,
    );
  const range = res.headers["content-range"];
  if (!resumed || range === undefined) return;
  const [, start, end, total] = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range.trim()) ?? [];
  if (
    Number(start) !== download.offset ||
    Number(end) !== download.size - 1 ||
    (total !== "*" && Number(total) !== download.size)
  )
    throw sizeMismatch(
      `${what}: the server answered the range ${range}, expected bytes ${download.offset}-${download.size - 1}/${download.size}; nothing written`,
    );
}

/**
 * GETs an artifact from `offset` into the stream `open` makes. Answers whether the server honoured
 * the range (206); if it sent the whole file instead (200), `open(true)` restarted the file and the
 * caller must restart its hash too, which it learns from `restarted`. No more bytes are taken than the
 * artifact has: a server sending more (or announcing other lengths) is refused with SIZE_MISMATCH.
 */
export async function downloadArtifact(
  settings: Settings,
  download: DownloadRequest,
  onBytes: (n: number) => void,
  onRestart: () => Hash,
  signal?: AbortSignal,
): Promise<{ resumed: boolean; hash: Hash }> {
  let url = new URL(download.url);
  const ranged = download.offset > 0;
  const headers: Record<string, string> = ranged
    ? { range: `bytes=${download.offset}-`, "if-range": `"${download.sha256}"` }
    : {};
  for (let redirects = 0; ; redirects++) {
    const { request, response } = send(settings, "GET", url, headers, signal);
    request.end();
    let res: IncomingMessage;
    try {
      res = await response;
    } catch (error) {
      if (signal?.aborted) throw error;
      throw unreachable(settings, error);
    }
    // A presigned redirect to the bucket (S3_PRESIGNED_DOWNLOADS): follow it with the same Range.
    if (res.statusCode === 307 && res.headers.location && redirects < 3) {
      res.destroy(); // its body, if any, is not read (a hostile one need not end)
      url = new URL(res.headers.location, url);
      continue;
    }
    if (res.statusCode !== 200 && res.statusCode !== 206)
      throw await routeError(settings, res, `downloading ${url.pathname}`);
    const resumed = ranged && res.statusCode === 206;
    const expected = resumed ? download.size - download.offset : download.size;
    try {
      checkAnnouncedLength(res, `downloading ${url.pathname}`, download, resumed, expected);
    } catch (error) {
      res.destroy();
      throw error;
    }
    const hash = ranged && !resumed ? onRestart() : download.hash;
    const out = download.open(!resumed);
    // Not a pipeline into `out`: a pipeline destroys its destination when the source fails, losing
    // what the file stream still buffers. Every byte that arrived must reach the `.part` file, so that
    // the next run resumes after it; `out` is always ended (flushed) before the outcome is reported.
    let writeError: Error | undefined;
    out.once("error", (error: Error) => (writeError = error));
    let cut: Error | undefined;
    let received = 0;
    let overflow = false;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        if (writeError) break;
        received += chunk.length;
        // Leaving the loop destroys the response: an endless body stops here, not when the disk is full.
        if (received > expected) {
          overflow = true;
          break;
        }
        hash.update(chunk);
        onBytes(chunk.length);
        if (!out.write(chunk)) await once(out, "drain");
      }
    } catch (error) {
      cut = error as Error;
    }
    await new Promise<void>((resolve) => (out.writableFinished || writeError ? resolve() : out.end(resolve)));
    if (writeError) throw new CliError(`writing ${url.pathname}: ${writeError.message}`);
    if (overflow) {
      // The bytes of this answer are not the artifact's: none of them is kept to resume from.
      download.discard?.();
      throw sizeMismatch(
        `downloading ${url.pathname}: the server sent more than the ${expected} bytes expected (the artifact has ${download.size}); nothing kept, run again`,
      );
    }
    if (cut) {
      if (signal?.aborted) throw cut;
      throw new CliError(
        `downloading ${url.pathname} was cut (${cut.message}); run the command again to resume`,
      );
    }
    return { resumed, hash };
  }
}
