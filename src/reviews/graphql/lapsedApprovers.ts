// Which approvals of an open request still count: an approval counts only while its reviewer could
// still give it (docs/reviews.md). Read by the approval that may apply the request and by
// ReviewRequest.countedApprovals, from the whole database rather than the caller's reader: other
// principals and the model's grants are the access context's facts, not what the caller may see.
import { principalSelect, toPrincipal } from "../../access/directory.ts";
import { permissionOn, standingRights } from "../../access/modelAccess.ts";
import { grantsFrom, includesPermission } from "../../domain/modelPermissions.ts";
import type { Grantee } from "../../domain/modelPermissions.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import { isListedReviewer } from "../domain/policy.ts";

export interface ApprovedRequest {
  readonly modelId: string;
  /** The request's reviewers (the rule when it was opened). */
  readonly reviewers: readonly Grantee[];
  /** Who approved it so far, in order. */
  readonly approverIds: readonly string[];
}

/**
 * The request's approvers who could not approve it now: their principal disabled (or gone), its
 * role read-only (VIEWER, AUDITOR), no longer a listed reviewer nor in a listed team, or no longer
 * able to read the model. Their approvals stay on record and stop counting.
 */
export async function lapsedApprovers(ctx: GraphQLContext, request: ApprovedRequest): Promise<string[]> {
  const { approverIds } = request;
  if (approverIds.length === 0) return [];
  const reader = ctx.db.reader;
  const [principals, grantRows] = await Promise.all([
    reader.principal.findMany({
      where: { id: { in: [...approverIds] } },
      select: principalSelect,
    }),
    reader.modelPermission.findMany({
      where: { modelId: request.modelId },
      select: { granteeKind: true, granteeId: true, permission: true },
    }),
  ]);
  const grants = grantsFrom(grantRows.map((g) => [g.granteeKind, g.granteeId, g.permission]));
  const standing = new Set(
    principals.flatMap((p) => {
      if (p.disabled) return [];
      const principal = toPrincipal(p);
      const rights = standingRights(principal, ctx.accessPolicy);
      const eligible =
        includesPermission(rights.ceiling, "EDIT") &&
        includesPermission(permissionOn(rights, grants), "READ") &&
        isListedReviewer(request.reviewers, principal.id, principal.teamIds);
      return eligible ? [principal.id] : [];
    }),
  );
  return approverIds.filter((id) => !standing.has(id));
}
