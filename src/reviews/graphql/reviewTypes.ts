// Review requests in GraphQL: the typed errors of protection and review, the policy on a model,
// the ReviewRequest type with `canApprove` for the viewer, `reviewRequests(filter)` and
// `ModelVersion.reviewRequests`. Reads go through the caller-scoped reader (src/access/scopedReader.ts),
// so a request of a model the caller may not read does not exist for it.
import { GranteeKindEnum } from "../../access/graphql/modelPermissions.ts";
import { includesPermission } from "../../domain/modelPermissions.ts";
import type { Grantee } from "../../domain/modelPermissions.ts";
import type { Stage } from "../../domain/stages.ts";
import type { Prisma, ReviewRequest } from "../../db/generated/sqlite/client.ts";
import { builder } from "../../graphql/builder.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import { StageEnum, countedConnection } from "../../graphql/types/common.ts";
import { ErrorInterface } from "../../graphql/types/errors.ts";
import type { Reviewer } from "../domain/commands.ts";
import { ApprovalRequiredError, ReviewerNotEligibleError } from "../domain/errors.ts";
import type { ReviewRule, ReviewTarget } from "../domain/events.ts";
import { ineligibility } from "../domain/rules/reviewerEligibility.ts";
import type { OpenReview } from "../domain/state.ts";
import type { ReviewStatus, ReviewVerdictView } from "../projection/evolve.ts";
import { lapsedApprovers } from "./lapsedApprovers.ts";

// ---- Targets, policy, errors --------------------------------------------------------------------

const ReviewTargetKindEnum = builder.enumType("ReviewTargetKind", {
  description: "What a review request (or a protection) is about.",
  values: {
    STAGE: { value: "STAGE", description: "Moving a version into a stage." },
    ALIAS: { value: "ALIAS", description: "Pointing an alias at a version." },
  } as const,
});

export const ReviewTargetRef = builder.objectRef<ReviewTarget>("ReviewTarget").implement({
  description: "A protected change: a version's stage, or an alias.",
  fields: (t) => ({
    kind: t.field({ type: ReviewTargetKindEnum, description: "Stage or alias.", resolve: (x) => x.kind }),
    stage: t.field({
      type: StageEnum,
      nullable: true,
      description: "The stage the version moves into (STAGE).",
      resolve: (x) => (x.kind === "STAGE" ? x.stage : null),
    }),
    archiveExistingVersions: t.boolean({
      description: "Whether the versions already in the stage move to Archived with it (STAGE).",
      resolve: (x) => x.kind === "STAGE" && x.archiveExistingVersions,
    }),
    alias: t.string({
      nullable: true,
      description: "The alias that is to point at the version (ALIAS).",
      resolve: (x) => (x.kind === "ALIAS" ? x.alias : null),
    }),
  }),
});

export const ReviewerRef = builder.objectRef<Grantee>("Reviewer").implement({
  description: "A user (or service account) or a team whose members may review.",
  fields: (t) => ({
    kind: t.field({ type: GranteeKindEnum, description: "Principal or team.", resolve: (r) => r.kind }),
    id: t.exposeID("id", { description: "Id of the principal or team." }),
  }),
});

export const ReviewPolicyRuleRef = builder.objectRef<ReviewRule>("ReviewPolicyRule").implement({
  description: "One protection of a model's review policy.",
  fields: (t) => ({
    stage: t.field({
      type: StageEnum,
      nullable: true,
      description: "The protected stage (moving a version into it needs approval).",
      resolve: (r) => r.stage ?? null,
    }),
    aliasPattern: t.string({
      nullable: true,
      description:
        "The protected alias names: an alias, or a pattern in which `*` stands for any characters.",
      resolve: (r) => r.aliasPattern ?? null,
    }),
    requiredApprovals: t.exposeInt("requiredApprovals", { description: "Approvals needed (1-10)." }),
    reviewers: t.field({
      type: [ReviewerRef],
      description: "Who may approve: these users, and the members of these teams.",
      resolve: (r) => [...r.reviewers],
    }),
    allowSelfApproval: t.exposeBoolean("allowSelfApproval", {
      description: "Whether the requester may approve their own request.",
    }),
  }),
});

builder.objectType(ApprovalRequiredError, {
  name: "ApprovalRequiredError",
  description:
    "The stage or alias is protected by the model's review policy. Open a review request with `requestReview`; an admin may instead repeat the change with a `bypassReason` (recorded).",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    target: t.field({
      type: ReviewTargetRef,
      description: "The protected change.",
      resolve: (e) => e.target,
    }),
    requiredApprovals: t.exposeInt("requiredApprovals", { description: "Approvals a review request needs." }),
  }),
});

const NotEligibleReasonEnum = builder.enumType("ReviewerNotEligibleReason", {
  description: "Why a caller may not review a request.",
  values: {
    SELF_APPROVAL: { value: "SELF_APPROVAL", description: "The requester may not review their own request." },
    NOT_A_REVIEWER: {
      value: "NOT_A_REVIEWER",
      description: "Neither listed as a reviewer nor a member of a listed team.",
    },
    ALREADY_REVIEWED: { value: "ALREADY_REVIEWED", description: "Already approved this request." },
  } as const,
});

builder.objectType(ReviewerNotEligibleError, {
  name: "ReviewerNotEligibleError",
  description: "The caller may not approve or reject this review request; `reason` says why.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    requestId: t.exposeID("requestId", { description: "The review request." }),
    // Not `reason`: IntegrityError.reason is a String, and one selection over a result union
    // cannot hold both (GraphQL's field-merging rule).
    ineligibility: t.field({
      type: NotEligibleReasonEnum,
      description: "Why the caller may not review it.",
      resolve: (e) => e.reason,
    }),
  }),
});

builder.prismaObjectFields("RegisteredModel", (t) => ({
  reviewPolicy: t.field({
    type: [ReviewPolicyRuleRef],
    description:
      "The model's review policy: protected stages and alias patterns and who approves changes to them (empty: nothing is protected).",
    resolve: (model) =>
      Array.isArray(model.reviewPolicy) ? (model.reviewPolicy as unknown as ReviewRule[]) : [],
  }),
}));

// ---- ReviewRequest ------------------------------------------------------------------------------

const ReviewStatusEnum = builder.enumType("ReviewRequestStatus", {
  description: "Where a review request is in its life.",
  values: {
    OPEN: { value: "OPEN", description: "Waiting for approvals." },
    APPLIED: { value: "APPLIED", description: "Approved, and the change was made." },
    REJECTED: { value: "REJECTED", description: "A reviewer rejected it." },
    CANCELLED: { value: "CANCELLED", description: "Its requester (or a manager) cancelled it." },
    STALE: {
      value: "STALE",
      description: "Closed because its version was deleted or its target changed by another route.",
    },
  } satisfies Record<ReviewStatus, { value: ReviewStatus; description: string }>,
});

interface Participant {
  readonly id: string;
  readonly displayName: string;
}

const ReviewParticipantRef = builder.objectRef<Participant>("ReviewParticipant").implement({
  description: "A principal taking part in a review, as it was named then.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The principal's id." }),
    displayName: t.exposeString("displayName", { description: "Its display name at the time." }),
  }),
});

const ReviewVerdictRef = builder.objectRef<ReviewVerdictView>("ReviewVerdict").implement({
  description: "A reviewer's approval or rejection.",
  fields: (t) => ({
    reviewer: t.field({
      type: ReviewParticipantRef,
      description: "Who.",
      resolve: (v) => ({ id: v.reviewerId, displayName: v.reviewer }),
    }),
    comment: t.exposeString("comment", { description: "What they wrote." }),
    at: t.field({ type: "DateTime", description: "When.", resolve: (v) => new Date(v.at) }),
  }),
});

export const targetOfRow = (row: ReviewRequest): ReviewTarget =>
  row.targetKind === "STAGE"
    ? {
        kind: "STAGE",
        stage: (row.stage ?? "None") as Stage,
        archiveExistingVersions: row.archiveExistingVersions,
      }
    : { kind: "ALIAS", alias: row.alias ?? "" };

export const verdicts = (value: Prisma.JsonValue): ReviewVerdictView[] =>
  Array.isArray(value) ? (value as unknown as ReviewVerdictView[]) : [];

/** The caller as a reviewer: its principal and its teams. */
export const reviewerOf = (ctx: GraphQLContext): Reviewer => ({
  reviewerId: ctx.caller.principal.id,
  teamIds: ctx.caller.principal.teamIds,
});

/** Whether the caller could approve the request now (its credential may write, and it is eligible). */
export function canApprove(ctx: GraphQLContext, row: ReviewRequest): boolean {
  if (row.status !== "OPEN" || !includesPermission(ctx.rights.ceiling, "EDIT")) return false;
  const review: OpenReview = {
    requestId: row.id,
    version: row.version,
    target: targetOfRow(row),
    requesterId: row.requesterId,
    requiredApprovals: row.requiredApprovals,
    reviewers: row.reviewers as unknown as Grantee[],
    allowSelfApproval: row.allowSelfApproval,
    approvals: verdicts(row.approvals).map((a) => a.reviewerId),
  };
  return ineligibility(review, reviewerOf(ctx)) === null;
}

export const ReviewRequestRef = builder.prismaObject("ReviewRequest", {
  description:
    "A request to change a protected stage or alias of a model, and its story: approvals, rejection, outcome.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The request's id (give it to approve, reject or cancel)." }),
    model: t.relation("model", { description: "The model." }),
    version: t.exposeInt("version", { description: "The version the change is about." }),
    modelVersion: t.prismaField({
      type: "ModelVersion",
      nullable: true,
      description: "The version the change is about.",
      resolve: (query, r, _args, ctx) =>
        ctx.reader.modelVersion.findUnique({
          ...query,
          where: { modelId_version: { modelId: r.modelId, version: r.version } },
        }),
    }),
    target: t.field({ type: ReviewTargetRef, description: "The change requested.", resolve: targetOfRow }),
    reason: t.exposeString("reason", { description: "Why the requester wants it." }),
    status: t.field({
      type: ReviewStatusEnum,
      description: "Where the request is in its life.",
      resolve: (r) => r.status as ReviewStatus,
    }),
    requestedBy: t.field({
      type: ReviewParticipantRef,
      description: "Who opened it.",
      resolve: (r) => ({ id: r.requesterId, displayName: r.requestedBy }),
    }),
    approvals: t.field({
      type: [ReviewVerdictRef],
      description: "Approvals so far, in order.",
      resolve: (r) => verdicts(r.approvals),
    }),
    rejection: t.field({
      type: ReviewVerdictRef,
      nullable: true,
      description: "The rejection that closed it, if one did.",
      resolve: (r) => (r.rejection === null ? null : (r.rejection as unknown as ReviewVerdictView)),
    }),
    requiredApprovals: t.exposeInt("requiredApprovals", {
      description: "Approvals needed (the policy's rule when the request was opened).",
    }),
    countedApprovals: t.int({
      nullable: true,
      description:
        "Of an open request, the approvals that count towards requiredApprovals now: those whose reviewers could still give them (not disabled, not VIEWER or AUDITOR, still listed or in a listed team, still able to read the model). Null once it is closed.",
      resolve: async (r, _args, ctx) => {
        if (r.status !== "OPEN") return null;
        const approverIds = verdicts(r.approvals).map((a) => a.reviewerId);
        const lapsed = await lapsedApprovers(ctx, {
          modelId: r.modelId,
          reviewers: r.reviewers as unknown as Grantee[],
          approverIds,
        });
        return approverIds.length - lapsed.length;
      },
    }),
    reviewers: t.field({
      type: [ReviewerRef],
      description: "Who may approve it: these users and the members of these teams (the rule when opened).",
      resolve: (r) => r.reviewers as unknown as Grantee[],
    }),
    allowSelfApproval: t.exposeBoolean("allowSelfApproval", {
      description: "Whether the requester may approve it.",
    }),
    canApprove: t.boolean({
      description: "Whether the caller may approve (or reject) it now.",
      resolve: (r, _args, ctx) => canApprove(ctx, r),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was opened." }),
    closedAt: t.expose("closedAt", {
      type: "DateTime",
      nullable: true,
      description: "When it was applied, rejected, cancelled or became stale.",
    }),
    closedReason: t.exposeString("closedReason", {
      nullable: true,
      description: "Why it closed: the rejection comment, the cancellation or staleness reason.",
    }),
  }),
});

export const ReviewRequestConnectionRef = countedConnection(
  ReviewRequestRef,
  "ReviewRequest",
  "review requests",
);

const ReviewRequestFilter = builder.inputType("ReviewRequestFilter", {
  description: "Which review requests to list; all given conditions must hold.",
  fields: (t) => ({
    modelName: t.string({ required: false, description: "Requests of the live model with this name." }),
    status: t.field({ type: ReviewStatusEnum, required: false, description: "Requests in this status." }),
    requestedBy: t.id({ required: false, description: "Requests opened by the principal with this id." }),
    actionableByMe: t.boolean({
      required: false,
      description: "Only OPEN requests the caller may approve or reject now.",
    }),
  }),
});

interface FilterArgs {
  readonly modelName?: string | null;
  readonly status?: ReviewStatus | null;
  readonly requestedBy?: string | number | null;
  readonly actionableByMe?: boolean | null;
}

/** At most this many open requests are checked in memory for `actionableByMe`. */
const MAX_ACTIONABLE_SCAN = 5000;

async function requestsWhere(
  ctx: GraphQLContext,
  filter: FilterArgs | null | undefined,
): Promise<Prisma.ReviewRequestWhereInput> {
  const where: Prisma.ReviewRequestWhereInput = {
    ...(filter?.modelName != null ? { model: { name: filter.modelName, deleted: false } } : {}),
    ...(filter?.status != null ? { status: filter.status } : {}),
    ...(filter?.requestedBy != null ? { requesterId: String(filter.requestedBy) } : {}),
  };
  if (!filter?.actionableByMe) return where;
  // Eligibility lives in JSON (the rule's reviewers); it is checked by the same pure function the
  // rules use, over the open requests of models the caller may read.
  const open = await ctx.reader.reviewRequest.findMany({
    where: { ...where, status: "OPEN" },
    take: MAX_ACTIONABLE_SCAN,
  });
  return { id: { in: open.filter((r) => canApprove(ctx, r)).map((r) => r.id) } };
}

builder.queryFields((t) => ({
  reviewRequests: t.prismaConnection(
    {
      type: "ReviewRequest",
      cursor: "id",
      description: "Review requests of the models the caller may read, newest first, as a Relay connection.",
      args: {
        filter: t.arg({ type: ReviewRequestFilter, required: false, description: "Conditions to match." }),
      },
      totalCount: async (_root, args, ctx) =>
        ctx.reader.reviewRequest.count({ where: await requestsWhere(ctx, args.filter) }),
      resolve: async (query, _root, args, ctx) =>
        ctx.reader.reviewRequest.findMany({
          ...query,
          where: await requestsWhere(ctx, args.filter),
          orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        }),
    },
    ReviewRequestConnectionRef,
  ),
}));

builder.prismaObjectFields("ModelVersion", (t) => ({
  reviewRequests: t.prismaField({
    type: ["ReviewRequest"],
    description: "Review requests about this version, oldest first (at most 100).",
    resolve: (query, v, _args, ctx) =>
      ctx.reader.reviewRequest.findMany({
        ...query,
        where: { modelId: v.modelId, version: v.version },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: 100,
      }),
  }),
}));
