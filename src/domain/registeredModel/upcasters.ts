// Old payloads are read through upcasters: for every event type, one pure function per schema
// version n that turns a version-n payload into a version-(n + 1) payload. A stored event is lifted
// step by step to its type's current version and only then validated against the current schema
// (eventSchemas.ts), so the current schema describes one shape and every historical difference is
// written down here, next to the version that introduced it.
import { EVENT_SCHEMA_VERSIONS } from "./events.ts";
import type { RegisteredModelEventType } from "./events.ts";

/** A stored payload as JSON, before validation: upcasters add or reshape fields, never trust them. */
export type StoredPayload = Readonly<Record<string, unknown>>;
export type Upcaster = (payload: StoredPayload) => StoredPayload;

/**
 * Version 1 of these types was written both with and without a field added later without a version
 * bump; version 2 always carries it. The step fills the field where a version-1 event lacks it.
 */
const withDefault =
  (field: string, value: unknown): Upcaster =>
  (payload) =>
    payload[field] === undefined ? { ...payload, [field]: value } : payload;

/** `UPCASTERS[type][n - 1]` upcasts version n to n + 1; a type at version 1 has none. */
export const UPCASTERS: { readonly [T in RegisteredModelEventType]: readonly Upcaster[] } = {
  // v2 (authentication) may name the creator, who manages the model; a v1 model has no creator
  // grant, so the step has nothing to add: an absent creatorId is valid at v2 too.
  RegisteredModelCreated: [(payload) => payload],
  RegisteredModelRenamed: [],
  RegisteredModelDescriptionUpdated: [],
  RegisteredModelTagSet: [],
  RegisteredModelTagDeleted: [],
  RegisteredModelDeleted: [],
  RegisteredModelRestored: [],
  RegisteredModelAliasSet: [],
  RegisteredModelAliasDeleted: [],
  ModelPermissionGranted: [],
  ModelPermissionRevoked: [],
  // Versions registered before uploads existed were complete when created.
  ModelVersionCreated: [withDefault("status", "READY")],
  ModelVersionDescriptionUpdated: [],
  ModelVersionTagSet: [],
  ModelVersionTagDeleted: [],
  ModelVersionMetricsLogged: [],
  // Before archiveExistingVersions recorded what it archived, transitions archived nothing.
  ModelVersionStageTransitioned: [withDefault("archived", [])],
  // Before deleting a version removed its aliases, it removed none.
  ModelVersionDeleted: [withDefault("removedAliases", [])],
  ModelVersionRestored: [],
  ModelVersionArtifactAdded: [],
  ModelVersionFinalized: [],
  // The reason came later; earlier failures have none.
  ModelVersionRegistrationFailed: [withDefault("reason", null)],
  ModelVersionArtifactInspected: [],
  ModelVersionSignatureSet: [],
  ModelVersionSafetyOverridden: [],
  ModelVersionCommentAdded: [],
  ModelVersionCommentEdited: [],
  ModelVersionCommentDeleted: [],
  ModelVersionDeployed: [],
  ModelVersionDeploymentRetired: [],
  ModelReviewPolicySet: [],
  ReviewRequestOpened: [],
  ReviewRequestApproved: [],
  ReviewRequestRejected: [],
  ReviewRequestCancelled: [],
  ReviewRequestApplied: [],
  ReviewRequestStaled: [],
  ReviewPolicyBypassed: [],
};

export type UpcastResult =
  { readonly ok: true; readonly payload: unknown } | { readonly ok: false; readonly reason: string };

/**
 * Lifts a stored payload of `type` at `schemaVersion` to the current version. Refuses a version
 * below 1 or above the current one (written by a newer registry: reading it with older rules
 * would silently drop what it added). A payload that is not an object is passed on unchanged for
 * the schema to reject.
 */
export function upcast(
  type: RegisteredModelEventType,
  schemaVersion: number,
  payload: unknown,
): UpcastResult {
  const current = EVENT_SCHEMA_VERSIONS[type];
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1)
    return { ok: false, reason: `schema version ${schemaVersion} is not a version (1, 2, …)` };
  if (schemaVersion > current)
    return {
      ok: false,
      reason: `schema version ${schemaVersion} is newer than this registry reads (${current}); it was written by a newer release: upgrade the registry`,
    };
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return { ok: true, payload };
  let lifted = payload as StoredPayload;
  for (const step of UPCASTERS[type].slice(schemaVersion - 1)) lifted = step(lifted);
  return { ok: true, payload: lifted };
}
