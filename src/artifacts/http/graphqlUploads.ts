// GraphQL multipart requests (github.com/jaydenseric/graphql-multipart-request-spec) with the files
// streamed to the blob store instead of buffered: Yoga's own parser holds every file in memory.
// Each file part is hashed and stored on the way in; its `Upload` variable is then replaced by a
// signed token naming the stored blob, and the operation runs in Yoga as an ordinary JSON request,
// once the request has been authenticated again (the body may have taken minutes).
import type { IncomingMessage, ServerResponse } from "node:http";
import { Transform } from "node:stream";
import busboy from "busboy";
import type { Logger } from "pino";
import { authenticateAgain } from "../../http/requestCaller.ts";
import type { UploadSlots } from "../../http/uploadSlots.ts";
import { DomainError, ValidationError } from "../../domain/errors.ts";
import { LIMITS, isForbiddenKey, nestsDeeperThan } from "../../domain/validation.ts";
import type { BlobStore } from "../blobStore.ts";
import { ArtifactDigestMismatchError, ArtifactTooLargeError } from "../errors.ts";
import type { ArtifactLimits } from "../artifactService.ts";
import { uploadRequestOf, uploadToken } from "../uploadTokens.ts";
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

/** Levels of `operations` (batch, variables, input, …) around a JSON input's own LIMITS.jsonMaxDepth. */
const MAX_JSON_FIELD_DEPTH = LIMITS.jsonMaxDepth + 8;

function parseJsonField(name: string, value: string): Json {
  let parsed: Json;
  try {
    parsed = JSON.parse(value) as Json;
  } catch {
    throw invalid(`the '${name}' field is not valid JSON`);
  }
  // The operations are serialised again for Yoga: a hostile depth would overflow the stack there.
  if (nestsDeeperThan(parsed, MAX_JSON_FIELD_DEPTH))
    throw invalid(`the '${name}' field nests more than ${MAX_JSON_FIELD_DEPTH} levels deep`);
  return parsed;
}

/** Bounds on the `map` field: as many entries as file parts, each naming a few short paths. */
const MAX_PATHS_PER_FILE = 100;
const MAX_PATH_LENGTH = 1024;
const MAX_PATH_SEGMENTS = 64;
const ARRAY_INDEX = /^(0|[1-9][0-9]{0,8})$/;

const invalidMap = (message: string) => new MultipartError(new ValidationError("map", message));

/** A map path, split into segments: `variables.input.file`, `0.variables.files.1`. */
type MapPath = { readonly dotted: string; readonly keys: readonly string[] };

/**
 * Follows a map path through `operations` to the container holding its last segment. Only own
 * properties of plain JSON objects and in-range indices of arrays are walked, and the segments
 * `__proto__`, `constructor` and `prototype` were refused when the map was read: a client's path
 * can only ever reach data it sent.
 */
function locate(root: Json, path: MapPath): { parent: { [key: string]: Json } | Json[]; key: string } {
  const missing = () => invalidMap(`path '${path.dotted}' does not exist in operations`);
  const child = (node: Json, key: string): Json | undefined => {
    if (Array.isArray(node)) return ARRAY_INDEX.test(key) ? node[Number(key)] : undefined;
    if (node === null || typeof node !== "object") return undefined;
    return Object.hasOwn(node, key) ? node[key] : undefined;
  };
  let node: Json = root;
  for (const key of path.keys.slice(0, -1)) {
    const next = child(node, key);
    if (next === undefined) throw missing();
    node = next;
  }
  const key = path.keys.at(-1)!;
  if (node === null || typeof node !== "object" || child(node, key) === undefined) throw missing();
  return { parent: node, key };
}

/**
 * Reads the `map` field: an object from file field names to non-empty lists of distinct paths into
 * `operations`, each ending at a `null` placeholder (graphql-multipart-request-spec).
 */
function parseMap(value: Json, operations: Json | undefined): Map<string, MapPath[]> {
  if (operations === undefined) throw invalid("'operations' must precede 'map'");
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw invalidMap("must be an object from file field names to lists of paths");
  const entries = Object.entries(value);
  if (entries.length > MAX_FILES) throw invalidMap(`must name at most ${MAX_FILES} files`);
  const map = new Map<string, MapPath[]>();
  const seen = new Set<string>();
  for (const [name, paths] of entries) {
    if (
      !Array.isArray(paths) ||
      paths.length === 0 ||
      paths.length > MAX_PATHS_PER_FILE ||
      !paths.every((p) => typeof p === "string")
    )
      throw invalidMap(`'${name.slice(0, 100)}' must be a list of 1 to ${MAX_PATHS_PER_FILE} paths`);
    map.set(
      name,
      paths.map((dotted) => {
        if (dotted.length === 0 || dotted.length > MAX_PATH_LENGTH)
          throw invalidMap(`paths must be 1 to ${MAX_PATH_LENGTH} characters`);
        const keys = dotted.split(".");
        if (keys.length > MAX_PATH_SEGMENTS)
          throw invalidMap(`paths must have at most ${MAX_PATH_SEGMENTS} segments`);
        const reserved = keys.find((key) => key === "" || isForbiddenKey(key));
        if (reserved !== undefined)
          throw invalidMap(
            reserved === ""
              ? `path '${dotted}' has an empty segment`
              : `path '${dotted}' goes through '${reserved}', which is not data`,
          );
        if (seen.has(dotted)) throw invalidMap(`path '${dotted}' is mapped twice`);
        seen.add(dotted);
        const path = { dotted, keys };
        const { parent, key } = locate(operations, path);
        if ((parent as Record<string, Json>)[key] !== null)
          throw invalidMap(`path '${dotted}' must point at a null placeholder in operations`);
        return path;
      }),
    );
  }
  return map;
}

/** A `sha256` string next to the Upload variable (e.g. `input.sha256`) is the digest the client expects. */
/** The `name` next to the file in the operation's input: the model the part is for. */
function siblingModelName(operations: Json, path: MapPath): string | undefined {
  const { parent } = locate(operations, path);
  const value = Array.isArray(parent) || !Object.hasOwn(parent, "name") ? undefined : parent.name;
  return typeof value === "string" ? value : undefined;
}

function siblingSha256(operations: Json, path: MapPath): string | undefined {
  const { parent } = locate(operations, path);
  const value = Array.isArray(parent) || !Object.hasOwn(parent, "sha256") ? undefined : parent.sha256;
  return typeof value === "string" && /^[0-9a-fA-F]{64}$/.test(value) ? value.toLowerCase() : undefined;
}

export interface GraphQLUploadOptions {
  readonly blobs: BlobStore;
  readonly limits: ArtifactLimits;
  readonly logger: Logger;
  /** Caps concurrent uploads per client and in total. */
  readonly uploads: UploadSlots;
  /**
   * Whether the request's caller may write to this model (checked before a part's bytes are stored);
   * for a part with no model named next to it, whether it may write to any model at all.
   */
  readonly mayWrite: (req: IncomingMessage, modelName: string | undefined) => Promise<boolean>;
  /** Uploaded files are inspected when attached: the store may keep a local copy for that. */
  readonly inspected?: boolean;
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
    let map: Map<string, MapPath[]> | undefined;
    const stored: Promise<void>[] = [];
    /** The id this request's tokens carry: they count in its own operation only (../uploadTokens.ts). */
    const request = uploadRequestOf(req);
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
        else if (name === "map") map = parseMap(parseJsonField(name, value), operations);
      } catch (error) {
        fail(error as MultipartError);
      }
    });
    parser.on("filesLimit", () => fail(invalid(`at most ${MAX_FILES} files per request`)));
    parser.on("file", (name, stream, info) => {
      // A body cut short errors every open part, possibly before the blob store has attached its
      // own listeners (it first awaits its folders); an error event without a listener kills the
      // process. The store still sees the failure: pipeline() rejects on an already-errored source.
      stream.on("error", () => undefined);
      const discard = () => stream.resume();
      const paths = map?.get(name);
      if (failure !== null || operations === undefined || map === undefined || paths === undefined) {
        if (operations === undefined || map === undefined)
          fail(invalid("'operations' and 'map' must precede the files"));
        discard();
        return;
      }
      let expected: string | undefined;
      let modelName: string | undefined;
      try {
        expected = siblingSha256(operations, paths[0]!);
        modelName = siblingModelName(operations, paths[0]!);
      } catch (error) {
        fail(error as MultipartError);
        discard();
        return;
      }
      const ops = operations;
      // Bytes for a model the caller may not write to are never stored: the mutation then answers
      // NotFoundError or PermissionDeniedError, as it would without a file. When the model is not
      // named next to the part (the input written into the document, only the file a variable), a
      // caller who may write to no model at all stores nothing either.
      stored.push(
        options
          .mayWrite(req, modelName)
          .then((ok) => {
            if (ok)
              return blobs
                .put(stream, {
                  ...(expected ? { expectedSha256: expected } : {}),
                  maxBytes: limits.maxArtifactBytes,
                  limitScope: "artifact",
                  keepLocalCopy: options.inspected ?? false,
                })
                .then((blob): UploadedFile => ({
                  kind: "stored",
                  sha256: blob.sha256,
                  size: blob.size,
                  mediaType: info.mimeType,
                  filename: info.filename ?? "",
                }));
            discard();
            return { kind: "withheld", modelName: modelName ?? null } satisfies UploadedFile;
          })
          .then(
            (file): UploadedFile => file,
            (error: unknown): UploadedFile => {
              if (error instanceof ArtifactDigestMismatchError)
                return { kind: "digestMismatch", expected: error.expected, actual: error.actual };
              throw error;
            },
          )
          .then((file) => {
            const token = uploadToken(file, request);
            for (const path of paths) {
              const { parent, key } = locate(ops, path);
              // An own property or an in-range index (locate checked): defining, never the `__proto__` setter.
              Object.defineProperty(parent, key, {
                value: token,
                writable: true,
                enumerable: true,
                configurable: true,
              });
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
            stop(error);
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
    // destroyed, because its socket is still needed to answer (413, 400). The parser is destroyed:
    // a file part it was still delivering would otherwise never end, and its store (a temp file, a
    // multipart upload) would wait for it, and the answer for the store, forever.
    let stop: (reason: unknown) => void = () => undefined;
    const parsed = new Promise<void>((resolve) => {
      stop = (reason) => {
        req.unpipe(meter);
        meter.unpipe(parser);
        parser.destroy(reason instanceof Error ? reason : new Error(String(reason)));
        resolve();
      };
      parser.once("close", resolve);
      parser.once("finish", resolve);
      const broken = (error: unknown) => {
        if (error instanceof DomainError) fail(new MultipartError(error));
        else fail(invalid(`malformed multipart body: ${(error as Error).message}`));
        stop(error);
      };
      // `on`, not `once`: busboy can emit a second error (e.g. "Unexpected end of form" from its final
      // flush after an earlier failure), and an error event without a listener kills the process.
      parser.on("error", broken);
      meter.on("error", broken);
      req.once("close", () => {
        if (!req.complete) {
          fail(invalid("the client aborted the request"));
          // Unblocks a file part still being written, whose temp file is then removed.
          stop(new Error("the client aborted the request"));
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

    // The files may have taken minutes: the operation runs as the caller is now (Yoga's context
    // reads the caller remembered here), or not at all. Files already stored stay unreferenced,
    // as those of any operation that refuses them, until garbage collection.
    if ((await authenticateAgain(req, res)) === null) return true;

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
