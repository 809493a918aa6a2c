// Event JSON read back from the store is validated here, never trusted blindly. Each schema is the
// current version of its payload only: older versions are first lifted to it by the upcasters
// (upcasters.ts), so a field missing from a current-version event is damage, not an old default.
import { z } from "zod";
import { COMMENT_EVENT_SCHEMAS } from "../../comments/domain/eventSchemas.ts";
import { DEPLOYMENT_EVENT_SCHEMAS } from "../../deployments/domain/eventSchemas.ts";
import { REVIEW_DATA_SCHEMAS } from "../../reviews/domain/eventSchemas.ts";
import { ARTIFACT_ROLES } from "../artifacts.ts";
import { SEVERITIES, SIGNATURE_SOURCES, VERDICTS } from "../inspection.ts";
import { GRANTEE_KINDS, MODEL_PERMISSIONS } from "../modelPermissions.ts";
import { STAGES, VERSION_STATUSES } from "./events.ts";
import type { RegisteredModelEvent, RegisteredModelEventType } from "./events.ts";
import { upcast } from "./upcasters.ts";

const tags = z.record(z.string(), z.string());
const version = z.number().int().positive();
const stage = z.enum(STAGES);
const permission = z.enum(MODEL_PERMISSIONS);
const grantee = z.object({ kind: z.enum(GRANTEE_KINDS), id: z.string() });
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const tensorSpec = z.object({
  name: z.string(),
  dtype: z.string().nullable(),
  shape: z.array(z.union([z.number().int(), z.string()])).nullable(),
});
const signature = z.object({ inputs: z.array(tensorSpec), outputs: z.array(tensorSpec) });

const dataSchemas = {
  // creatorId came with schema version 2 (authentication) and is absent when no principal created it.
  RegisteredModelCreated: z.object({
    modelId: z.string(),
    name: z.string(),
    description: z.string(),
    tags,
    creatorId: z.string().optional(),
  }),
  RegisteredModelRenamed: z.object({ from: z.string(), to: z.string() }),
  RegisteredModelDescriptionUpdated: z.object({ description: z.string() }),
  RegisteredModelTagSet: z.object({ key: z.string(), value: z.string() }),
  RegisteredModelTagDeleted: z.object({ key: z.string() }),
  RegisteredModelDeleted: z.object({ name: z.string() }),
  RegisteredModelRestored: z.object({ name: z.string() }),
  RegisteredModelAliasSet: z.object({ alias: z.string(), version, previousVersion: version.nullable() }),
  RegisteredModelAliasDeleted: z.object({ alias: z.string(), version }),
  ModelPermissionGranted: z.object({ grantee, permission, previous: permission.nullable() }),
  ModelPermissionRevoked: z.object({ grantee, permission }),
  ModelVersionCreated: z.object({
    version,
    source: z.string(),
    runId: z.string().nullable(),
    description: z.string(),
    tags,
    params: z.record(z.string(), z.unknown()),
    metrics: z.record(z.string(), z.number()),
    status: z.enum(VERSION_STATUSES),
  }),
  ModelVersionDescriptionUpdated: z.object({ version, description: z.string() }),
  ModelVersionTagSet: z.object({ version, key: z.string(), value: z.string() }),
  ModelVersionTagDeleted: z.object({ version, key: z.string() }),
  ModelVersionMetricsLogged: z.object({ version, metrics: z.record(z.string(), z.number()) }),
  ModelVersionStageTransitioned: z.object({
    version,
    from: stage,
    to: stage,
    comment: z.string().nullable(),
    archived: z.array(z.object({ version, from: stage })),
  }),
  ModelVersionDeleted: z.object({ version, removedAliases: z.array(z.string()) }),
  ModelVersionRestored: z.object({ version }),
  ModelVersionArtifactAdded: z.object({
    version,
    path: z.string().min(1),
    role: z.enum(ARTIFACT_ROLES),
    size: z.number().int().nonnegative(),
    sha256,
    mediaType: z.string(),
  }),
  ModelVersionFinalized: z.object({ version }),
  ModelVersionRegistrationFailed: z.object({ version, reason: z.string().nullable() }),
  ModelVersionArtifactInspected: z.object({
    version,
    path: z.string().min(1),
    sha256,
    format: z.string(),
    formatVersion: z.string().nullable(),
    producer: z.object({ framework: z.string().nullable(), version: z.string().nullable() }).nullable(),
    metadata: z.record(z.string(), z.unknown()),
    verdict: z.enum(VERDICTS),
    findings: z.array(
      z.object({ severity: z.enum(SEVERITIES), message: z.string(), location: z.string().nullable() }),
    ),
    inspector: z.object({ version: z.string() }),
  }),
  ModelVersionSignatureSet: z.object({
    version,
    signature,
    source: z.enum(SIGNATURE_SOURCES),
    path: z.string().nullable(),
  }),
  ModelVersionSafetyOverridden: z.object({
    version,
    reason: z.string(),
    verdicts: z.array(z.object({ path: z.string(), verdict: z.enum(VERDICTS).nullable() })),
    total: z.number().int().nonnegative(),
    action: z.enum(["TRANSITION", "ALIAS"]),
  }),
  ...COMMENT_EVENT_SCHEMAS,
  ...DEPLOYMENT_EVENT_SCHEMAS,
  ...REVIEW_DATA_SCHEMAS,
} satisfies Record<RegisteredModelEventType, z.ZodType>;

export class CorruptEventError extends Error {
  constructor(
    readonly type: string,
    readonly schemaVersion: number,
    readonly issues: string,
  ) {
    super(`stored event ${type} (schema ${schemaVersion}) does not match its schema: ${issues}`);
    this.name = "CorruptEventError";
  }
}

export function isRegisteredModelEventType(type: string): type is RegisteredModelEventType {
  return Object.hasOwn(dataSchemas, type);
}

/**
 * Parses a stored payload of any version into a current domain event, through the upcasters, or
 * throws CorruptEventError: the log is damaged, or was written by a newer release.
 */
export function parseRegisteredModelEvent(
  type: string,
  schemaVersion: number,
  data: unknown,
): RegisteredModelEvent {
  if (!isRegisteredModelEventType(type))
    throw new CorruptEventError(type, schemaVersion, "unknown event type");
  const lifted = upcast(type, schemaVersion, data);
  if (!lifted.ok) throw new CorruptEventError(type, schemaVersion, lifted.reason);
  const result = dataSchemas[type].safeParse(lifted.payload);
  if (!result.success) throw new CorruptEventError(type, schemaVersion, result.error.message);
  return { type, data: result.data } as RegisteredModelEvent;
}
