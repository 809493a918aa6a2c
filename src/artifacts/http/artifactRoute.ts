// Plain-HTTP artifact transfer, usable with curl:
//   PUT  /artifacts/{model}/{version}/{path}     raw body -> blob store -> ModelVersionArtifactAdded
//   GET  /artifacts/{model}/{version}/{path}     also {model}@{alias}/{path} and {model}/{Stage}/{path}
//   HEAD the same, headers only
// The raw request target is parsed here (not the server's normalised URL), so `..` and `%2e%2e`
// reach the domain's path rules and are refused instead of being silently resolved away.
import type { IncomingMessage, ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import type { Database } from "../../db/database.ts";
import { checkArtifactPath } from "../../domain/artifacts.ts";
import { requestAccess, writeRefusal } from "../../access/scopedReader.ts";
import type { AccessPolicy } from "../../access/modelAccess.ts";
import { AlreadyExistsError, DomainError, NotFoundError, ValidationError } from "../../domain/errors.ts";
import { STAGES } from "../../domain/registeredModel/events.ts";
import {
  checkAlias,
  checkStorableText,
  looksLikeVersionNumber,
  parseVersionSegment,
} from "../../domain/validation.ts";
import { authenticateAgain, callerOf } from "../../http/requestCaller.ts";
import { requestMetadata } from "../../http/requestMetadata.ts";
import type { Route } from "../../http/server.ts";
import { sendJson } from "../../http/server.ts";
import type { UploadSlots } from "../../http/uploadSlots.ts";
import {
  attachArtifact,
  findArtifact,
  findDamagedArtifact,
  healArtifact,
  precheckUpload,
  resolveVersion,
  storeUploadBody,
} from "../artifactService.ts";
import type { ArtifactDeps, ArtifactRecord, ArtifactUpload, VersionSelector } from "../artifactService.ts";
import { BlobDigestMismatchError, digestCheck } from "../blobIntegrity.ts";
import type { IntegrityMonitor } from "../blobIntegrity.ts";
import { artifactRepresentation } from "../artifactRepresentation.ts";
import { ARTIFACTS_PREFIX } from "../downloadUrl.ts";
import { ArtifactTooLargeError } from "../errors.ts";
import { sendDomainError, sendError } from "./httpErrors.ts";
import { evaluatePreconditions } from "./preconditions.ts";
import { announcedSha256, parseRange } from "./transferHeaders.ts";

export interface Target {
  readonly modelName: string;
  readonly selector: VersionSelector;
  readonly path: string;
}

const decode = (raw: string, field: string): string | ValidationError => {
  try {
    return decodeURIComponent(raw);
  } catch {
    return new ValidationError(field, "is not valid percent-encoded UTF-8");
  }
};

/** Parses the raw path after `/artifacts/`; a literal (unencoded) '@' in the first segment starts an alias. */
export function parseArtifactTarget(rawPath: string): Target | DomainError {
  const rest = rawPath.slice(ARTIFACTS_PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return new NotFoundError("Artifact", rawPath);
  const rawModel = rest.slice(0, slash);
  let rawArtifactPath = rest.slice(slash + 1);
  let selector: VersionSelector;
  let modelName: string | ValidationError;
  const at = rawModel.lastIndexOf("@");
  if (at >= 0) {
    modelName = decode(rawModel.slice(0, at), "model");
    const alias = decode(rawModel.slice(at + 1), "alias");
    if (alias instanceof ValidationError) return alias;
    const invalid = checkAlias("alias", alias);
    if (invalid) return new NotFoundError("ModelAlias", alias);
    selector = { kind: "alias", alias };
  } else {
    modelName = decode(rawModel, "model");
    const next = rawArtifactPath.indexOf("/");
    if (next <= 0) return new NotFoundError("Artifact", rawPath);
    // Decoded like every other segment (`%31` is version 1), and one spelling per version.
    const selectorText = decode(rawArtifactPath.slice(0, next), "version");
    if (selectorText instanceof ValidationError) return selectorText;
    rawArtifactPath = rawArtifactPath.slice(next + 1);
    const stage = STAGES.find((s) => s.toLowerCase() === selectorText.toLowerCase());
    if (looksLikeVersionNumber(selectorText)) {
      const version = parseVersionSegment("version", selectorText);
      if (version instanceof ValidationError) return version;
      selector = { kind: "number", version };
    } else if (stage !== undefined) {
      selector = { kind: "stage", stage };
    } else {
      return new NotFoundError("ModelVersion", `'${selectorText}' (a version number, an @alias or a stage)`);
    }
  }
  if (modelName instanceof ValidationError) return modelName;
  // No model name holds a '/': an encoded one would not name a model, it would move the segments.
  if (modelName.includes("/")) return new ValidationError("model", "must not contain '/' (nor %2F)");
  const path = decode(rawArtifactPath, "path");
  if (path instanceof ValidationError) return path;
  const invalidPath = checkArtifactPath("path", path);
  if (invalidPath) return invalidPath;
  return { modelName, selector, path };
}

const headerOf = (req: IncomingMessage, name: string): string | null => {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
};

const etagOf = (sha256: string) => `"${sha256}"`;

/**
 * A PUT's If-Match and If-None-Match against the artifact at its path (RFC 9110 §13.1.1, §13.1.2),
 * checked before the body is read: with none there, If-Match (even `*`) does not hold; with one
 * there, If-None-Match `*` (or naming its ETag) does not. Null when the upload may go on, and when
 * the version cannot take it anyway: that 404 or 409 is the upload's answer, not a 412.
 */
async function putPreconditionFailure(
  req: IncomingMessage,
  reader: Parameters<typeof resolveVersion>[0],
  target: Target & { readonly selector: { readonly kind: "number" } },
): Promise<string | null> {
  if (req.headers["if-match"] === undefined && req.headers["if-none-match"] === undefined) return null;
  const version = await resolveVersion(reader, target.modelName, target.selector);
  if (version instanceof DomainError || version.deleted) return null;
  const artifact = await findArtifact(reader, version, target.path);
  if (artifact instanceof DomainError)
    return req.headers["if-match"] === undefined || version.status !== "PENDING_REGISTRATION"
      ? null
      : `If-Match does not hold: ${target.modelName} v${version.version} has no artifact ${target.path}`;
  const etag = etagOf(artifact.sha256);
  const precondition = evaluatePreconditions("PUT", req.headers, { etag, lastModified: null });
  return precondition.outcome === "failed"
    ? `${precondition.header} does not hold for the current ${target.path} (ETag ${etag})`
    : null;
}

export function contentDisposition(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export interface ArtifactRouteOptions extends ArtifactDeps {
  readonly db: Database;
  readonly logger: Logger;
  /** Logs, counts and records damaged bytes that downloads find. */
  readonly integrity: IntegrityMonitor;
  /** Caps concurrent uploads (PUT) per client and in total. */
  readonly uploads: UploadSlots;
  /** Who may read and write which model (the default permission). */
  readonly accessPolicy: AccessPolicy;
  /**
   * Answer GETs with a redirect to a presigned URL of the store valid this many seconds, so the
   * bytes need not pass through the server (stores that have no URLs ignore it).
   */
  readonly presignedDownloadSeconds?: number | null;
  /**
   * Told of every download whose response finished (200 or 206, body handed to the network in
   * full): usage counting (src/usage). Aborted and HEAD requests, and 304s, are not downloads.
   */
  readonly onDownloaded?: (download: {
    readonly modelId: string;
    readonly version: number;
    readonly path: string;
    readonly consumerId: string;
    readonly bytes: number;
  }) => void;
}

/**
 * How a download's refusals are written: the artifact routes answer Registro's JSON errors, MLflow's
 * artifact proxy answers MLflow's error body from the same refusals.
 */
export interface TransferErrors {
  readonly domain: (req: IncomingMessage, res: ServerResponse, error: DomainError) => void;
  readonly other: (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: { readonly error: { readonly code: string; readonly message: string; readonly sha256?: string } },
    headers?: Record<string, string>,
  ) => void;
}

const REGISTRO_ERRORS: TransferErrors = { domain: sendDomainError, other: sendError };

/** Serves (GET) or describes (HEAD) one artifact of a version, as the caller may see it. */
export type ArtifactDownload = (
  req: IncomingMessage,
  res: ServerResponse,
  target: Target,
  errors?: TransferErrors,
) => Promise<void>;

/**
 * The one download path of artifacts: access through the caller's scoped reader, damage refused
 * before any header, conditional and range requests, presigned redirects, the digest checked while
 * streaming, and usage counting. The artifact routes and MLflow's artifact proxy both serve through it.
 */
export function artifactDownload(options: ArtifactRouteOptions): ArtifactDownload {
  const { db, blobs, logger, integrity } = options;
  return async function download(req, res, target, errors = REGISTRO_ERRORS): Promise<void> {
    const sendDomainError = errors.domain;
    const sendError = errors.other;
    const { reader } = requestAccess(db.reader, options.accessPolicy, callerOf(req));
    const version = await resolveVersion(reader, target.modelName, target.selector);
    if (version instanceof DomainError) return sendDomainError(req, res, version);
    if (version.deleted)
      return sendDomainError(
        req,
        res,
        new NotFoundError("ModelVersion", `${target.modelName} v${version.version} (deleted)`),
      );
    const artifact = await findArtifact(reader, version, target.path);
    if (artifact instanceof DomainError) return sendDomainError(req, res, artifact);
    const location = {
      model: target.modelName,
      version: version.version,
      path: target.path,
      sha256: artifact.sha256,
      size: artifact.size,
    };
    const blob = await blobs.stat(artifact.sha256);
    if (blob === null) {
      logger.error(location, "artifact blob missing");
      return sendError(req, res, 500, {
        error: {
          code: "BLOB_MISSING",
          message: `the bytes of ${target.path} are missing from storage; run npm run verify, then upload the identical file again (PUT to this URL) to restore them`,
          sha256: artifact.sha256,
        },
      });
    }
    // Damage that is known, or visible from the size alone, is refused before any header is sent.
    let damaged = (await blobs.damage(artifact.sha256)) !== null;
    if (!damaged && blob.size !== artifact.size) {
      await integrity.damaged(location, { actual: null, size: blob.size }, blob);
      damaged = true;
    }
    if (damaged) {
      logger.warn(location, "refused to serve a corrupt artifact");
      return sendError(req, res, 500, {
        error: {
          code: "BLOB_CORRUPT",
          message: `the stored bytes of ${target.path} are damaged (they no longer match sha256 ${artifact.sha256}); run npm run verify, then upload the identical file again (PUT to this URL) to heal them`,
          sha256: artifact.sha256,
        },
      });
    }
    const etag = etagOf(artifact.sha256);
    // A version's artifact never changes; an alias or a stage may come to name another version,
    // which the model's last change dates (a rollback may name an older file).
    const lastModified =
      target.selector.kind === "number" || version.modelUpdatedAt < artifact.createdAt
        ? artifact.createdAt
        : version.modelUpdatedAt;
    const headers: Record<string, string | number> = {
      etag,
      "repr-digest": `sha-256=:${Buffer.from(artifact.sha256, "hex").toString("base64")}:`,
      "accept-ranges": "bytes",
      "last-modified": lastModified.toUTCString(),
      // An alias or stage may move to another version: clients revalidate (cheaply, by ETag).
      "cache-control": "no-cache",
      "x-artifact-version": String(version.version),
      "x-artifact-role": artifact.role,
    };
    const precondition = evaluatePreconditions(req.method ?? "GET", req.headers, { etag, lastModified });
    if (precondition.outcome === "not-modified") {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    if (precondition.outcome === "failed")
      return sendError(req, res, 412, {
        error: {
          code: "PRECONDITION_FAILED",
          message: `${precondition.header} does not hold for the current ${target.path} (ETag ${etag})`,
        },
      });
    const range = precondition.range ? parseRange(headerOf(req, "range"), blob.size) : null;
    if (range === "unsatisfiable") {
      return sendError(
        req,
        res,
        416,
        { error: { code: "RANGE_NOT_SATISFIABLE", message: `the artifact has ${blob.size} bytes` } },
        { "content-range": `bytes */${blob.size}` },
      );
    }
    const presignFor = options.presignedDownloadSeconds ?? null;
    if (presignFor !== null && req.method === "GET" && blob.size > 0) {
      // Access, damage records and conditional requests were answered above; the store serves the
      // bytes (and the client's Range) itself. The digest check while streaming is then the
      // client's: the ETag and Repr-Digest say what to expect.
      const url = await blobs.presignDownload(artifact.sha256, {
        expiresInSeconds: presignFor,
        contentType: artifact.mediaType,
        contentDisposition: contentDisposition(artifact.path),
      });
      if (url !== null) {
        res.writeHead(307, { ...headers, location: url, "cache-control": "no-store", "content-length": 0 });
        const onDownloaded = options.onDownloaded;
        // Counted when handed out: what the client then fetches from the store is not seen here.
        if (onDownloaded !== undefined)
          onDownloaded({
            modelId: version.modelId,
            version: version.version,
            path: artifact.path,
            consumerId: callerOf(req).principal.id,
            bytes: range ? range.end - range.start + 1 : blob.size,
          });
        res.end();
        return;
      }
    }
    Object.assign(headers, {
      "content-type": artifact.mediaType,
      "content-disposition": contentDisposition(artifact.path),
      "content-length": range ? range.end - range.start + 1 : blob.size,
      ...(range ? { "content-range": `bytes ${range.start}-${range.end}/${blob.size}` } : {}),
    });
    res.writeHead(range ? 206 : 200, headers);
    const onDownloaded = options.onDownloaded;
    if (onDownloaded !== undefined && req.method === "GET") {
      // 'finish' fires only once the whole body was handed to the OS, never for a transfer cut short.
      const bytes = range ? range.end - range.start + 1 : blob.size;
      const consumerId = callerOf(req).principal.id;
      res.once("finish", () =>
        onDownloaded({
          modelId: version.modelId,
          version: version.version,
          path: artifact.path,
          consumerId,
          bytes,
        }),
      );
    }
    if (req.method === "HEAD" || blob.size === 0) {
      res.end();
      return;
    }
    const stream = await blobs.open(artifact.sha256, range ?? undefined);
    // Whenever every byte is read, the digest can be checked before the last of them is sent. The
    // headers go out first even when the whole body is one held-back chunk, so that a client whose
    // download is cut short sees a truncated body, not a connection closed without an answer.
    const whole = range === null || (range.start === 0 && range.end === blob.size - 1);
    if (whole) res.flushHeaders();
    try {
      if (whole) {
        const check = digestCheck(artifact.sha256, (mismatch) =>
          integrity.damaged(location, { actual: mismatch.actual, size: mismatch.size }, blob),
        );
        await pipeline(stream, check, res);
      } else await pipeline(stream, res);
    } catch (error) {
      // Recorded already; pipeline() has destroyed the response mid-body, so the client sees a
      // truncated transfer.
      if (error instanceof BlobDigestMismatchError) return;
      // A client that hangs up mid-download is routine, not an error.
      if (!res.destroyed) throw error;
      logger.debug({ err: error, path: target.path }, "download aborted by the client");
    }
  };
}

/**
 * Streams the request body into `store`; undefined when the client hung up (nothing is stored).
 * The blob store destroys its source on failure, but the request's socket is still needed for
 * the reply, so the store reads through a pass-through that is detached afterwards.
 */
export async function receiveBody<T>(
  req: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
  /** Logged when the client hangs up. */
  target: Readonly<Record<string, unknown>>,
  store: (body: PassThrough) => Promise<T>,
): Promise<T | undefined> {
  const body = new PassThrough({ highWaterMark: 1024 * 1024 });
  // A client may hang up while the store still awaits its checks, before it listens to `body`:
  // an error event without a listener would kill the process. The store still sees the failure
  // (pipeline() rejects on an already-errored source).
  body.on("error", () => undefined);
  const aborted = () => {
    if (!req.complete) body.destroy(new Error("the client aborted the upload"));
  };
  req.once("close", aborted);
  req.pipe(body);
  try {
    return await store(body);
  } catch (error) {
    // A request read to its end is destroyed too (auto-destroy): only one cut short, or a response
    // that cannot be written any more, means the client is gone. A store that failed after the
    // whole body arrived (a bucket that went down) still gets its answer.
    if ((req.destroyed && !req.complete) || res.destroyed) {
      logger.info(target, "upload aborted by the client; nothing stored");
      return undefined;
    }
    throw error;
  } finally {
    req.off("close", aborted);
    req.unpipe(body);
  }
}

export function artifactRoute(options: ArtifactRouteOptions): Route {
  const { db, blobs, logger } = options;
  const download = artifactDownload(options);

  /** The request's view of the database: a model it may not read does not exist for it. */
  const accessOf = (req: IncomingMessage) => requestAccess(db.reader, options.accessPolicy, callerOf(req));

  /**
   * A PUT to an artifact whose stored bytes are damaged or missing: the identical bytes restore
   * them. Nothing is recorded (the log already names these bytes); anything else is refused.
   */
  async function heal(
    req: IncomingMessage,
    res: ServerResponse,
    artifact: ArtifactRecord,
    announced: string | null,
  ): Promise<void> {
    const key = `${artifact.modelName} v${artifact.version} ${artifact.path}`;
    if (announced !== null && announced !== artifact.sha256)
      return sendDomainError(req, res, new AlreadyExistsError("Artifact", key));
    const target = { model: artifact.modelName, path: artifact.path };
    const healed = await receiveBody(req, res, logger, target, (body) =>
      healArtifact(options, artifact, body),
    );
    if (healed === undefined) return;
    if (healed instanceof DomainError) return sendDomainError(req, res, healed);
    logger.warn(
      { model: artifact.modelName, version: artifact.version, path: artifact.path, sha256: artifact.sha256 },
      "artifact bytes restored by an upload of the identical file",
    );
    const json = await artifactRepresentation(artifact, blobs);
    sendJson(res, 200, { artifact: json, healed: true }, { location: json.downloadUrl });
  }

  async function upload(req: IncomingMessage, res: ServerResponse, target: Target): Promise<void> {
    if (target.selector.kind !== "number")
      return sendDomainError(req, res, new ValidationError("version", "uploads address a version by number"));
    const expected = announcedSha256(headerOf(req, "content-digest"), headerOf(req, "x-checksum-sha256"));
    if (expected instanceof DomainError) return sendDomainError(req, res, expected);
    const limit = Math.min(options.limits.maxArtifactBytes, options.limits.maxRequestBytes);
    const declaredLength = Number(headerOf(req, "content-length") ?? Number.NaN);
    if (declaredLength > limit)
      return sendDomainError(
        req,
        res,
        new ArtifactTooLargeError(limit, limit === options.limits.maxArtifactBytes ? "artifact" : "request"),
      );
    // Before a byte is stored: refused callers must not fill the blob store. The command checks
    // again, atomically, when it records the artifact.
    const access = accessOf(req);
    const unstorable = checkStorableText("name", target.modelName);
    if (unstorable) return sendDomainError(req, res, unstorable);
    const refusal = await writeRefusal(access, target.modelName, "uploading an artifact");
    if (refusal) return sendDomainError(req, res, refusal);
    const failed = await putPreconditionFailure(req, access.reader, { ...target, selector: target.selector });
    if (failed !== null)
      return sendError(req, res, 412, { error: { code: "PRECONDITION_FAILED", message: failed } });
    if (!options.uploads.acquire(req, res)) return;
    const version = target.selector.version;
    const damaged = await findDamagedArtifact(access.reader, blobs, target.modelName, version, target.path);
    if (damaged !== null) return heal(req, res, damaged, expected);
    const upload: ArtifactUpload = {
      modelName: target.modelName,
      version,
      path: target.path,
      // As GraphQL names it (MODEL) or lowercase (model): roles are matched case-insensitively.
      role: headerOf(req, "x-artifact-role")?.toLowerCase() ?? null,
      mediaType: headerOf(req, "content-type"),
      expectedSha256: expected,
    };
    const refused = await precheckUpload(access.reader, upload);
    if (refused) return sendDomainError(req, res, refused);
    const blob = await receiveBody(req, res, logger, { path: target.path, model: target.modelName }, (body) =>
      storeUploadBody(options, upload, body),
    );
    if (blob === undefined) return;
    if (blob instanceof DomainError) return sendDomainError(req, res, blob);
    // The body may have taken minutes: the artifact is recorded as the caller is now (its token
    // still valid, its role and teams as they are), or not at all. Bytes already stored stay
    // unreferenced, as those of any upload refused after its body, until garbage collection.
    const caller = await authenticateAgain(req, res);
    if (caller === null) return;
    const current = requestAccess(db.reader, options.accessPolicy, caller);
    const metadata = {
      ...requestMetadata({ get: (name) => headerOf(req, name.toLowerCase()) }, caller),
      rights: current.rights,
    };
    const result = await attachArtifact(options.commands(), options.inspector, upload, blob, metadata);
    if (result instanceof DomainError) return sendDomainError(req, res, result);
    const json = await artifactRepresentation(result.artifact, blobs);
    sendJson(
      res,
      201,
      {
        artifact: json,
        // The version's signature after this upload (an inspected file may have provided it).
        signature: result.outcome.views.versions.get(result.artifact.version)?.signature ?? null,
        positions: result.outcome.events.map((e) => e.position),
        position: result.outcome.events.at(-1)?.position ?? null,
      },
      { location: json.downloadUrl },
    );
  }

  return async (req, res) => {
    const rawPath = (req.url ?? "/").split(/[?#]/, 1)[0] ?? "/";
    if (!rawPath.startsWith(ARTIFACTS_PREFIX)) return false;
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "HEAD" && method !== "PUT") {
      sendError(
        req,
        res,
        405,
        { error: { code: "METHOD_NOT_ALLOWED", message: `${method} is not supported here` } },
        { allow: "GET, HEAD, PUT" },
      );
      return true;
    }
    const target = parseArtifactTarget(rawPath);
    if (target instanceof DomainError) {
      sendDomainError(req, res, target);
      return true;
    }
    await (method === "PUT" ? upload(req, res, target) : download(req, res, target));
    return true;
  };
}
