// MLflow's artifact proxy, the routes MLflow clients reach through `mlflow-artifacts:/<path>` URIs
// (HttpArtifactRepository), under /api/2.0/mlflow-artifacts/ and /ajax-api/2.0/mlflow-artifacts/:
//   PUT    …/artifacts/<path>        the body into the blob store, then the staging row: `{}` (If-Match
//                                    and If-None-Match checked against the file there before the
//                                    body, and the row written only over that file)
//   GET    …/artifacts?path=<dir>    one level of a folder: `{"files":[{path, is_dir, file_size}]}`
//   GET    …/artifacts/<path>        the file (HEAD: its headers)
//   DELETE …/artifacts/<path>        forgets the file, or every file of the folder: `{}`
// `_registro/models/<model id>/versions/<version>/…` is a read-only view of registered versions'
// artifacts, served through the artifact routes' own download path. MLflow's multipart-upload
// endpoints (…/mpu/…) are not served. Every refusal is MLflow's error body.
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import type { AccessPolicy } from "../access/modelAccess.ts";
import { requestAccess } from "../access/scopedReader.ts";
import type { RequestAccess } from "../access/scopedReader.ts";
import type { ArtifactLimits } from "../artifacts/artifactService.ts";
import { BlobDigestMismatchError, digestCheck } from "../artifacts/blobIntegrity.ts";
import type { IntegrityMonitor } from "../artifacts/blobIntegrity.ts";
import type { BlobStore, StoredBlob } from "../artifacts/blobStore.ts";
import { ArtifactTooLargeError } from "../artifacts/errors.ts";
import { contentDisposition, receiveBody } from "../artifacts/http/artifactRoute.ts";
import type { ArtifactDownload, TransferErrors } from "../artifacts/http/artifactRoute.ts";
import { evaluatePreconditions } from "../artifacts/http/preconditions.ts";
import { parseRange } from "../artifacts/http/transferHeaders.ts";
import { guessMediaType } from "../artifacts/mediaTypes.ts";
import type { Database } from "../db/database.ts";
import { checkMediaType, checkNewArtifactPath } from "../domain/artifacts.ts";
import { DomainError } from "../domain/errors.ts";
import { authenticateAgain, callerOf } from "../http/requestCaller.ts";
import type { Route } from "../http/server.ts";
import { sendJson } from "../http/sendJson.ts";
import type { UploadSlots } from "../http/uploadSlots.ts";
import { MlflowError, mlflowErrorOf, mlflowRefusalOf } from "./mlflowErrors.ts";
import { decodeListedPath, decodeProxyPath } from "./proxyPaths.ts";
import type { ProxyPath } from "./proxyPaths.ts";
import { stagingReadRefusal, stagingWriteRefusal } from "./stagingAccess.ts";
import {
  MAX_LISTED,
  deleteStagedFile,
  listStaged,
  stagedFile,
  stagedFilesUnder,
  stagedPathClash,
  writeStagedFile,
} from "./stagedFiles.ts";
import type { StagedFile } from "./stagedFiles.ts";

export const ARTIFACT_PROXY_PREFIXES = [
  "/api/2.0/mlflow-artifacts/",
  "/ajax-api/2.0/mlflow-artifacts/",
] as const;

export const isArtifactProxyPath = (pathname: string) =>
  ARTIFACT_PROXY_PREFIXES.some((p) => pathname.startsWith(p));

export interface ArtifactProxyOptions {
  readonly db: Database;
  readonly logger: Logger;
  readonly accessPolicy: AccessPolicy;
  readonly blobs: BlobStore;
  readonly limits: ArtifactLimits;
  readonly uploads: UploadSlots;
  readonly integrity: IntegrityMonitor;
  /** The artifact routes' download path (src/artifacts/http/artifactRoute.ts artifactDownload). */
  readonly download: ArtifactDownload;
}

interface ListedFile {
  readonly path: string;
  readonly is_dir: boolean;
  readonly file_size?: number;
}

function sendError(req: IncomingMessage, res: ServerResponse, error: MlflowError, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  // A body left unread (a refused upload) is not drained: the connection closes after the answer.
  sendJson(res, error.status, error.body, { ...(req.complete ? {} : { connection: "close" }), ...headers });
}

/** The artifact download path's refusals, as MLflow's error body with the same HTTP status. */
const MLFLOW_ERRORS: TransferErrors = {
  domain: (req, res, error) => sendError(req, res, mlflowErrorOf(error)),
  other: (req, res, status, body, headers) =>
    sendError(
      req,
      res,
      new MlflowError(status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST", body.error.message, status),
      headers,
    ),
};

const notFound = (path: string) =>
  new MlflowError("RESOURCE_DOES_NOT_EXIST", `No such file or directory: '${path}'`);

const headerOf = (req: IncomingMessage, name: string): string | null => {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
};

/** One level below `dir` of a set of `/`-separated paths with sizes. */
function oneLevel(entries: readonly { path: string; size: number }[], dir: string): ListedFile[] {
  const prefix = dir === "" ? "" : `${dir}/`;
  const dirs = new Set<string>();
  const files: ListedFile[] = [];
  for (const entry of entries) {
    if (!entry.path.startsWith(prefix)) continue;
    const rest = entry.path.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash < 0) files.push({ path: rest, is_dir: false, file_size: entry.size });
    else dirs.add(rest.slice(0, slash));
  }
  return [...files, ...[...dirs].map((path) => ({ path, is_dir: true }))];
}

/**
 * A PUT's If-Match and If-None-Match against the file at the path now (RFC 9110 §13.1.1, §13.1.2),
 * checked before the body is read: a PUT replaces the file, so a client that read it can say which
 * file it means to replace (`If-Match: <ETag>`) or that it means to create one (`If-None-Match: *`)
 * instead of overwriting another writer's file unseen. Null when the PUT may proceed.
 */
function putPrecondition(req: IncomingMessage, path: string, current: StagedFile | null): MlflowError | null {
  // No file at the path: If-Match (`*` included) is false, If-None-Match holds.
  if (current === null)
    return req.headers["if-match"] === undefined
      ? null
      : new MlflowError("BAD_REQUEST", `If-Match does not hold: there is no file '${path}'`, 412);
  const etag = `"${current.sha256}"`;
  const precondition = evaluatePreconditions("PUT", req.headers, { etag, lastModified: null });
  return precondition.outcome === "failed"
    ? new MlflowError(
        "BAD_REQUEST",
        `${precondition.header} does not hold for the current '${path}' (ETag ${etag})`,
        412,
      )
    : null;
}

/** Compare-and-set attempts of a conditional PUT whose file other writers keep changing. */
const MAX_WRITE_ATTEMPTS = 5;

/** proto3 JSON leaves out an empty list: an empty folder is `{}`. */
const listing = (files: readonly ListedFile[]) => (files.length === 0 ? {} : { files });

export function artifactProxyRoute(options: ArtifactProxyOptions): Route {
  const { db, blobs, logger } = options;
  const accessOf = (req: IncomingMessage) => requestAccess(db.reader, options.accessPolicy, callerOf(req));

  /** The live model of this id and its live version, as the caller may see them. */
  async function readableVersion(access: RequestAccess, target: { modelId: string; version: number }) {
    const model = await access.reader.registeredModel.findFirst({
      where: { id: target.modelId, deleted: false },
      select: { id: true, name: true },
    });
    const version =
      model === null
        ? null
        : await access.reader.modelVersion.findFirst({
            where: { modelId: model.id, version: target.version, deleted: false },
            select: { version: true },
          });
    if (model === null || version === null)
      throw new MlflowError(
        "RESOURCE_DOES_NOT_EXIST",
        `Model version ${target.version} of model id ${target.modelId} not found`,
      );
    return { modelName: model.name, modelId: model.id, version: version.version };
  }

  async function list(req: IncomingMessage, res: ServerResponse, rawQuery: string): Promise<void> {
    const target = decodeListedPath(rawQuery);
    const access = accessOf(req);
    if (target.kind === "reserved") return sendJson(res, 200, {});
    if (target.kind === "version") {
      const { modelId, version } = await readableVersion(access, target);
      const artifacts = await access.reader.modelVersionArtifact.findMany({
        where: { modelId, version },
        select: { path: true, size: true },
        orderBy: { path: "asc" },
      });
      const entries = artifacts.map((a) => ({ path: a.path, size: Number(a.size) }));
      return sendJson(res, 200, listing(oneLevel(entries, target.path)));
    }
    const refused = stagingReadRefusal(access.rights);
    if (refused) throw refused;
    const { files, dirs } = await listStaged(db, target.path);
    const at = target.path === "" ? 0 : target.path.length + 1;
    sendJson(
      res,
      200,
      listing([
        ...files.map((f) => ({ path: f.path.slice(at), is_dir: false, file_size: f.size })),
        ...dirs.map((path) => ({ path, is_dir: true })),
      ]),
    );
  }

  async function download(req: IncomingMessage, res: ServerResponse, target: ProxyPath): Promise<void> {
    const access = accessOf(req);
    if (target.kind === "reserved") throw notFound(target.path);
    if (target.kind === "version") {
      const { modelName } = await readableVersion(access, target);
      if (target.path === "") throw notFound(target.path);
      return options.download(
        req,
        res,
        { modelName, selector: { kind: "number", version: target.version }, path: target.path },
        MLFLOW_ERRORS,
      );
    }
    const refused = stagingReadRefusal(access.rights);
    if (refused) throw refused;
    const file = await stagedFile(access.reader, target.path);
    if (file === null) throw notFound(target.path);
    await sendStaged(req, res, file);
  }

  /**
   * A staged file's bytes: damage refused before any header, conditional requests answered as the
   * artifact routes answer them, the digest checked while streaming.
   */
  async function sendStaged(req: IncomingMessage, res: ServerResponse, file: StagedFile): Promise<void> {
    const blob = await blobs.stat(file.sha256);
    const damaged = blob === null || blob.size !== file.size || (await blobs.damage(file.sha256)) !== null;
    if (blob === null || damaged) {
      logger.error({ path: file.path, sha256: file.sha256 }, "artifact proxy file missing or damaged");
      throw new MlflowError(
        "INTERNAL_ERROR",
        `The stored bytes of '${file.path}' are missing or damaged (sha256 ${file.sha256}); upload the file again`,
      );
    }
    const etag = `"${file.sha256}"`;
    // A PUT replaces the file at this path, so a resumed download (If-Range) or a cached copy
    // (If-None-Match) is checked against the bytes there now. No Last-Modified is sent: a file
    // replaced within the same second would share it, so date conditions are ignored.
    const precondition = evaluatePreconditions(req.method ?? "GET", req.headers, {
      etag,
      lastModified: null,
    });
    if (precondition.outcome === "not-modified")
      return void res.writeHead(304, { etag, "cache-control": "no-cache" }).end();
    if (precondition.outcome === "failed")
      throw new MlflowError(
        "BAD_REQUEST",
        `${precondition.header} does not hold for the current '${file.path}' (ETag ${etag})`,
        412,
      );
    const range = precondition.range ? parseRange(headerOf(req, "range"), blob.size) : null;
    if (range === "unsatisfiable")
      throw new MlflowError("BAD_REQUEST", `The file has ${blob.size} bytes`, 416);
    const length = range ? range.end - range.start + 1 : blob.size;
    res.writeHead(range ? 206 : 200, {
      "content-type": guessMediaType(file.path, file.mediaType),
      "content-length": length,
      "content-disposition": contentDisposition(file.path),
      "accept-ranges": "bytes",
      etag,
      "cache-control": "no-cache",
      ...(range ? { "content-range": `bytes ${range.start}-${range.end}/${blob.size}` } : {}),
    });
    if (req.method === "HEAD" || blob.size === 0) return void res.end();
    const stream = await blobs.open(file.sha256, range ?? undefined);
    const whole = range === null || length === blob.size;
    if (whole) res.flushHeaders();
    const location = {
      model: "(MLflow artifact proxy)",
      version: 0,
      path: file.path,
      sha256: file.sha256,
      size: file.size,
    };
    try {
      if (whole)
        await pipeline(
          stream,
          digestCheck(file.sha256, (m) =>
            options.integrity.damaged(location, { actual: m.actual, size: m.size }, blob),
          ),
          res,
        );
      else await pipeline(stream, res);
    } catch (error) {
      if (error instanceof BlobDigestMismatchError) return;
      if (!res.destroyed) throw error;
    }
  }

  /** The caller's access when it may change `target`: staged files only, by who may register models. */
  function writerOf(req: IncomingMessage, target: ProxyPath) {
    if (target.kind !== "staged")
      throw new MlflowError(
        "PERMISSION_DENIED",
        `'${target.path}' is inside the read-only view of registered versions (_registro/)`,
      );
    const access = accessOf(req);
    const refused = stagingWriteRefusal(access.rights);
    if (refused) throw refused;
    return access;
  }

  async function upload(req: IncomingMessage, res: ServerResponse, target: ProxyPath): Promise<void> {
    const access = writerOf(req, target);
    const limit = Math.min(options.limits.maxArtifactBytes, options.limits.maxRequestBytes);
    const tooLarge = new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `The file exceeds the limit of ${limit} bytes`,
      413,
    );
    if (Number(headerOf(req, "content-length") ?? Number.NaN) > limit) throw tooLarge;
    const long = checkNewArtifactPath("path", target.path);
    if (long !== null) throw new MlflowError("INVALID_PARAMETER_VALUE", `Invalid path: ${long.message}`);
    const cannot = (clash: string) =>
      new MlflowError("INVALID_PARAMETER_VALUE", `Cannot write '${target.path}': ${clash}`);
    // Checked before the body, to spare the upload, and again where it is written.
    const clash = await stagedPathClash(db, target.path);
    if (clash !== null) throw cannot(clash);
    let checked = await stagedFile(access.reader, target.path);
    const refused = putPrecondition(req, target.path, checked);
    if (refused !== null) throw refused;
    const declared = headerOf(req, "content-type");
    const mediaType = guessMediaType(
      target.path,
      declared === null || checkMediaType("Content-Type", declared) !== null ? null : declared,
    );
    const busy = (message: string) => new MlflowError("TEMPORARILY_UNAVAILABLE", message).body;
    if (!options.uploads.acquire(req, res, busy)) return;
    let stored: StoredBlob | undefined;
    try {
      stored = await receiveBody(req, res, logger, { path: target.path, via: "mlflow-artifacts" }, (body) =>
        blobs.put(body, {
          maxBytes: limit,
          limitScope: limit === options.limits.maxArtifactBytes ? "artifact" : "request",
        }),
      );
    } catch (error) {
      if (error instanceof ArtifactTooLargeError) throw tooLarge;
      if (error instanceof DomainError) throw mlflowErrorOf(error);
      throw error;
    }
    if (stored === undefined) return;
    // The body may have taken minutes: the file is written as the caller is now (its token still
    // valid, its role as it is), or not at all; the stored bytes then wait for garbage collection.
    const caller = await authenticateAgain(req, res);
    if (caller === null) return;
    writerOf(req, target);
    const file = {
      path: target.path,
      sha256: stored.sha256,
      size: stored.size,
      mediaType,
      createdAt: new Date(),
      createdBy: caller.principal.id,
    };
    // A conditional PUT writes only over the file its preconditions were checked against (a
    // compare-and-set). When another PUT or a DELETE changed it while this body arrived, they are
    // checked again against the file there now: a file that still satisfies them (`If-Match: *`)
    // is replaced, else 412.
    const conditional = req.headers["if-match"] !== undefined || req.headers["if-none-match"] !== undefined;
    for (let attempt = 1; ; attempt++) {
      const write = await writeStagedFile(db, file, conditional ? (checked?.sha256 ?? null) : undefined);
      if (write.written) break;
      if (write.clash !== null) throw cannot(write.clash);
      checked = await stagedFile(access.reader, target.path);
      const changed = putPrecondition(req, target.path, checked);
      if (changed !== null) throw changed;
      if (attempt === MAX_WRITE_ATTEMPTS)
        throw new MlflowError(
          "BAD_REQUEST",
          `'${target.path}' kept changing while it was written; nothing was stored`,
          412,
        );
    }
    sendJson(res, 200, {});
  }

  async function remove(req: IncomingMessage, res: ServerResponse, target: ProxyPath): Promise<void> {
    writerOf(req, target);
    // A folder goes with everything in it, as MLflow's delete_artifacts does; a missing path is
    // not an error there either.
    for (;;) {
      const files = await stagedFilesUnder(db, target.path, MAX_LISTED);
      if (files.length === 0) break;
      for (const file of files) await deleteStagedFile(db, file.path);
    }
    sendJson(res, 200, {});
  }

  /** 405 with the `Allow` header RFC 9110 requires, as the MLflow RPC routes answer it. */
  const methodNotAllowed = (method: string, allow: string) =>
    new MlflowError("BAD_REQUEST", `${method} is not allowed here; use ${allow}`, 405, { allow });

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, rest: string): Promise<void> {
    const method = req.method ?? "GET";
    if (rest === "artifacts") {
      if (method !== "GET" && method !== "HEAD") throw methodNotAllowed(method, "GET, HEAD");
      // The raw query: URLSearchParams would keep a malformed escape (`%zz`) as text.
      const query = (req.url ?? "").split("#", 1)[0] ?? "";
      return list(req, res, query.includes("?") ? query.slice(query.indexOf("?") + 1) : "");
    }
    if (rest.startsWith("artifacts/")) {
      const raw = rest.slice("artifacts/".length);
      // MLflow's delete_artifacts() without a path names the repository's folder with a trailing
      // slash; everywhere else an empty last segment is refused like any other.
      const folder = method === "DELETE" && raw.endsWith("/") && !raw.endsWith("//");
      const target = decodeProxyPath(folder ? raw.slice(0, -1) : raw);
      if (method === "GET" || method === "HEAD") return download(req, res, target);
      if (method === "PUT") return upload(req, res, target);
      if (method === "DELETE") return remove(req, res, target);
      throw methodNotAllowed(method, "GET, HEAD, PUT, DELETE");
    }
    if (rest === "mpu" || rest.startsWith("mpu/"))
      throw new MlflowError(
        "ENDPOINT_NOT_FOUND",
        "Multipart uploads through the artifact proxy are not served: unset MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD",
      );
    throw new MlflowError("ENDPOINT_NOT_FOUND", `No API endpoint for ${method} ${url.pathname}`);
  }

  const route: Route = async (req, res, url) => {
    // The raw target: the server's URL has resolved dot segments already.
    const rawPath = (req.url ?? "/").split(/[?#]/, 1)[0] ?? "/";
    const prefix = ARTIFACT_PROXY_PREFIXES.find((p) => rawPath.startsWith(p));
    if (prefix === undefined) return false;
    try {
      await handle(req, res, url, rawPath.slice(prefix.length));
    } catch (error) {
      if (error instanceof MlflowError) sendError(req, res, error, error.headers);
      else {
        logger.error({ err: error, path: rawPath }, "MLflow artifact proxy request failed");
        if (res.headersSent) res.destroy();
        else sendError(req, res, new MlflowError("INTERNAL_ERROR", "internal error"));
      }
    }
    return true;
  };
  // The refusals the server answers itself (401, 421, 408) in MLflow's error body too.
  route.errorBody = (url, refusal) =>
    isArtifactProxyPath(url.pathname) ? mlflowRefusalOf(refusal).body : undefined;
  return route;
}
