// The decision state of a model stream and how each event changes it.
//
// `versions` may be partial: the application loads only the versions a command needs (see
// `stateNeeds` in decide.ts) from the projection, so a command costs the same on a model with ten
// versions as on one with ten thousand. Folding the full stream yields the complete state; both
// must lead `decide` to the same answer, which the unit tests check.
import { evolveComments } from "../../comments/domain/state.ts";
import type { Comments } from "../../comments/domain/state.ts";
import { evolveDeployments } from "../../deployments/domain/state.ts";
import type { Deployments } from "../../deployments/domain/state.ts";
import type { Verdict, VersionSignature } from "../inspection.ts";
import { creatorGrants, granteeKey } from "../modelPermissions.ts";
import type { Grants } from "../modelPermissions.ts";
import { evolveReviews, initialReviewState } from "../../reviews/domain/state.ts";
import type { ReviewState } from "../../reviews/domain/state.ts";
import type { Metrics, RegisteredModelEvent, Stage, Tags, VersionStatus } from "./events.ts";

/** What the rules need to know about one artifact: where it is, its bytes, and its latest verdict. */
export interface ArtifactState {
  readonly path: string;
  readonly sha256: string;
  /** Verdict of the latest inspection; null when it was never inspected (gated like UNSCANNABLE). */
  readonly verdict: Verdict | null;
}

export interface VersionState {
  readonly version: number;
  readonly stage: Stage;
  readonly status: VersionStatus;
  readonly deleted: boolean;
  /** Description and latest metric values: a command that repeats them changes nothing. */
  readonly description: string;
  readonly metrics: Metrics;
  readonly tags: Tags;
  /** The version's artifacts, in the order they were added. */
  readonly artifacts: readonly ArtifactState[];
  /** The current signature, with its source (a USER one is never replaced by inspection). */
  readonly signature: VersionSignature | null;
}

export interface RegisteredModelState extends ReviewState {
  readonly status: "absent" | "live" | "deleted";
  readonly modelId: string | null;
  readonly name: string;
  readonly description: string;
  readonly tags: Tags;
  /** alias -> version number */
  readonly aliases: Readonly<Record<string, number>>;
  /** Highest version number ever assigned (numbers are never reused). */
  readonly lastVersion: number;
  readonly versions: Readonly<Record<number, VersionState>>;
  /** Per-model permissions by grantee key (see ../modelPermissions.ts). */
  readonly grants: Grants;
  /** Comments on versions by id (partial like `versions`: a command loads the one it names). */
  readonly comments: Comments;
  /**
   * Active deployments by (environment, version) key. Loaded whole or not at all: a command that
   * needs them (stateNeeds) gets every active deployment of the model, which a folded stream agrees with.
   */
  readonly deployments: Deployments;
}

export const initialState: RegisteredModelState = {
  status: "absent",
  modelId: null,
  name: "",
  description: "",
  tags: {},
  aliases: {},
  lastVersion: 0,
  versions: {},
  grants: {},
  comments: {},
  deployments: {},
  ...initialReviewState,
};

function withoutKey<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _removed, ...rest } = record;
  return rest;
}

function updateVersion(
  state: RegisteredModelState,
  version: number,
  change: (v: VersionState) => VersionState,
): RegisteredModelState {
  const current = state.versions[version];
  // A partially loaded state only holds the versions a command needed; others are left alone.
  if (!current) return state;
  return { ...state, versions: { ...state.versions, [version]: change(current) } };
}

export function evolve(state: RegisteredModelState, event: RegisteredModelEvent): RegisteredModelState {
  switch (event.type) {
    case "RegisteredModelCreated":
      return {
        ...initialState,
        status: "live",
        modelId: event.data.modelId,
        name: event.data.name,
        description: event.data.description,
        tags: event.data.tags,
        grants: creatorGrants(event.data.creatorId),
      };
    case "RegisteredModelRenamed":
      return { ...state, name: event.data.to };
    case "RegisteredModelDescriptionUpdated":
      return { ...state, description: event.data.description };
    case "RegisteredModelTagSet":
      return { ...state, tags: { ...state.tags, [event.data.key]: event.data.value } };
    case "RegisteredModelTagDeleted":
      return { ...state, tags: withoutKey(state.tags, event.data.key) };
    case "RegisteredModelDeleted":
      return { ...state, status: "deleted" };
    case "RegisteredModelRestored":
      return { ...state, status: "live" };
    case "RegisteredModelAliasSet":
      return { ...state, aliases: { ...state.aliases, [event.data.alias]: event.data.version } };
    case "RegisteredModelAliasDeleted":
      return { ...state, aliases: withoutKey(state.aliases, event.data.alias) };
    case "ModelPermissionGranted":
      return {
        ...state,
        grants: { ...state.grants, [granteeKey(event.data.grantee)]: event.data.permission },
      };
    case "ModelPermissionRevoked":
      return { ...state, grants: withoutKey(state.grants, granteeKey(event.data.grantee)) };
    case "ModelVersionCreated":
      return {
        ...state,
        lastVersion: Math.max(state.lastVersion, event.data.version),
        versions: {
          ...state.versions,
          [event.data.version]: {
            version: event.data.version,
            stage: "None",
            status: event.data.status,
            deleted: false,
            description: event.data.description,
            metrics: event.data.metrics,
            tags: event.data.tags,
            artifacts: [],
            signature: null,
          },
        },
      };
    case "ModelVersionDescriptionUpdated":
      return updateVersion(state, event.data.version, (v) => ({ ...v, description: event.data.description }));
    case "ModelVersionMetricsLogged":
      return updateVersion(state, event.data.version, (v) => ({
        ...v,
        metrics: { ...v.metrics, ...event.data.metrics },
      }));
    case "ModelVersionTagSet":
      return updateVersion(state, event.data.version, (v) => ({
        ...v,
        tags: { ...v.tags, [event.data.key]: event.data.value },
      }));
    case "ModelVersionTagDeleted":
      return updateVersion(state, event.data.version, (v) => ({
        ...v,
        tags: withoutKey(v.tags, event.data.key),
      }));
    case "ModelVersionStageTransitioned": {
      let next = updateVersion(state, event.data.version, (v) => ({ ...v, stage: event.data.to }));
      for (const archived of event.data.archived) {
        next = updateVersion(next, archived.version, (v) => ({ ...v, stage: "Archived" }));
      }
      return next;
    }
    case "ModelVersionDeleted": {
      let aliases = state.aliases;
      for (const alias of event.data.removedAliases) aliases = withoutKey(aliases, alias);
      return updateVersion({ ...state, aliases }, event.data.version, (v) => ({ ...v, deleted: true }));
    }
    case "ModelVersionRestored":
      return updateVersion(state, event.data.version, (v) => ({ ...v, deleted: false }));
    case "ModelVersionArtifactAdded":
      return updateVersion(state, event.data.version, (v) => ({
        ...v,
        artifacts: [...v.artifacts, { path: event.data.path, sha256: event.data.sha256, verdict: null }],
      }));
    case "ModelVersionArtifactInspected":
      return updateVersion(state, event.data.version, (v) => ({
        ...v,
        artifacts: v.artifacts.map((a) =>
          a.path === event.data.path && a.sha256 === event.data.sha256
            ? { ...a, verdict: event.data.verdict }
            : a,
        ),
      }));
    case "ModelVersionSignatureSet": {
      const { signature, source, path } = event.data;
      return updateVersion(state, event.data.version, (v) => ({
        ...v,
        signature: { ...signature, source, path },
      }));
    }
    case "ModelVersionSafetyOverridden":
      return state;
    case "ModelVersionFinalized":
      return updateVersion(state, event.data.version, (v) => ({ ...v, status: "READY" }));
    case "ModelVersionRegistrationFailed":
      return updateVersion(state, event.data.version, (v) => ({ ...v, status: "FAILED_REGISTRATION" }));
    case "ModelVersionCommentAdded":
    case "ModelVersionCommentEdited":
    case "ModelVersionCommentDeleted":
      return { ...state, comments: evolveComments(state.comments, event) };
    case "ModelVersionDeployed":
    case "ModelVersionDeploymentRetired":
      return { ...state, deployments: evolveDeployments(state.deployments, event) };
    case "ModelReviewPolicySet":
    case "ReviewRequestOpened":
    case "ReviewRequestApproved":
    case "ReviewRequestRejected":
    case "ReviewRequestCancelled":
    case "ReviewRequestApplied":
    case "ReviewRequestStaled":
    case "ReviewPolicyBypassed":
      return { ...state, ...evolveReviews(state, event) };
  }
}

export function fold(events: readonly RegisteredModelEvent[], from: RegisteredModelState = initialState) {
  return events.reduce(evolve, from);
}
