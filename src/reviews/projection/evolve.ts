// Read model: one review request, as the review_requests table holds it. Pure; never throws;
// rebuildable from the model streams' ReviewRequest* events.
import type { Grantee } from "../../domain/modelPermissions.ts";
import type { Stage } from "../../domain/stages.ts";
import type { RecordedEvent } from "../../store/recordedEvent.ts";
import { reviewRequestOf } from "../domain/events.ts";

export const REVIEW_STATUSES = ["OPEN", "APPLIED", "REJECTED", "CANCELLED", "STALE"] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export interface ReviewVerdictView {
  readonly reviewerId: string;
  /** Display name of the reviewer then. */
  readonly reviewer: string;
  readonly comment: string;
  readonly at: string;
}

export interface ReviewRequestView {
  readonly id: string;
  readonly modelId: string;
  readonly version: number;
  readonly targetKind: "STAGE" | "ALIAS";
  readonly stage: Stage | null;
  readonly archiveExistingVersions: boolean;
  readonly alias: string | null;
  readonly reason: string;
  readonly status: ReviewStatus;
  readonly requesterId: string;
  readonly requestedBy: string;
  readonly requiredApprovals: number;
  readonly reviewers: readonly Grantee[];
  readonly allowSelfApproval: boolean;
  readonly approvals: readonly ReviewVerdictView[];
  readonly rejection: ReviewVerdictView | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly closedAt: Date | null;
  readonly closedReason: string | null;
  readonly revision: number;
}

/** The request ids whose rows an event changes. */
export const reviewsTouchedBy = (event: RecordedEvent): string[] => {
  const id = reviewRequestOf(event);
  return id === null ? [] : [id];
};

function closed(
  view: ReviewRequestView,
  event: RecordedEvent,
  status: ReviewStatus,
  reason: string | null,
): ReviewRequestView {
  return {
    ...view,
    status,
    closedAt: event.occurredAt,
    closedReason: reason,
    updatedAt: event.occurredAt,
    revision: event.revision,
  };
}

export function evolveReviewRequestView(
  view: ReviewRequestView | null,
  event: RecordedEvent,
): ReviewRequestView | null {
  if (event.type === "ReviewRequestOpened") {
    const d = event.data;
    return {
      id: d.requestId,
      modelId: event.streamId,
      version: d.version,
      targetKind: d.target.kind,
      stage: d.target.kind === "STAGE" ? d.target.stage : null,
      archiveExistingVersions: d.target.kind === "STAGE" ? d.target.archiveExistingVersions : false,
      alias: d.target.kind === "ALIAS" ? d.target.alias : null,
      reason: d.reason,
      status: "OPEN",
      requesterId: d.requesterId,
      requestedBy: event.actor.displayName,
      requiredApprovals: d.requiredApprovals,
      reviewers: d.reviewers,
      allowSelfApproval: d.allowSelfApproval,
      approvals: [],
      rejection: null,
      createdAt: event.occurredAt,
      updatedAt: event.occurredAt,
      closedAt: null,
      closedReason: null,
      revision: event.revision,
    };
  }
  if (view === null) return null;
  const verdict = (reviewerId: string, comment: string): ReviewVerdictView => ({
    reviewerId,
    reviewer: event.actor.displayName,
    comment,
    at: event.occurredAt.toISOString(),
  });
  switch (event.type) {
    case "ReviewRequestApproved":
      return {
        ...view,
        approvals: [...view.approvals, verdict(event.data.reviewerId, event.data.comment)],
        updatedAt: event.occurredAt,
        revision: event.revision,
      };
    case "ReviewRequestRejected":
      return {
        ...closed(view, event, "REJECTED", event.data.comment),
        rejection: verdict(event.data.reviewerId, event.data.comment),
      };
    case "ReviewRequestCancelled":
      return closed(view, event, "CANCELLED", event.data.reason);
    case "ReviewRequestApplied":
      return closed(view, event, "APPLIED", null);
    case "ReviewRequestStaled":
      return closed(view, event, "STALE", event.data.reason);
    default:
      return view;
  }
}
