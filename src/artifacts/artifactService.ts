// The application side of artifacts: find the version an URL names, and record stored bytes as an
// artifact of a version through the one command runner. HTTP and GraphQL both go through here, so
// both get the same inspection: the stored bytes are inspected before the artifact is recorded, and
// the artifact and its inspection are appended in one decision (one transaction, two events).
import type { Readable } from "node:stream";
import { executeCommand } from "../application/executeCommand.ts";
import type { CommandDeps, CommandMetadata, CommandOutcome } from "../application/executeCommand.ts";
import type { Db } from "../db/database.ts";
import {
  checkNewArtifactPath,
  checkArtifactRole,
  checkMediaType,
  checkSha256,
  conflictingArtifactPath,
  defaultArtifactRole,
} from "../domain/artifacts.ts";
import type { ArtifactRole } from "../domain/artifacts.ts";
import {
  AlreadyExistsError,
  DomainError,
  InvalidStateError,
  NotFoundError,
  ValidationError,
} from "../domain/errors.ts";
import type { Stage, VersionStatus } from "../domain/registeredModel/events.ts";
import { checkStorableText, checkVersionNumber, firstError } from "../domain/validation.ts";
import { inspectionFromRow } from "../projections/modelVersionArtifacts/evolve.ts";
import type { ArtifactView } from "../projections/modelVersionArtifacts/evolve.ts";
import { MAX_INSPECTIONS_PER_COMMAND } from "../domain/registeredModel/rules/artifacts.ts";
import type { ArtifactInspector } from "./artifactInspector.ts";
import { artifactIntegrity } from "./blobIntegrity.ts";
import type { BlobStore, StoredBlob } from "./blobStore.ts";
import { guessMediaType } from "./mediaTypes.ts";

export interface ArtifactLimits {
  readonly maxArtifactBytes: number;
  readonly maxRequestBytes: number;
}

export interface ArtifactDeps {
  /** The app's command dependencies (resolved lazily: the app is built after its routes). */
  readonly commands: () => CommandDeps;
  readonly blobs: BlobStore;
  readonly limits: ArtifactLimits;
  readonly inspector: ArtifactInspector;
}

export type VersionSelector =
  | { readonly kind: "number"; readonly version: number }
  | { readonly kind: "alias"; readonly alias: string }
  | { readonly kind: "stage"; readonly stage: Stage };

export interface ResolvedVersion {
  readonly id: string;
  readonly modelId: string;
  readonly modelName: string;
  readonly version: number;
  readonly status: VersionStatus;
  readonly deleted: boolean;
  /**
   * When the model last changed (any event of its stream, alias moves and stage transitions
   * included): no earlier than the moment an alias or stage came to name this version.
   */
  readonly modelUpdatedAt: Date;
}

export function describeSelector(modelName: string, selector: VersionSelector): string {
  if (selector.kind === "number") return `${modelName} v${selector.version}`;
  if (selector.kind === "alias") return `${modelName}@${selector.alias}`;
  return `${modelName} in ${selector.stage}`;
}

/** The version of a live model that a number, alias or stage names (the newest, for a stage). */
export async function resolveVersion(
  db: Db,
  modelName: string,
  selector: VersionSelector,
): Promise<ResolvedVersion | NotFoundError | ValidationError> {
  // Names from URLs and inputs reach the database here: text it cannot hold is refused, not looked up.
  const invalid = firstError(
    checkStorableText("name", modelName),
    selector.kind === "alias" ? checkStorableText("alias", selector.alias) : null,
  );
  if (invalid) return invalid;
  const model = await db.registeredModel.findFirst({
    where: { name: modelName, deleted: false },
    select: { id: true, updatedAt: true },
  });
  if (model === null) return new NotFoundError("RegisteredModel", modelName);
  const select = { id: true, version: true, status: true, deleted: true } as const;
  const row =
    selector.kind === "number"
      ? await db.modelVersion.findUnique({
          where: { modelId_version: { modelId: model.id, version: selector.version } },
          select,
        })
      : selector.kind === "alias"
        ? (
            await db.modelAlias.findUnique({
              where: { modelId_alias: { modelId: model.id, alias: selector.alias } },
              select: { target: { select } },
            })
          )?.target
        : await db.modelVersion.findFirst({
            where: { modelId: model.id, stage: selector.stage, deleted: false },
            orderBy: { version: "desc" },
            select,
          });
  if (!row)
    return new NotFoundError(
      selector.kind === "alias" ? "ModelAlias" : "ModelVersion",
      describeSelector(modelName, selector),
    );
  return {
    id: row.id,
    modelId: model.id,
    modelName,
    version: row.version,
    status: row.status as VersionStatus,
    deleted: row.deleted,
    modelUpdatedAt: model.updatedAt,
  };
}

export interface ArtifactRecord extends ArtifactView {
  readonly modelName: string;
  readonly version: number;
}

export async function findArtifact(
  db: Db,
  version: ResolvedVersion,
  path: string,
): Promise<ArtifactRecord | NotFoundError | ValidationError> {
  const invalid = checkStorableText("path", path);
  if (invalid) return invalid;
  const row = await db.modelVersionArtifact.findUnique({
    where: { modelId_version_path: { modelId: version.modelId, version: version.version, path } },
  });
  if (row === null) return new NotFoundError("Artifact", `${version.modelName} v${version.version} ${path}`);
  return {
    modelId: row.modelId,
    path: row.path,
    role: row.role as ArtifactRole,
    size: Number(row.size),
    sha256: row.sha256,
    mediaType: row.mediaType,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    inspection: inspectionFromRow(row),
    modelName: version.modelName,
    version: version.version,
  };
}

export interface ArtifactUpload {
  readonly modelName: string;
  readonly version: number;
  readonly path: string;
  readonly role: string | null;
  /** As the client declared it; null or a generic type means "guess from the path". */
  readonly mediaType: string | null;
  readonly expectedSha256: string | null;
}

/** Everything about an upload that can be refused before a single byte is read. */
export async function precheckUpload(db: Db, upload: ArtifactUpload): Promise<DomainError | null> {
  const invalid = firstError(
    checkVersionNumber("version", upload.version),
    checkNewArtifactPath("path", upload.path),
    upload.role === null ? null : checkArtifactRole("role", upload.role),
    upload.mediaType === null ? null : checkMediaType("mediaType", upload.mediaType),
    upload.expectedSha256 === null ? null : checkSha256("sha256", upload.expectedSha256),
  );
  if (invalid) return invalid;
  const version = await resolveVersion(db, upload.modelName, { kind: "number", version: upload.version });
  if (version instanceof DomainError) return version;
  // The decider has the final word (inside the write transaction); these only spare a wasted upload.
  if (version.deleted)
    return new InvalidStateError(
      `version ${version.version} of ${upload.modelName} is deleted; restore it first`,
    );
  if (version.status !== "PENDING_REGISTRATION")
    return new InvalidStateError(
      `version ${version.version} is ${version.status} and accepts no more artifacts`,
    );
  const existing = await db.modelVersionArtifact.findMany({
    where: { modelId: version.modelId, version: version.version },
    select: { path: true },
  });
  const clash = conflictingArtifactPath(
    existing.map((a) => a.path),
    upload.path,
  );
  if (clash === upload.path)
    return new AlreadyExistsError("Artifact", `${upload.modelName} v${version.version} ${upload.path}`);
  return null;
}

export interface AttachedArtifact {
  readonly artifact: ArtifactRecord;
  readonly outcome: CommandOutcome;
}

/**
 * Records bytes already in the blob store as an artifact of a version: inspects them first, then
 * appends ModelVersionArtifactAdded with ModelVersionArtifactInspected (and ModelVersionSignatureSet
 * when the file declares a signature) in one command. Inspection never fails the upload.
 */
export async function attachArtifact(
  commands: CommandDeps,
  inspector: ArtifactInspector,
  target: { modelName: string; version: number; path: string; role: string | null; mediaType: string | null },
  blob: Pick<StoredBlob, "sha256" | "size">,
  metadata: CommandMetadata,
  expectedRevision?: number,
): Promise<AttachedArtifact | DomainError> {
  const role = (target.role ?? defaultArtifactRole(target.path)) as ArtifactRole;
  const mediaType = guessMediaType(target.path, target.mediaType);
  const inspection = await inspector.inspect(blob.sha256, target.path);
  const outcome = await executeCommand(
    commands,
    { kind: "live", name: target.modelName },
    {
      type: "AddModelVersionArtifact",
      data: {
        version: target.version,
        path: target.path,
        role,
        size: blob.size,
        sha256: blob.sha256,
        mediaType,
        inspection,
      },
    },
    metadata,
    expectedRevision,
  );
  if (outcome instanceof DomainError) return outcome;
  const view = outcome.views.artifacts.get(target.version)?.find((a) => a.path === target.path);
  if (view === undefined)
    throw new Error(`artifact ${target.path} missing from the projection after its event`);
  return { artifact: { ...view, modelName: target.modelName, version: target.version }, outcome };
}

/**
 * The artifact at `path` when it exists and its stored bytes are missing or known to be damaged:
 * an upload to it may restore them (healArtifact) instead of being refused as a duplicate.
 */
export async function findDamagedArtifact(
  db: Db,
  blobs: BlobStore,
  modelName: string,
  version: number,
  path: string,
): Promise<ArtifactRecord | null> {
  const resolved = await resolveVersion(db, modelName, { kind: "number", version });
  if (resolved instanceof DomainError) return null;
  const artifact = await findArtifact(db, resolved, path);
  if (artifact instanceof DomainError) return null;
  return (await artifactIntegrity(blobs, artifact)) === "OK" ? null : artifact;
}

/**
 * Stores bytes uploaded again for an artifact whose stored copy is damaged or missing. Only the
 * identical bytes are kept, replacing the damaged copy (which also clears its recorded damage).
 */
export async function healArtifact(
  deps: ArtifactDeps,
  artifact: ArtifactRecord,
  body: Readable | AsyncIterable<Uint8Array>,
): Promise<StoredBlob | DomainError> {
  try {
    return await deps.blobs.put(body, {
      expectedSha256: artifact.sha256,
      maxBytes: Math.min(deps.limits.maxArtifactBytes, deps.limits.maxRequestBytes),
      limitScope: deps.limits.maxArtifactBytes <= deps.limits.maxRequestBytes ? "artifact" : "request",
    });
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

/**
 * A PUT's body into the blob store (hashed, bounded), recording nothing yet: the route checks the
 * upload first (precheckUpload), authenticates the request again once the body is in (it may have
 * taken minutes), and only then records it (attachArtifact).
 */
export async function storeUploadBody(
  deps: ArtifactDeps,
  upload: ArtifactUpload,
  body: Readable | AsyncIterable<Uint8Array>,
): Promise<StoredBlob | DomainError> {
  try {
    return await deps.blobs.put(body, {
      ...(upload.expectedSha256 === null ? {} : { expectedSha256: upload.expectedSha256 }),
      keepLocalCopy: deps.inspector.enabled,
      maxBytes: Math.min(deps.limits.maxArtifactBytes, deps.limits.maxRequestBytes),
      limitScope: deps.limits.maxArtifactBytes <= deps.limits.maxRequestBytes ? "artifact" : "request",
    });
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

export interface ReinspectRequest {
  readonly modelName: string;
  readonly version: number;
  /** The artifacts to inspect again; null means all of the version's artifacts. */
  readonly paths: readonly string[] | null;
}

/**
 * Inspects a version's stored artifacts again (e.g. after a scanner upgrade) and appends a fresh
 * ModelVersionArtifactInspected for each. Allowed on any non-deleted version: inspection results
 * are not part of the frozen artifact set.
 */
export async function reinspectArtifacts(
  db: Db,
  commands: CommandDeps,
  inspector: ArtifactInspector,
  request: ReinspectRequest,
  metadata: CommandMetadata,
  expectedRevision?: number,
): Promise<CommandOutcome | DomainError> {
  if (!inspector.enabled)
    return new InvalidStateError("artifact inspection is switched off on this server (INSPECTION=off)");
  const invalid = checkVersionNumber("version", request.version);
  if (invalid) return invalid;
  if (request.paths !== null && request.paths.length > MAX_INSPECTIONS_PER_COMMAND)
    return new ValidationError("paths", `at most ${MAX_INSPECTIONS_PER_COMMAND} artifacts per call`);
  const badPath = firstError(
    ...(request.paths ?? []).map((path, i) => checkStorableText(`paths.${i}`, path)),
  );
  if (badPath) return badPath;
  const version = await resolveVersion(db, request.modelName, { kind: "number", version: request.version });
  if (version instanceof DomainError) return version;
  if (version.deleted)
    return new InvalidStateError(
      `version ${version.version} of ${request.modelName} is deleted; restore it first`,
    );
  const rows = await db.modelVersionArtifact.findMany({
    where: {
      modelId: version.modelId,
      version: version.version,
      ...(request.paths === null ? {} : { path: { in: [...request.paths] } }),
    },
    select: { path: true, sha256: true },
    orderBy: { path: "asc" },
  });
  const byPath = new Map(rows.map((r) => [r.path, r.sha256]));
  const selected = request.paths ?? rows.map((r) => r.path);
  if (selected.length === 0)
    return new InvalidStateError(`version ${version.version} of ${request.modelName} has no artifacts`);
  if (selected.length > MAX_INSPECTIONS_PER_COMMAND)
    return new ValidationError(
      "paths",
      `the version has ${selected.length} artifacts; name at most ${MAX_INSPECTIONS_PER_COMMAND} per call`,
    );
  for (const path of selected) {
    if (!byPath.has(path))
      return new NotFoundError("Artifact", `${request.modelName} v${version.version} ${path}`);
  }
  // Unique paths only (the decider would refuse duplicates anyway); the pool bounds the parallelism.
  const unique = [...new Set(selected)];
  const inspections = await Promise.all(
    unique.map(async (path) => {
      const sha256 = byPath.get(path)!;
      const outcome = await inspector.inspect(sha256, path);
      if (outcome === null) throw new Error("inspection is enabled but returned nothing");
      return { ...outcome, path, sha256 };
    }),
  );
  return executeCommand(
    commands,
    { kind: "live", name: request.modelName },
    { type: "InspectModelVersionArtifacts", data: { version: request.version, inspections } },
    metadata,
    expectedRevision,
  );
}
