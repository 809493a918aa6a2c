// The review_requests rows of a model stream: reading them into views and writing views back,
// for the inline projection (src/projections/streamViews.ts) and the rebuild (same columns).
import type { Tx } from "../../db/database.ts";
import { placeholders, rowBool, rowDate, rowDateOrNull, rowInt, rowJson } from "../../db/sql.ts";
import type { SqlValue } from "../../db/sql.ts";
import type { Stage } from "../../domain/stages.ts";
import type { ReviewRequestView, ReviewStatus, ReviewVerdictView } from "./evolve.ts";

type Row = Record<string, unknown>;

export const REVIEW_REQUEST_COLUMNS = [
  "id",
  "model_id",
  "version",
  "target_kind",
  "stage",
  "archive_existing_versions",
  "alias",
  "reason",
  "status",
  "requester_id",
  "requested_by",
  "required_approvals",
  "reviewers",
  "allow_self_approval",
  "approvals",
  "rejection",
  "created_at",
  "updated_at",
  "closed_at",
  "closed_reason",
  "revision",
] as const;

const text = (value: unknown): string => (typeof value === "string" ? value : String(value));
const textOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : text(value);

export function reviewFromRow(row: Row): ReviewRequestView {
  return {
    id: text(row.id),
    modelId: text(row.model_id),
    version: rowInt(row.version),
    targetKind: text(row.target_kind) as "STAGE" | "ALIAS",
    stage: textOrNull(row.stage) as Stage | null,
    archiveExistingVersions: rowBool(row.archive_existing_versions),
    alias: textOrNull(row.alias),
    reason: text(row.reason),
    status: text(row.status) as ReviewStatus,
    requesterId: text(row.requester_id),
    requestedBy: text(row.requested_by),
    requiredApprovals: rowInt(row.required_approvals),
    reviewers: rowJson(row.reviewers),
    allowSelfApproval: rowBool(row.allow_self_approval),
    approvals: rowJson(row.approvals),
    rejection:
      row.rejection === null || row.rejection === undefined
        ? null
        : rowJson<ReviewVerdictView>(row.rejection),
    createdAt: rowDate(row.created_at),
    updatedAt: rowDate(row.updated_at),
    closedAt: rowDateOrNull(row.closed_at),
    closedReason: textOrNull(row.closed_reason),
    revision: rowInt(row.revision),
  };
}

/** A view as row values, in REVIEW_REQUEST_COLUMNS order. */
export const reviewRowValues = (r: ReviewRequestView): SqlValue[] => [
  r.id,
  r.modelId,
  r.version,
  r.targetKind,
  r.stage,
  r.archiveExistingVersions,
  r.alias,
  r.reason,
  r.status,
  r.requesterId,
  r.requestedBy,
  r.requiredApprovals,
  JSON.stringify(r.reviewers),
  r.allowSelfApproval,
  JSON.stringify(r.approvals),
  r.rejection === null ? null : JSON.stringify(r.rejection),
  r.createdAt,
  r.updatedAt,
  r.closedAt,
  r.closedReason,
  r.revision,
];

/** The open requests of a model (what the review rules and staleness need). */
export async function loadOpenReviews(tx: Tx, modelId: string): Promise<ReviewRequestView[]> {
  const rows = await tx.query("SELECT * FROM review_requests WHERE model_id = ? AND status = ?", [
    modelId,
    "OPEN",
  ]);
  return rows.map(reviewFromRow);
}

export async function loadReviews(tx: Tx, ids: readonly string[]): Promise<ReviewRequestView[]> {
  if (ids.length === 0) return [];
  const rows = await tx.query(`SELECT * FROM review_requests WHERE id IN (${placeholders(ids.length)})`, [
    ...ids,
  ]);
  return rows.map(reviewFromRow);
}

const UPDATABLE = REVIEW_REQUEST_COLUMNS.filter((c) => c !== "id");

/** Writes the rows whose view changed (inserted or updated in place). */
export async function persistReviews(
  tx: Tx,
  before: ReadonlyMap<string, ReviewRequestView | null>,
  after: ReadonlyMap<string, ReviewRequestView | null>,
): Promise<void> {
  for (const [id, view] of after) {
    if (view === null || view === (before.get(id) ?? null)) continue;
    await tx.later(
      `INSERT INTO review_requests (${REVIEW_REQUEST_COLUMNS.join(", ")}) VALUES (${placeholders(REVIEW_REQUEST_COLUMNS.length)})
       ON CONFLICT (id) DO UPDATE SET ${UPDATABLE.map((c) => `${c} = excluded.${c}`).join(", ")}`,
      reviewRowValues(view),
    );
  }
}
