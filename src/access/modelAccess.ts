// Who may do what to which model: the one set of rules every read and every command passes
// through. Pure: a caller's registry role, its credential's scopes and the model's grants go in, a
// permission comes out. The places that apply it are the command runner
// (src/application/executeCommand.ts), the caller-scoped database reader (./scopedReader.ts) that
// every GraphQL read and artifact route uses, and the subscription filter (./subscriberAccess.ts).
//
//   effective(model) = min(ceiling, max(floor, best grant to the caller or one of its teams))
//
// - ceiling: what any model can give this caller. VIEWER and AUDITOR change nothing (READ); a token
//   without the `write` scope changes nothing either.
// - floor: what every model gives it. ADMIN (with a token, only one carrying the `admin` scope)
//   manages every model; AUDITOR reads every model; everyone else gets the configured default
//   permission (READ unless configured otherwise; NONE makes models private to their grantees).
import { PermissionDeniedError } from "../domain/errors.ts";
import type { DomainError, NotFoundError } from "../domain/errors.ts";
import {
  granteeKey,
  higherPermission,
  includesPermission,
  lowerPermission,
} from "../domain/modelPermissions.ts";
import type { Grants, ModelPermission } from "../domain/modelPermissions.ts";
import type { RegisteredModelCommand } from "../domain/registeredModel/commands.ts";
import type { Caller, Principal, RegistryRole, TokenScope } from "./principal.ts";

export interface AccessPolicy {
  /** What every authenticated principal holds on every model; null: nothing (models are private). */
  readonly defaultPermission: ModelPermission | null;
}

export const DEFAULT_ACCESS_POLICY: AccessPolicy = { defaultPermission: "READ" };

/** What one caller may do, computed once per request (or per WebSocket operation). */
export interface AccessRights {
  /** The principal acting, or null for the registry acting on its own behalf. */
  readonly principalId: string | null;
  readonly role: RegistryRole;
  /** Grantee keys that stand for this caller: itself and each of its teams. */
  readonly granteeKeys: readonly string[];
  readonly ceiling: ModelPermission | null;
  readonly floor: ModelPermission | null;
  /** May register new models (MEMBER or ADMIN, with the `write` scope). */
  readonly canCreateModels: boolean;
  /**
   * May manage users, teams and others' tokens (ADMIN, with the `admin` and the `write` scope: a
   * credential without `write` changes nothing, administration included).
   */
  readonly canAdminister: boolean;
  /**
   * Reads what administrators read (every principal, team, token and webhook, the audit
   * checkpoints): ADMIN with the `admin` scope. Reading needs no `write` scope.
   */
  readonly readsAsAdministrator: boolean;
  /** Scopes of the credential (every scope for local mode and SSO). */
  readonly scopes: ReadonlySet<TokenScope>;
}

const ALL_SCOPES: ReadonlySet<TokenScope> = new Set<TokenScope>(["read", "write", "admin"]);

export function accessRights(caller: Caller, policy: AccessPolicy): AccessRights {
  const { principal, credential } = caller;
  const scopes = credential.kind === "token" ? new Set(credential.scopes) : ALL_SCOPES;
  const writes = scopes.has("write");
  const readOnlyRole = principal.role === "VIEWER" || principal.role === "AUDITOR";
  const ceiling: ModelPermission = readOnlyRole || !writes ? "READ" : "MANAGE";
  const adminScoped = principal.role === "ADMIN" && scopes.has("admin");
  const floor = adminScoped
    ? ceiling
    : principal.role === "AUDITOR"
      ? "READ"
      : lowerPermission(policy.defaultPermission, ceiling);
  return {
    principalId: principal.id,
    role: principal.role,
    granteeKeys: [
      granteeKey({ kind: "PRINCIPAL", id: principal.id }),
      ...principal.teamIds.map((id) => granteeKey({ kind: "TEAM", id })),
    ],
    ceiling,
    floor,
    canCreateModels: writes && (principal.role === "MEMBER" || principal.role === "ADMIN"),
    canAdminister: adminScoped && writes,
    readsAsAdministrator: adminScoped,
    scopes,
  };
}

/**
 * What a principal's role and teams give it whatever credential it would use (every scope): what it
 * could do if it acted now. For judging an earlier act by who did it (a review approval still
 * counting), never for a request, whose credential may give less.
 */
export const standingRights = (principal: Principal, policy: AccessPolicy): AccessRights =>
  accessRights({ principal, credential: { kind: "local" } }, policy);

/** The registry acting on its own behalf (maintenance commands, tests of the core): no limits. */
export const SYSTEM_RIGHTS: AccessRights = {
  principalId: null,
  role: "ADMIN",
  granteeKeys: [],
  ceiling: "MANAGE",
  floor: "MANAGE",
  canCreateModels: true,
  canAdminister: true,
  readsAsAdministrator: true,
  scopes: ALL_SCOPES,
};

/** True when every model is readable, so reads need no filter at all. */
export const readsEverything = (rights: AccessRights): boolean => includesPermission(rights.floor, "READ");

/** The caller's permission on a model with these grants; null when it may not even read it. */
export function permissionOn(rights: AccessRights, grants: Grants): ModelPermission | null {
  let best = rights.floor;
  for (const key of rights.granteeKeys)
    if (Object.hasOwn(grants, key)) best = higherPermission(best, grants[key] ?? null);
  return lowerPermission(best, rights.ceiling);
}

/** What a command needs, and how its refusal names the operation. */
export function requiredPermission(command: RegisteredModelCommand): ModelPermission {
  switch (command.type) {
    case "CreateRegisteredModel":
    case "RenameRegisteredModel":
    case "DeleteRegisteredModel":
    case "RestoreRegisteredModel":
    case "GrantModelPermission":
    case "RevokeModelPermission":
    case "SetModelReviewPolicy":
      return "MANAGE";
    // Reviewers need only read the model (they must also be listed in its policy, and hold a
    // credential that may write: see authorizeCommand); a requester cancels its own request.
    case "ApproveReviewRequest":
    case "RejectReviewRequest":
    case "CancelReviewRequest":
      return "READ";
    // Overriding the safety gate is a decision about risk, not an edit.
    case "SetRegisteredModelAlias":
    case "TransitionModelVersionStage":
      return command.data.overrideReason ? "MANAGE" : "EDIT";
    default:
      return "EDIT";
  }
}

const operationName = (command: RegisteredModelCommand): string =>
  command.type === "SetRegisteredModelAlias" || command.type === "TransitionModelVersionStage"
    ? command.data.overrideReason
      ? `${command.type} with an overrideReason`
      : command.type
    : command.type;

/** Whether the credential may change anything at all (not VIEWER or AUDITOR, a token with `write`). */
const mayWrite = (rights: AccessRights): boolean => includesPermission(rights.ceiling, "EDIT");

/**
 * Comments: adding one needs READ on the model and a credential that may write; editing or deleting
 * one is its author's (with a credential that may write), or anyone's who manages the model.
 */
function authorizeComment(
  rights: AccessRights,
  command: RegisteredModelCommand,
  held: ModelPermission | null,
  model: { readonly name: string },
  comment: { readonly authorId: string } | null,
): DomainError | null | undefined {
  switch (command.type) {
    case "AddModelVersionComment":
      return mayWrite(rights)
        ? null
        : new PermissionDeniedError(
            command.type,
            "a registry role other than VIEWER or AUDITOR, and a token with the write scope",
          );
    case "EditModelVersionComment":
    case "DeleteModelVersionComment": {
      if (includesPermission(held, "MANAGE")) return null;
      // An unknown comment is reported by the rule (NotFound), not refused here.
      if (comment === null) return null;
      if (comment.authorId === rights.principalId && rights.principalId !== null && mayWrite(rights))
        return null;
      return new PermissionDeniedError(
        command.type,
        `being the comment's author (with a credential that may write), or MANAGE on model ${model.name}`,
      );
    }
    default:
      return undefined;
  }
}

const hasBypass = (command: RegisteredModelCommand): boolean =>
  (command.type === "TransitionModelVersionStage" ||
    command.type === "SetRegisteredModelAlias" ||
    command.type === "DeleteRegisteredModelAlias") &&
  command.data.bypassReason !== null &&
  command.data.bypassReason !== undefined;

const WRITING_CREDENTIAL =
  "a credential that may write (registry role MEMBER or ADMIN; a token with the write scope)";

/** The review rules of access: bypassing a policy, reviewing, cancelling. Null: nothing more to check. */
function reviewAccess(
  rights: AccessRights,
  command: RegisteredModelCommand,
  held: ModelPermission | null,
  model: AuthorizedModel,
): DomainError | null {
  // Bypassing a review policy is an admin's decision, on the record.
  if (hasBypass(command) && !rights.canAdminister)
    return new PermissionDeniedError(
      `${command.type} with a bypassReason`,
      "registry role ADMIN (with the admin scope)",
    );
  if (command.type === "ApproveReviewRequest" || command.type === "RejectReviewRequest") {
    if (!mayWrite(rights)) return new PermissionDeniedError(command.type, WRITING_CREDENTIAL);
  }
  if (command.type === "CancelReviewRequest") {
    if (includesPermission(held, "MANAGE")) return null;
    const request = model.reviews?.get(command.data.requestId);
    // Only open requests are loaded: a closed one is the decider's to refuse (InvalidState), not
    // a matter of permission (the caller may read it anyway).
    if (request == null) return null;
    const own = request.requesterId === rights.principalId;
    if (!own || !mayWrite(rights))
      return new PermissionDeniedError(command.type, `to be its requester, or MANAGE on model ${model.name}`);
  }
  return null;
}

interface AuthorizedModel {
  readonly name: string;
  readonly grants: Grants;
  /** The model's loaded review requests (who requested each), for cancelling. */
  readonly reviews?: ReadonlyMap<string, { readonly requesterId: string } | null>;
}

/**
 * Whether the caller may run `command` on a model with these grants (null: the model does not exist
 * yet). A model the caller cannot read is reported exactly as a missing one. `comment` is the
 * comment a command on one names, as stored (null when there is none).
 */
export function authorizeCommand(
  rights: AccessRights,
  command: RegisteredModelCommand,
  model: AuthorizedModel | null,
  /** What an unreadable model is to this caller; a function to build it only then (an error captures a stack). */
  notFound: NotFoundError | (() => NotFoundError),
  comment: { readonly authorId: string } | null = null,
): DomainError | null {
  if (command.type === "CreateRegisteredModel") {
    if (rights.canCreateModels) return null;
    return new PermissionDeniedError(
      "CreateRegisteredModel",
      rights.scopes.has("write") ? "registry role MEMBER or ADMIN" : "a token with the write scope",
    );
  }
  if (model === null) return null; // the decider reports the missing model itself
  const held = permissionOn(rights, model.grants);
  if (!includesPermission(held, "READ")) return typeof notFound === "function" ? notFound() : notFound;
  const commentDecision = authorizeComment(rights, command, held, model, comment);
  if (commentDecision !== undefined) return commentDecision;
  const needed = requiredPermission(command);
  if (includesPermission(held, needed)) return reviewAccess(rights, command, held, model);
  const how = rights.scopes.has("write")
    ? `${needed} on model ${model.name}`
    : `${needed} on model ${model.name} (this token lacks the write scope)`;
  return new PermissionDeniedError(operationName(command), how);
}
