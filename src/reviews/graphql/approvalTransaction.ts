// The approval that may apply a request decides on its approvers' standing as it is at its commit.
// Read before the command, the standing could change in between (an approver disabled, given a
// read-only role, removed from the listed team; on PostgreSQL by another instance) and the request
// would be applied on an approval that no longer counts. So the approval's write transaction reads
// it first, in the same transaction the command then decides and commits in:
//
// - after the model stream's lock (the command runner calls it between loading the stream's state
//   and deciding), so the request's approvals and the model's grants (written only by commands on
//   this stream) are the state the rule sees, unchanged until the commit;
// - on PostgreSQL, after the append lock (src/db/database.ts): every access command (principals,
//   teams) is a serialised write that holds it for its whole transaction, so one in flight commits
//   before this read (which, at READ COMMITTED, then sees it), and one that starts later waits for
//   this commit. The lock is taken after the stream lock, the order every model command takes them
//   in, and only by an approval whose count can reach the requirement (the others cannot apply).
//   On SQLite the one writer runs one transaction at a time, which gives the same.
//
// The rule stays pure: it gets the lapsed approvers as data (the command's `lapsedApprovers`), filled
// in here (CommandDeps.factsInTransaction) before it runs.
import type { AccessPolicy } from "../../access/modelAccess.ts";
import { toPrincipal } from "../../access/directory.ts";
import type { CommandDeps } from "../../application/executeCommand.ts";
import { APPEND_LOCK_KEY } from "../../db/database.ts";
import type { Tx } from "../../db/database.ts";
import { placeholders, rowBool } from "../../db/sql.ts";
import type { Grants } from "../../domain/modelPermissions.ts";
import type { OpenReview } from "../domain/state.ts";
import { lapsedAmong } from "./lapsedApprovers.ts";
import type { ApproverRecord } from "./lapsedApprovers.ts";

/** A row of the principals read below (raw SQL: driver types, see rowBool). */
interface PrincipalRow {
  id: string;
  kind: string;
  display_name: string;
  email: string | null;
  role: string;
  disabled: unknown;
}

/**
 * The approvers of `request` (the approving reviewer last) who could not approve it now, read in
 * `tx` as described above; empty when this approval cannot apply the request whatever their standing
 * (too few approvals: the rule then records it).
 */
async function lapsedInTransaction(
  tx: Tx,
  model: { readonly modelId: string; readonly grants: Grants },
  request: OpenReview,
  reviewerId: string,
  policy: AccessPolicy,
): Promise<string[]> {
  if (request.approvals.length + 1 < request.requiredApprovals) return [];
  const approverIds = [...new Set([...request.approvals, reviewerId])];
  const marks = placeholders(approverIds.length);
  const lock =
    tx.dialect === "postgresql" ? [{ sql: `SELECT pg_advisory_xact_lock(${APPEND_LOCK_KEY})` }] : [];
  const results = await tx.batch([
    ...lock,
    {
      sql: `SELECT id, kind, display_name, email, role, disabled FROM principals WHERE id IN (${marks})`,
      params: approverIds,
    },
    {
      sql: `SELECT principal_id, team_id FROM team_members WHERE principal_id IN (${marks})`,
      params: approverIds,
    },
  ]);
  const [principals = [], memberships = []] = results.slice(lock.length) as [
    PrincipalRow[],
    { principal_id: string; team_id: string }[],
  ];
  // Mapped as every other reader of principals maps them (the directory's toPrincipal).
  const approvers = new Map<string, ApproverRecord>(
    principals.map((p) => {
      const principal = toPrincipal({
        id: p.id,
        kind: p.kind,
        displayName: p.display_name,
        email: p.email,
        role: p.role,
        disabled: rowBool(p.disabled),
        memberships: memberships.filter((m) => m.principal_id === p.id).map((m) => ({ teamId: m.team_id })),
      });
      return [p.id, { principal, disabled: rowBool(p.disabled) }];
    }),
  );
  return lapsedAmong(
    { modelId: model.modelId, reviewers: request.reviewers, approverIds },
    approvers,
    model.grants,
    policy,
  );
}

/**
 * The command runner's hook for facts outside the stream (CommandDeps.factsInTransaction): an
 * approval of an open request gets its lapsed approvers, read in the transaction it decides in;
 * every other command is returned as it is.
 */
export function approvalFacts(policy: AccessPolicy): NonNullable<CommandDeps["factsInTransaction"]> {
  return async (tx, command, state) => {
    if (command.type !== "ApproveReviewRequest") return command;
    const { requestId, reviewerId } = command.data;
    const request = Object.hasOwn(state.openReviews, requestId) ? state.openReviews[requestId] : undefined;
    // Not open (or not this model's): the rule refuses it, whatever anyone's standing.
    if (request === undefined || state.modelId === null) return command;
    const model = { modelId: state.modelId, grants: state.grants };
    const lapsedApprovers = await lapsedInTransaction(tx, model, request, reviewerId, policy);
    return { ...command, data: { ...command.data, lapsedApprovers } };
  };
}
