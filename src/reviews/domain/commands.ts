// Commands of the review context, run on the model's stream. Identities (requester, reviewer and
// their teams) come from the resolver's authenticated caller, never from client input.
import type { ReviewRule, ReviewTarget } from "./events.ts";

type Command<Type extends string, Data> = { readonly type: Type; readonly data: Data };

/** Replaces the model's policy (an empty list removes every protection). */
export type SetModelReviewPolicy = Command<"SetModelReviewPolicy", { rules: readonly ReviewRule[] }>;
export type OpenReviewRequest = Command<
  "OpenReviewRequest",
  { requestId: string; version: number; target: ReviewTarget; reason: string; requesterId: string }
>;
/** Who reviews: set by the resolver from the caller (its id and its teams). */
export interface Reviewer {
  readonly reviewerId: string;
  readonly teamIds: readonly string[];
}
export type ApproveReviewRequest = Command<
  "ApproveReviewRequest",
  {
    requestId: string;
    comment: string;
    /**
     * Approvers of the request who could not approve it now (disabled, a read-only role, no longer
     * a listed reviewer or in a listed team, no longer able to read the model), the approving
     * reviewer included, read from the access context inside the command's transaction
     * (src/reviews/graphql/approvalTransaction.ts). Their approvals stay on record and stop counting.
     */
    lapsedApprovers: readonly string[];
  } & Reviewer
>;
export type RejectReviewRequest = Command<
  "RejectReviewRequest",
  { requestId: string; comment: string } & Reviewer
>;
export type CancelReviewRequest = Command<"CancelReviewRequest", { requestId: string; reason: string }>;

export type ReviewCommand =
  SetModelReviewPolicy | OpenReviewRequest | ApproveReviewRequest | RejectReviewRequest | CancelReviewRequest;
