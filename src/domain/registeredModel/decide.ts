// decide(command, state) -> events | error: a dispatcher over one rule per command. Each rule lives
// in ./rules/ in the file of its family (models, permissions, versions, stages and aliases,
// artifacts), with the errors it can return declared next to it.
import {
  addModelVersionComment,
  deleteModelVersionComment,
  editModelVersionComment,
} from "../../comments/domain/rules.ts";
import {
  recordModelVersionDeployment,
  retireModelVersionDeployment,
} from "../../deployments/domain/rules.ts";
import { checkEnvironment } from "../../deployments/domain/rules.ts";
import { approveReviewRequest } from "../../reviews/domain/rules/approveReviewRequest.ts";
import { cancelReviewRequest } from "../../reviews/domain/rules/cancelReviewRequest.ts";
import { openReviewRequest } from "../../reviews/domain/rules/openReviewRequest.ts";
import { rejectReviewRequest } from "../../reviews/domain/rules/rejectReviewRequest.ts";
import { setModelReviewPolicy } from "../../reviews/domain/rules/setModelReviewPolicy.ts";
import { staleRequests } from "../../reviews/domain/staleness.ts";
import type { OpenReview } from "../../reviews/domain/state.ts";
import type { ErrorClass } from "../errors.ts";
import { checkTextDeep, checkVersionNumber, unstorableText } from "../validation.ts";
import type { RegisteredModelCommand, RegisteredModelCommandType } from "./commands.ts";
import { STAGES } from "./events.ts";
import type { Stage } from "./events.ts";
import type { RegisteredModelState } from "./state.ts";
import {
  addModelVersionArtifact,
  failModelVersionRegistration,
  finalizeModelVersion,
  inspectModelVersionArtifacts,
  setModelVersionSignature,
} from "./rules/artifacts.ts";
import type { CommandRule, Decision } from "./rules/commandRule.ts";
import {
  createRegisteredModel,
  deleteRegisteredModel,
  deleteRegisteredModelTag,
  renameRegisteredModel,
  restoreRegisteredModel,
  setRegisteredModelTag,
  updateRegisteredModel,
} from "./rules/models.ts";
import { grantModelPermission, revokeModelPermission } from "./rules/permissions.ts";
import {
  deleteRegisteredModelAlias,
  setRegisteredModelAlias,
  transitionModelVersionStage,
} from "./rules/stagesAndAliases.ts";
import {
  createModelVersion,
  deleteModelVersion,
  deleteModelVersionTag,
  logModelVersionMetrics,
  restoreModelVersion,
  setModelVersionTag,
  updateModelVersion,
} from "./rules/versions.ts";

export type { Decision } from "./rules/commandRule.ts";

type Rules = {
  readonly [T in RegisteredModelCommandType]: CommandRule<Extract<RegisteredModelCommand, { type: T }>>;
};

const RULES: Rules = {
  CreateRegisteredModel: createRegisteredModel,
  RenameRegisteredModel: renameRegisteredModel,
  UpdateRegisteredModel: updateRegisteredModel,
  DeleteRegisteredModel: deleteRegisteredModel,
  RestoreRegisteredModel: restoreRegisteredModel,
  SetRegisteredModelTag: setRegisteredModelTag,
  DeleteRegisteredModelTag: deleteRegisteredModelTag,
  GrantModelPermission: grantModelPermission,
  RevokeModelPermission: revokeModelPermission,
  CreateModelVersion: createModelVersion,
  UpdateModelVersion: updateModelVersion,
  LogModelVersionMetrics: logModelVersionMetrics,
  SetModelVersionTag: setModelVersionTag,
  DeleteModelVersionTag: deleteModelVersionTag,
  DeleteModelVersion: deleteModelVersion,
  RestoreModelVersion: restoreModelVersion,
  TransitionModelVersionStage: transitionModelVersionStage,
  SetRegisteredModelAlias: setRegisteredModelAlias,
  DeleteRegisteredModelAlias: deleteRegisteredModelAlias,
  AddModelVersionArtifact: addModelVersionArtifact,
  FinalizeModelVersion: finalizeModelVersion,
  FailModelVersionRegistration: failModelVersionRegistration,
  InspectModelVersionArtifacts: inspectModelVersionArtifacts,
  SetModelVersionSignature: setModelVersionSignature,
  AddModelVersionComment: addModelVersionComment,
  EditModelVersionComment: editModelVersionComment,
  DeleteModelVersionComment: deleteModelVersionComment,
  RecordModelVersionDeployment: recordModelVersionDeployment,
  RetireModelVersionDeployment: retireModelVersionDeployment,
  SetModelReviewPolicy: setModelReviewPolicy,
  OpenReviewRequest: openReviewRequest,
  ApproveReviewRequest: approveReviewRequest,
  RejectReviewRequest: rejectReviewRequest,
  CancelReviewRequest: cancelReviewRequest,
};

// The table is typed per command type; TypeScript cannot follow `command.type` into it, so the
// lookup is widened here, in one place.
const ruleFor = (type: RegisteredModelCommandType) =>
  RULES[type] as unknown as CommandRule<RegisteredModelCommand>;

export function decide(command: RegisteredModelCommand, state: RegisteredModelState): Decision {
  const rule = ruleFor(command.type);
  // Text a database cannot store is refused before any rule looks at it, the same on every provider.
  const unstorable = checkTextDeep("", rule.clientInput?.(command) ?? command.data);
  if (unstorable) return unstorable;
  const decision = rule.decide(command, state);
  if (!Array.isArray(decision) || decision.length === 0) return decision;
  // Review requests the decision overtakes close with it (src/reviews/domain/staleness.ts).
  return [...decision, ...staleRequests(state, decision)];
}

/**
 * Every DomainError class `decide` can return for a command of this type. Refused text is a
 * ValidationError, which every rule of a command that carries text declares.
 */
export const decisionErrors = (type: RegisteredModelCommandType): readonly ErrorClass[] =>
  ruleFor(type).errors;

/**
 * What part of the stream state a command needs. The application loads exactly this from the
 * projection, so decision cost does not grow with the number of versions.
 */
export interface StateNeeds {
  readonly versions: readonly number[];
  /** Load every live version currently in this stage (for `archiveExistingVersions`). */
  readonly versionsInStage: Stage | null;
  /** Load the model's open review requests (the command acts on one, or may overtake them). */
  readonly openReviews: boolean;
  /** The comment a command edits or deletes (its version is loaded with it). */
  readonly comment?: string;
  /** Load every active deployment of the model (few: DEPLOYMENT_LIMITS.maxActivePerModel). */
  readonly deployments?: boolean;
  /** The deployment a command records or retires, active or not (a retried retirement finds it retired). */
  readonly deployment?: { readonly environment: string; readonly version: number };
}

const withReviews = (needs: Omit<StateNeeds, "openReviews">): StateNeeds => ({ ...needs, openReviews: true });

export function stateNeeds(command: RegisteredModelCommand): StateNeeds {
  switch (command.type) {
    case "TransitionModelVersionStage":
      return withReviews({
        versions: [command.data.version],
        // A stage that is none of STAGES is refused by the rule; it must not reach a query first.
        versionsInStage:
          command.data.archiveExistingVersions && STAGES.includes(command.data.stage)
            ? command.data.stage
            : null,
      });
    // Deleting refuses what environments still serve.
    case "DeleteModelVersion":
      return withReviews({ versions: [command.data.version], versionsInStage: null, deployments: true });
    case "DeleteRegisteredModel":
      return withReviews({ versions: [], versionsInStage: null, deployments: true });
    case "SetRegisteredModelAlias":
    case "OpenReviewRequest":
      return withReviews({ versions: [command.data.version], versionsInStage: null });
    case "DeleteRegisteredModelAlias":
    case "ApproveReviewRequest":
    case "RejectReviewRequest":
    case "CancelReviewRequest":
      return withReviews({ versions: [], versionsInStage: null });
    case "UpdateModelVersion":
    case "LogModelVersionMetrics":
    case "SetModelVersionTag":
    case "DeleteModelVersionTag":
    case "RestoreModelVersion":
    case "AddModelVersionArtifact":
    case "FinalizeModelVersion":
    case "FailModelVersionRegistration":
    case "InspectModelVersionArtifacts":
    case "SetModelVersionSignature":
      return { versions: [command.data.version], versionsInStage: null, openReviews: false };
    // The comment's own id too: an add run again finds its comment there. An id no database can
    // hold is refused before any rule looks at it, so it must not reach a query first.
    case "AddModelVersionComment":
      return unstorableText(command.data.commentId) === null
        ? {
            versions: [command.data.version],
            versionsInStage: null,
            openReviews: false,
            comment: command.data.commentId,
          }
        : { versions: [], versionsInStage: null, openReviews: false };
    case "EditModelVersionComment":
    case "DeleteModelVersionComment":
      return unstorableText(command.data.commentId) === null
        ? { versions: [], versionsInStage: null, openReviews: false, comment: command.data.commentId }
        : { versions: [], versionsInStage: null, openReviews: false };
    // An environment the rules refuse must not reach a query first (it may be text no database holds).
    case "RecordModelVersionDeployment":
    case "RetireModelVersionDeployment": {
      const { environment, version } = command.data;
      const named =
        checkEnvironment("environment", environment) === null &&
        checkVersionNumber("version", version) === null;
      return {
        versions: [version],
        versionsInStage: null,
        openReviews: false,
        deployments: true,
        ...(named ? { deployment: { environment, version } } : {}),
      };
    }
    default:
      return { versions: [], versionsInStage: null, openReviews: false };
  }
}

/**
 * What a command on an existing review request needs once its open requests are loaded: the
 * version the request is about (and, for an approval that may apply it, the target stage's
 * versions to archive). Null when nothing more is needed.
 */
export function reviewNeeds(
  command: RegisteredModelCommand,
  openReviews: Readonly<Record<string, OpenReview>>,
): Omit<StateNeeds, "openReviews"> | null {
  if (command.type !== "ApproveReviewRequest") return null;
  const review = Object.hasOwn(openReviews, command.data.requestId)
    ? openReviews[command.data.requestId]
    : undefined;
  if (!review) return null;
  return {
    versions: [review.version],
    versionsInStage:
      review.target.kind === "STAGE" && review.target.archiveExistingVersions ? review.target.stage : null,
  };
}
