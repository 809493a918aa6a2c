// Which approvals of an open request still count: an approval counts only while its reviewer could
// still give it (docs/reviews.md). One rule (lapsedAmong) over the access context's facts, read in
// two places: by the approval that may apply the request, inside its own transaction
// (./approvalTransaction.ts), and by ReviewRequest.countedApprovals, batched per GraphQL request.
// Both read the whole database rather than the caller's reader: other principals and the model's
// grants are the access context's facts, not what the caller may see.
import DataLoader from "dataloader";
import { principalSelect, toPrincipal } from "../../access/directory.ts";
import { permissionOn, standingRights } from "../../access/modelAccess.ts";
import type { AccessPolicy } from "../../access/modelAccess.ts";
import type { Principal } from "../../access/principal.ts";
import { grantsFrom, includesPermission } from "../../domain/modelPermissions.ts";
import type { Grantee, Grants } from "../../domain/modelPermissions.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import { isListedReviewer } from "../domain/policy.ts";

export interface ApprovedRequest {
  readonly modelId: string;
  /** The request's reviewers (the rule when it was opened). */
  readonly reviewers: readonly Grantee[];
  /** Who approved it so far, in order. */
  readonly approverIds: readonly string[];
}

/** An approver as the access context holds it now. */
export interface ApproverRecord {
  readonly principal: Principal;
  readonly disabled: boolean;
}

/**
 * The request's approvers who could not approve it now: their principal disabled (or gone, absent
 * from `approvers`), its role read-only (VIEWER, AUDITOR), no longer a listed reviewer nor in a
 * listed team, or no longer able to read the model (`grants` are the model's). Their approvals stay
 * on record and stop counting.
 */
export function lapsedAmong(
  request: ApprovedRequest,
  approvers: ReadonlyMap<string, ApproverRecord>,
  grants: Grants,
  policy: AccessPolicy,
): string[] {
  return request.approverIds.filter((id) => {
    const record = approvers.get(id);
    if (record === undefined || record.disabled) return true;
    const rights = standingRights(record.principal, policy);
    const eligible =
      includesPermission(rights.ceiling, "EDIT") &&
      includesPermission(permissionOn(rights, grants), "READ") &&
      isListedReviewer(request.reviewers, record.principal.id, record.principal.teamIds);
    return !eligible;
  });
}

/** The most ids one query names (far below either provider's bound on parameters). */
const MAX_IDS_PER_QUERY = 500;

interface StandingLoaders {
  readonly approvers: DataLoader<string, ApproverRecord | null>;
  readonly grants: DataLoader<string, Grants>;
}

/**
 * Per GraphQL request, loaders of approvers (by principal id) and of a model's grants (by model id):
 * the requests of a page ask in the same tick, so a page costs one query of principals (and one of
 * their teams) and one of grants, whatever its length. Nothing is remembered past the tick
 * (`cache: false`): a later mutation of the same operation may change access, and a request's count
 * must then be read anew.
 */
const loadersByRequest = new WeakMap<GraphQLContext, StandingLoaders>();

function loadersOf(ctx: GraphQLContext): StandingLoaders {
  let loaders = loadersByRequest.get(ctx);
  if (loaders === undefined) {
    const reader = ctx.db.reader;
    const options = { cache: false, maxBatchSize: MAX_IDS_PER_QUERY } as const;
    loaders = {
      approvers: new DataLoader(async (ids) => {
        const rows = await reader.principal.findMany({
          where: { id: { in: [...new Set(ids)] } },
          select: principalSelect,
        });
        const byId = new Map(rows.map((p) => [p.id, { principal: toPrincipal(p), disabled: p.disabled }]));
        return ids.map((id) => byId.get(id) ?? null);
      }, options),
      grants: new DataLoader(async (modelIds) => {
        const rows = await reader.modelPermission.findMany({
          where: { modelId: { in: [...new Set(modelIds)] } },
          select: { modelId: true, granteeKind: true, granteeId: true, permission: true },
        });
        return modelIds.map((modelId) =>
          grantsFrom(
            rows.filter((g) => g.modelId === modelId).map((g) => [g.granteeKind, g.granteeId, g.permission]),
          ),
        );
      }, options),
    };
    loadersByRequest.set(ctx, loaders);
  }
  return loaders;
}

/** The request's lapsed approvers (lapsedAmong) as the database holds them now, for a query. */
export async function lapsedApprovers(ctx: GraphQLContext, request: ApprovedRequest): Promise<string[]> {
  const { approverIds } = request;
  if (approverIds.length === 0) return [];
  const loaders = loadersOf(ctx);
  const [records, grants] = await Promise.all([
    loaders.approvers.loadMany(approverIds),
    loaders.grants.load(request.modelId),
  ]);
  const approvers = new Map<string, ApproverRecord>();
  for (const record of records) {
    if (record instanceof Error) throw record;
    if (record !== null) approvers.set(record.principal.id, record);
  }
  return lapsedAmong(request, approvers, grants, ctx.accessPolicy);
}
