// What the model's decision state knows of reviews: the policy and the OPEN requests (closed ones
// never matter to a rule). Like versions, open requests may be loaded only for commands that need
// them (see stateNeeds); the policy is always there.
import type { Grantee } from "../../domain/modelPermissions.ts";
import type { ReviewEvent, ReviewRule, ReviewTarget } from "./events.ts";

export interface OpenReview {
  readonly requestId: string;
  readonly version: number;
  readonly target: ReviewTarget;
  readonly requesterId: string;
  readonly requiredApprovals: number;
  readonly reviewers: readonly Grantee[];
  readonly allowSelfApproval: boolean;
  /** Principals that approved, in order. */
  readonly approvals: readonly string[];
}

export interface ReviewState {
  readonly reviewPolicy: readonly ReviewRule[];
  /** Open requests by id (possibly only those loaded for the command). */
  readonly openReviews: Readonly<Record<string, OpenReview>>;
}

export const initialReviewState: ReviewState = { reviewPolicy: [], openReviews: {} };

function close(state: ReviewState, requestId: string): ReviewState {
  if (!Object.hasOwn(state.openReviews, requestId)) return state;
  const { [requestId]: _closed, ...rest } = state.openReviews;
  return { ...state, openReviews: rest };
}

export function evolveReviews(state: ReviewState, event: ReviewEvent): ReviewState {
  switch (event.type) {
    case "ModelReviewPolicySet":
      return { ...state, reviewPolicy: event.data.rules };
    case "ReviewRequestOpened": {
      const d = event.data;
      return {
        ...state,
        openReviews: {
          ...state.openReviews,
          [d.requestId]: {
            requestId: d.requestId,
            version: d.version,
            target: d.target,
            requesterId: d.requesterId,
            requiredApprovals: d.requiredApprovals,
            reviewers: d.reviewers,
            allowSelfApproval: d.allowSelfApproval,
            approvals: [],
          },
        },
      };
    }
    case "ReviewRequestApproved": {
      const open = Object.hasOwn(state.openReviews, event.data.requestId)
        ? state.openReviews[event.data.requestId]
        : undefined;
      if (!open) return state;
      return {
        ...state,
        openReviews: {
          ...state.openReviews,
          [open.requestId]: { ...open, approvals: [...open.approvals, event.data.reviewerId] },
        },
      };
    }
    case "ReviewRequestRejected":
    case "ReviewRequestCancelled":
    case "ReviewRequestApplied":
    case "ReviewRequestStaled":
      return close(state, event.data.requestId);
    case "ReviewPolicyBypassed":
      return state;
  }
}
