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
  // Versions registered before uploads existed were complete when created. Version 3 leaves out
  // the fields at their default (OMITTED_DEFAULTS); a version-2 payload carries every one.
  ModelVersionCreated: [withDefault("status", "READY"), (payload) => payload],
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
  let lifted = withDefaultsRestored(type, schemaVersion, payload as StoredPayload);
  for (const step of UPCASTERS[type].slice(schemaVersion - 1)) lifted = step(lifted);
  return { ok: true, payload: lifted };
}

/**
 * Fields a payload leaves out while they hold their default, from the schema version `since` on:
 * a version registered with nothing but a source is most versions, and its event then stores only
 * `version` and `source` (the event row is most of a version's bytes on disk). The hash covers the
 * payload as stored, so a reader puts the defaults back only to decide and project, never to hash.
 */
interface OmittedDefaults {
  readonly since: number;
  /** An empty object here is created afresh for every payload read without the field. */
  readonly defaults: Readonly<Record<string, DefaultValue>>;
}
type DefaultValue = null | string | Readonly<Record<string, never>>;

export const OMITTED_DEFAULTS: { readonly [T in RegisteredModelEventType]?: OmittedDefaults } = {
  ModelVersionCreated: {
    since: 3,
    defaults: { runId: null, description: "", tags: {}, params: {}, metrics: {}, status: "READY" },
  },
};

const isEmptyObject = (value: unknown): boolean =>
  typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;

const holdsDefault = (value: unknown, fallback: DefaultValue): boolean =>
  typeof fallback === "object" && fallback !== null ? isEmptyObject(value) : value === fallback;

/**
 * The payload as an event of `type` at `schemaVersion` stores it: without the fields that hold
 * their default when that version leaves them out, otherwise unchanged (the same object).
 */
export function storedPayload(type: string, schemaVersion: number, data: unknown): unknown {
  const omitted = Object.hasOwn(OMITTED_DEFAULTS, type)
    ? OMITTED_DEFAULTS[type as RegisteredModelEventType]
    : undefined;
  if (omitted === undefined || schemaVersion < omitted.since) return data;
  if (typeof data !== "object" || data === null || Array.isArray(data)) return data;
  // Built with fromEntries, which defines each field: a key such as `__proto__` stays a field.
  return Object.fromEntries(
    Object.entries(data).filter(
      ([field, value]) =>
        !Object.hasOwn(omitted.defaults, field) || !holdsDefault(value, omitted.defaults[field] ?? null),
    ),
  );
}

/** A stored payload with the fields its version left out put back at their defaults. */
function withDefaultsRestored(
  type: RegisteredModelEventType,
  schemaVersion: number,
  payload: StoredPayload,
): StoredPayload {
  const omitted = OMITTED_DEFAULTS[type];
  if (omitted === undefined || schemaVersion < omitted.since) return payload;
  const missing = Object.entries(omitted.defaults).filter(([field]) => !Object.hasOwn(payload, field));
  if (missing.length === 0) return payload;
  return {
    ...payload,
    ...Object.fromEntries(
      missing.map(([field, fallback]) => [
        field,
        typeof fallback === "object" && fallback !== null ? {} : fallback,
      ]),
    ),
  };
}
