// GraphQL multipart requests (github.com/jaydenseric/graphql-multipart-request-spec) with the files
// streamed to the blob store instead of buffered: Yoga's own parser holds every file in memory.
// Each file part is hashed and stored on the way in; its `Upload` variable is then replaced by a
// signed token naming the stored blob, and the operation runs in Yoga as an ordinary JSON request.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Transform } from "node:stream";
import busboy from "busboy";
import type { Logger } from "pino";
import type { UploadSlots } from "../../http/uploadSlots.ts";
import { DomainError, ValidationError } from "../../domain/errors.ts";
import type { BlobStore } from "../blobStore.ts";
import { ArtifactDigestMismatchError, ArtifactTooLargeError } from "../errors.ts";
import type { ArtifactLimits } from "../artifactService.ts";
import { uploadToken } from "../uploadTokens.ts";
import type { UploadedFile } from "../uploadTokens.ts";
import { errorBody, sendError, statusOf } from "./httpErrors.ts";

/** The part of a Yoga instance this needs: run a Fetch request with the Node server context. */
export interface GraphQLFetch {
  fetch(
    url: string,
    init: RequestInit,
    serverContext: { req: IncomingMessage; res: ServerResponse },
  ): Promise<Response> | Response;
}

const MAX_FILES = 100;
const MAX_FIELD_BYTES = 1024 * 1024;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

class MultipartError extends Error {
  constructor(
    readonly error: DomainError,
    message = error.message,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new MultipartError(new ValidationError("multipart", message));

function parseJsonField(name: string, value: string): Json {
  try {
    return JSON.parse(value) as Json;
  } catch {
    throw invalid(`the '${name}' field is not valid JSON`);
  }
}

/** Follows a dotted object path (`variables.input.file`, `0.variables.files.1`) to its parent and key. */
function locate(root: Json, dotted: string): { parent: Record<string, Json> | Json[]; key: string } {
  const keys = dotted.split(".");
  let node: Json = root;
  for (const key of keys.slice(0, -1)) {
    if (node === null || typeof node !== "object")
      throw invalid(`map path '${dotted}' does not exist in operations`);
    node = (node as Record<string, Json>)[key] ?? null;
  }
  if (node === null || typeof node !== "object")
    throw invalid(`map path '${dotted}' does not exist in operations`);
  return { parent: node, key: keys.at(-1)! };
}

/** A `sha256` string next to the Upload variable (e.g. `input.sha256`) is the digest the client expects. */
function siblingSha256(operations: Json, dotted: string): string | undefined {
  const { parent } = locate(operations, dotted);
  const value = Array.isArray(parent) ? undefined : parent.sha256;
  return typeof value === "string" && /^[0-9a-fA-F]{64}$/.test(value) ? value.toLowerCase() : undefined;
}

export interface GraphQLUploadOptions {
  readonly blobs: BlobStore;
  readonly limits: ArtifactLimits;
  readonly logger: Logger;
  /** Caps concurrent uploads per client and in total. */
  readonly uploads: UploadSlots;
}

/** Handles multipart POSTs to /graphql (returns false for anything else, which Yoga then serves). */
export function graphqlUploadHandler(options: GraphQLUploadOptions) {
  const { blobs, limits, logger, uploads } = options;

  return async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    yoga: GraphQLFetch,
  ): Promise<boolean> {
    const contentType = req.headers["content-type"] ?? "";
    if (req.method !== "POST" || !/^multipart\/form-data/i.test(contentType)) return false;

    const declaredLength = Number(req.headers["content-length"] ?? Number.NaN);
    if (declaredLength > limits.maxRequestBytes) {
      const error = new ArtifactTooLargeError(limits.maxRequestBytes, "request");
      sendError(req, res, 413, errorBody(error));
      return true;
    }
    if (!uploads.acquire(req, res)) return true;

    let operations: Json | undefined;
    let map: Record<string, string[]> | undefined;
    const stored: Promise<void>[] = [];
    let failure: MultipartError | null = null;
    const fail = (error: MultipartError) => {
      failure ??= error;
    };

    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        // One byte over the artifact limit reaches the blob store, whose meter then refuses it.
        limits: {
          fileSize: limits.maxArtifactBytes + 1,
          files: MAX_FILES,
          fields: 16,
          fieldSize: MAX_FIELD_BYTES,
        },
      });
    } catch {
      sendError(
        req,
        res,
        400,
        errorBody(new ValidationError("multipart", "malformed multipart/form-data header")),
      );
      return true;
    }

    parser.on("field", (name, value, info) => {
      if (info.valueTruncated)
        return fail(invalid(`the '${name}' field is larger than ${MAX_FIELD_BYTES} bytes`));
      try {
        if (name === "operations") operations = parseJsonField(name, value);
        else if (name === "map") {
          const parsed = parseJsonField(name, value);
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
            throw invalid("'map' must be an object");
          map = parsed as Record<string, string[]>;
        }
      } catch (error) {
        fail(error as MultipartError);
      }
    });
    parser.on("filesLimit", () => fail(invalid(`at most ${MAX_FILES} files per request`)));
    parser.on("file", (name, stream, info) => {
      const paths = map?.[name];
      if (
        failure !== null ||
        operations === undefined ||
        map === undefined ||
        !Array.isArray(paths) ||
        paths.length === 0
      ) {
        if (operations === undefined || map === undefined)
          fail(invalid("'operations' and 'map' must precede the files"));
        stream.resume();
        return;
      }
      let expected: string | undefined;
      try {
        expected = siblingSha256(operations, paths[0]!);
      } catch (error) {
        fail(error as MultipartError);
        stream.resume();
        return;
      }
      const ops = operations;
      stored.push(
        blobs
          .put(stream, {
            ...(expected ? { expectedSha256: expected } : {}),
            maxBytes: limits.maxArtifactBytes,
            limitScope: "artifact",
          })
          .then(
            (blob): UploadedFile => ({
              kind: "stored",
              sha256: blob.sha256,
              size: blob.size,
              mediaType: info.mimeType,
              filename: info.filename ?? "",
            }),
            (error: unknown): UploadedFile => {
              if (error instanceof ArtifactDigestMismatchError)
                return { kind: "digestMismatch", expected: error.expected, actual: error.actual };
              throw error;
            },
          )
          .then((file) => {
            const token = uploadToken(file);
            for (const dotted of paths) {
              const { parent, key } = locate(ops, dotted);
              (parent as Record<string, Json>)[key] = token;
            }
          })
          .catch((error: unknown) => {
            if (error instanceof MultipartError) fail(error);
            else if (error instanceof DomainError) fail(new MultipartError(error));
            else {
              logger.warn({ err: error }, "a multipart file part could not be stored");
              fail(invalid("a file part could not be stored"));
            }
            // The part's stream is gone, so the parser would wait for it forever: stop reading.
            stop();
          }),
      );
    });

    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        if (received > limits.maxRequestBytes)
          callback(new ArtifactTooLargeError(limits.maxRequestBytes, "request"));
        else callback(null, chunk);
      },
    });

    // Piped by hand rather than with pipeline(): on failure the request is only detached, not
    // destroyed, because its socket is still needed to answer (413, 400).
    let stop: () => void = () => undefined;
    const parsed = new Promise<void>((resolve) => {
      stop = () => {
        req.unpipe(meter);
        meter.unpipe(parser);
        resolve();
      };
      parser.once("close", resolve);
      parser.once("finish", resolve);
      const broken = (error: unknown) => {
        if (error instanceof DomainError) fail(new MultipartError(error));
        else fail(invalid(`malformed multipart body: ${(error as Error).message}`));
        stop();
      };
      parser.once("error", broken);
      meter.once("error", broken);
      req.once("close", () => {
        if (!req.complete) {
          fail(invalid("the client aborted the request"));
          // Unblocks a file part still being written, whose temp file is then removed.
          parser.destroy(new Error("the client aborted the request"));
          stop();
        }
      });
    });
    req.pipe(meter).pipe(parser);
    await parsed;
    await Promise.allSettled(stored);
    if (req.destroyed && !req.complete) {
      logger.info("multipart upload aborted by the client; nothing recorded");
      return true;
    }

    const problem = failure as MultipartError | null;
    if (problem !== null) {
      sendError(req, res, statusOf(problem.error), errorBody(problem.error));
      return true;
    }
    if (operations === undefined) {
      sendError(req, res, 400, errorBody(new ValidationError("multipart", "missing the 'operations' field")));
      return true;
    }

    const headers = new Headers();
    for (const [key, value] of Object.entries(req.headers)) {
      if (
        value === undefined ||
        ["content-type", "content-length", "transfer-encoding", "host", "connection"].includes(key)
      )
        continue;
      headers.set(key, Array.isArray(value) ? value.join(", ") : value);
    }
    headers.set("content-type", "application/json");
    const response = await yoga.fetch(
      `http://${req.headers.host ?? "localhost"}${req.url ?? "/graphql"}`,
      { method: "POST", headers, body: JSON.stringify(operations) },
      { req, res },
    );
    const body = Buffer.from(await response.arrayBuffer());
    const out: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      if (key !== "content-length" && key !== "transfer-encoding") out[key] = value;
    });
    res.writeHead(response.status, { ...out, "content-length": body.length });
    res.end(body);
    return true;
  };
}
