// Expected failures of the domain: one class per broken rule, carrying its data. They are returned
// by `decide` (never thrown through it) and surface in GraphQL as members of each mutation's result
// union, so clients can branch on `__typename` instead of parsing messages.

export abstract class DomainError extends Error {
  abstract readonly code: string;
}

/** One kind of expected failure; commands and mutations declare which they can return. */
export type ErrorClass = new (...args: never[]) => DomainError;

export class NotFoundError extends DomainError {
  readonly code = "NOT_FOUND";
  constructor(
    readonly resource:
      | "RegisteredModel"
      | "ModelVersion"
      | "ModelAlias"
      | "Artifact"
      | "Principal"
      | "Team"
      | "ApiToken"
      | "ReviewRequest"
      | "Comment"
      | "Deployment"
      | "Webhook"
      | "WebhookDelivery",
    readonly key: string,
  ) {
    super(`${resource} ${key} does not exist`);
    this.name = "NotFoundError";
  }
}

export class AlreadyExistsError extends DomainError {
  readonly code = "ALREADY_EXISTS";
  constructor(
    readonly resource: "RegisteredModel" | "Artifact" | "Principal" | "Team",
    readonly key: string,
  ) {
    super(`${resource} ${key} already exists`);
    this.name = "AlreadyExistsError";
  }
}

export class ValidationError extends DomainError {
  readonly code = "VALIDATION";
  constructor(
    /** Dotted path of the offending input field, e.g. `tags.0.key`. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "ValidationError";
  }
}

export class ConcurrencyError extends DomainError {
  readonly code = "CONCURRENCY_CONFLICT";
  constructor(
    readonly streamId: string,
    readonly expectedRevision: number,
    readonly actualRevision: number,
  ) {
    super(`expected revision ${expectedRevision} but the model is at revision ${actualRevision}`);
    this.name = "ConcurrencyError";
  }
}

/**
 * A stream's stored history failed its integrity check (its hash chain is broken, or the log holds
 * events the projections never saw): someone wrote to the event table outside Registro. Writes to the
 * stream are refused until an operator has investigated; nothing is appended on top of a forged head.
 */
export class IntegrityError extends DomainError {
  readonly code = "INTEGRITY_VIOLATION";
  constructor(
    readonly streamId: string,
    readonly revision: number,
    readonly position: number,
    readonly reason: string,
  ) {
    super(
      `the history of stream ${streamId} failed its integrity check at revision ${revision} (log position ${position}): ${reason}. Writes to it are refused; run npm run audit:verify and see docs/audit.md`,
    );
    this.name = "IntegrityError";
  }
}

export class InvalidStateError extends DomainError {
  readonly code = "INVALID_STATE";
  constructor(message: string) {
    super(message);
    this.name = "InvalidStateError";
  }
}

/** The caller's registry role (or ownership) does not allow the operation; `needed` names what would. */
export class PermissionDeniedError extends DomainError {
  readonly code = "PERMISSION_DENIED";
  constructor(
    readonly operation: string,
    readonly needed: string,
  ) {
    super(`${operation} requires ${needed}`);
    this.name = "PermissionDeniedError";
  }
}

/** An artifact a safety rule refused, with its latest verdict (null: never inspected). */
export interface UnsafeArtifact {
  readonly path: string;
  readonly verdict: "DANGEROUS" | "UNSCANNABLE" | null;
}

/**
 * Promotion to Production or aliasing was refused because some of the version's artifacts are
 * DANGEROUS, UNSCANNABLE or were never inspected; `overrideReason` allows it, on the record.
 */
export class UnsafeArtifactError extends DomainError {
  readonly code = "UNSAFE_ARTIFACT";
  constructor(
    readonly version: number,
    readonly action: "TRANSITION" | "ALIAS",
    /** The blocking artifacts (at most the first 100). */
    readonly artifacts: readonly UnsafeArtifact[],
    /** How many artifacts block in all. */
    readonly total: number,
  ) {
    const shown = artifacts
      .slice(0, 3)
      .map((a) => `${a.path} (${a.verdict ?? "never inspected"})`)
      .join(", ");
    super(
      `version ${version} has ${total} artifact${total === 1 ? "" : "s"} that ${total === 1 ? "is" : "are"} not safe to ${action === "TRANSITION" ? "promote to Production" : "alias"}: ${shown}${total > 3 ? ", …" : ""}; give an overrideReason to proceed anyway`,
    );
    this.name = "UnsafeArtifactError";
  }
}
