// Events of protected promotions, on the model's own stream: the policy, and each review request's
// story from opening to its outcome. They live on the model stream so an approval and the promotion
// it causes are one atomic decision, and so staleness (a consequence of model events) is decided by
// the same pure decider that sees both.
import type { Grantee } from "../../domain/modelPermissions.ts";
import type { Stage } from "../../domain/stages.ts";

/** What a review request would change: a version's stage, or where an alias points. */
export type ReviewTarget =
  | { readonly kind: "STAGE"; readonly stage: Stage; readonly archiveExistingVersions: boolean }
  | { readonly kind: "ALIAS"; readonly alias: string };

/**
 * One protection of a model's policy: a stage, or alias names (exact, or with `*` wildcards), and
 * who must approve a change to it.
 */
export interface ReviewRule {
  readonly stage?: Stage;
  readonly aliasPattern?: string;
  /** Approvals needed (1..10). */
  readonly requiredApprovals: number;
  /** Users or teams whose members may approve (at least one). */
  readonly reviewers: readonly Grantee[];
  /** Whether the requester may approve their own request (no by default). */
  readonly allowSelfApproval: boolean;
}

interface Event<Type extends string, Data> {
  readonly type: Type;
  readonly data: Data;
}

export type ModelReviewPolicySet = Event<
  "ModelReviewPolicySet",
  { rules: ReviewRule[]; previousRules?: ReviewRule[] }
>;
/** A request to change a protected target, with the rule that protected it at the time. */
export type ReviewRequestOpened = Event<
  "ReviewRequestOpened",
  {
    requestId: string;
    version: number;
    target: ReviewTarget;
    reason: string;
    requesterId: string;
    requiredApprovals: number;
    reviewers: Grantee[];
    allowSelfApproval: boolean;
  }
>;
export type ReviewRequestApproved = Event<
  "ReviewRequestApproved",
  { requestId: string; reviewerId: string; comment: string }
>;
/** One rejection closes the request. */
export type ReviewRequestRejected = Event<
  "ReviewRequestRejected",
  { requestId: string; reviewerId: string; comment: string }
>;
export type ReviewRequestCancelled = Event<"ReviewRequestCancelled", { requestId: string; reason: string }>;
/** The approvals were reached; the change follows in the same decision (caused by the request). */
export type ReviewRequestApplied = Event<"ReviewRequestApplied", { requestId: string }>;
/** Closed because the version or the target changed by another route. */
export type ReviewRequestStaled = Event<"ReviewRequestStaled", { requestId: string; reason: string }>;
/** An admin changed a protected target directly; the change follows in the same decision. */
export type ReviewPolicyBypassed = Event<
  "ReviewPolicyBypassed",
  { version: number; target: ReviewTarget; reason: string }
>;

export type ReviewEvent =
  | ModelReviewPolicySet
  | ReviewRequestOpened
  | ReviewRequestApproved
  | ReviewRequestRejected
  | ReviewRequestCancelled
  | ReviewRequestApplied
  | ReviewRequestStaled
  | ReviewPolicyBypassed;

export type ReviewEventType = ReviewEvent["type"];

export const REVIEW_EVENT_SCHEMA_VERSIONS: Record<ReviewEventType, number> = {
  ModelReviewPolicySet: 1,
  ReviewRequestOpened: 1,
  ReviewRequestApproved: 1,
  ReviewRequestRejected: 1,
  ReviewRequestCancelled: 1,
  ReviewRequestApplied: 1,
  ReviewRequestStaled: 1,
  ReviewPolicyBypassed: 1,
};

/** The request a review event is about, if any. */
export function reviewRequestOf(event: { readonly type: string; readonly data: unknown }): string | null {
  switch (event.type) {
    case "ReviewRequestOpened":
    case "ReviewRequestApproved":
    case "ReviewRequestRejected":
    case "ReviewRequestCancelled":
    case "ReviewRequestApplied":
    case "ReviewRequestStaled":
      return (event.data as { requestId: string }).requestId;
    default:
      return null;
  }
}
