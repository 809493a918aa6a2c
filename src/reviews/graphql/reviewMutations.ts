// Mutations of protected promotions: the policy (MANAGE), opening a review request (EDIT),
// approving, rejecting (eligible reviewers) and cancelling (requester or MANAGE). Each is a command
// on the model's stream, run by the one command runner; a request names its model stream through
// the review_requests table. Identities come from the caller, never from the input.
import { randomUUID } from "node:crypto";
import { granteeOf, requireGrantees } from "../../access/graphql/modelPermissions.ts";
import { permissionOnModel } from "../../access/scopedReader.ts";
import { NotFoundError, ValidationError } from "../../domain/errors.ts";
import type { Grantee } from "../../domain/modelPermissions.ts";
import { checkStorableText } from "../../domain/validation.ts";
import { builder } from "../../graphql/builder.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import { appendedEvents, runCommand } from "../../graphql/commandResult.ts";
import type { CommandPayload } from "../../graphql/commandResult.ts";
import { StageEnum } from "../../graphql/types/common.ts";
import { EXPECTED_REVISION_FIELD, commandMutationErrors } from "../../graphql/types/errors.ts";
import { RegisteredModelPayloadRef } from "../../graphql/types/registeredModel.ts";
import type { ReviewCommand } from "../domain/commands.ts";
import type { ReviewRule, ReviewTarget } from "../domain/events.ts";
import { REVIEW_LIMITS } from "../domain/policy.ts";
import { reviewerOf } from "./reviewTypes.ts";

interface ReviewPayload extends CommandPayload {
  readonly requestId: string;
}

const ReviewRequestPayloadRef = builder.objectRef<ReviewPayload>("ReviewRequestPayload").implement({
  description: "The review request after a successful change, and the events the change appended.",
  fields: (t) => ({
    reviewRequest: t.prismaField({
      type: "ReviewRequest",
      description: "The review request as it is now.",
      resolve: (query, payload, _args, ctx) =>
        ctx.reader.reviewRequest.findUniqueOrThrow({ ...query, where: { id: payload.requestId } }),
    }),
    events: t.prismaField({
      type: ["Event"],
      description:
        "Events appended by this change, in order (for the approval that applies a request: the approval, the application and the change itself).",
      resolve: (query, payload, _args, ctx) => appendedEvents(query, payload.events, ctx),
    }),
  }),
});

const ReviewerInput = builder.inputType("ReviewerInput", {
  description: "A reviewer: exactly one of principalId and teamId.",
  fields: (t) => ({
    principalId: t.id({ required: false, description: "A user or service account." }),
    teamId: t.id({ required: false, description: "A team (all its members may review)." }),
  }),
});

const ReviewPolicyRuleInput = builder.inputType("ReviewPolicyRuleInput", {
  description: "One protection: exactly one of stage and aliasPattern, and who approves.",
  fields: (t) => ({
    stage: t.field({
      type: StageEnum,
      required: false,
      description: "Protect moving versions into this stage (Staging or Production).",
    }),
    aliasPattern: t.string({
      required: false,
      description:
        "Protect aliases with this name, or matching it where `*` stands for any characters (`prod-*`).",
    }),
    requiredApprovals: t.int({ description: "Approvals needed (1-10)." }),
    reviewers: t.field({
      type: [ReviewerInput],
      description: "Who may approve (at least one, at most 50): users and teams.",
    }),
    allowSelfApproval: t.boolean({
      required: false,
      description: "Whether the requester may approve their own request (default false).",
    }),
  }),
});

/** A policy must name reviewers who exist: a typo would otherwise lock a stage for good. */
async function reviewersOf(
  ctx: GraphQLContext,
  rules: readonly {
    reviewers: readonly { principalId?: string | number | null; teamId?: string | number | null }[];
  }[],
): Promise<Grantee[][]> {
  if (rules.length > REVIEW_LIMITS.maxRules)
    throw new ValidationError("rules", `at most ${REVIEW_LIMITS.maxRules} rules`);
  const named: { grantee: Grantee; field: string }[] = [];
  const result = rules.map((rule, i) => {
    if (rule.reviewers.length > REVIEW_LIMITS.maxReviewersPerRule)
      throw new ValidationError(
        `rules.${i}.reviewers`,
        `at most ${REVIEW_LIMITS.maxReviewersPerRule} reviewers`,
      );
    return rule.reviewers.map((r, j) => {
      const field = `rules.${i}.reviewers.${j}`;
      const grantee = granteeOf(r, field);
      named.push({ grantee, field });
      return grantee;
    });
  });
  await requireGrantees(ctx, named);
  return result;
}

/** The model stream of a request the caller may read; otherwise it does not exist for the caller. */
async function streamOfRequest(
  ctx: GraphQLContext,
  id: string | number,
): Promise<{ kind: "stream"; modelId: string }> {
  const key = String(id);
  const bad = checkStorableText("id", key);
  if (bad) throw bad;
  const row = await ctx.reader.reviewRequest.findUnique({ where: { id: key }, select: { modelId: true } });
  if (row === null) throw new NotFoundError("ReviewRequest", key);
  return { kind: "stream", modelId: row.modelId };
}

async function runOnRequest(
  ctx: GraphQLContext,
  id: string | number,
  command: ReviewCommand,
): Promise<ReviewPayload> {
  const ref = await streamOfRequest(ctx, id);
  const payload = await runCommand(ctx, ref, command, undefined);
  return { ...payload, requestId: String(id) };
}

/** Errors of a mutation on an existing request: the command's, an unknown id, a malformed id. */
const onRequestErrors = (name: string, command: ReviewCommand["type"]) =>
  commandMutationErrors(name, command, [NotFoundError, ValidationError]);

builder.mutationFields((t) => ({
  setModelReviewPolicy: t.field({
    type: RegisteredModelPayloadRef,
    description:
      "Replaces a model's review policy: which stages and aliases are protected, how many approvals a change to each needs and who may give them. An empty list removes every protection; the same policy again changes nothing. Needs MANAGE on the model. Requests already open keep the rule they were opened under.",
    errors: commandMutationErrors("SetModelReviewPolicy", "SetModelReviewPolicy", [ValidationError]),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("SetModelReviewPolicyInput", {
          description: "The model and its new policy.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            rules: f.field({ type: [ReviewPolicyRuleInput], description: "The protections (at most 20)." }),
            expectedRevision: f.int(EXPECTED_REVISION_FIELD),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      // A model the caller cannot see is missing before its reviewers are looked up: the lookups
      // are no work to be had (nor principal ids to probe) on someone else's model.
      const unstorable = checkStorableText("name", input.name);
      if (unstorable) throw unstorable;
      if ((await permissionOnModel(ctx, input.name)) === null)
        throw new NotFoundError("RegisteredModel", input.name);
      const reviewers = await reviewersOf(ctx, input.rules);
      const rules: ReviewRule[] = input.rules.map((r, i) => ({
        ...(r.stage != null ? { stage: r.stage } : {}),
        ...(r.aliasPattern != null ? { aliasPattern: r.aliasPattern } : {}),
        requiredApprovals: r.requiredApprovals,
        reviewers: reviewers[i] ?? [],
        allowSelfApproval: r.allowSelfApproval ?? false,
      }));
      return runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "SetModelReviewPolicy", data: { rules } },
        input.expectedRevision,
      );
    },
  }),

  requestReview: t.field({
    type: ReviewRequestPayloadRef,
    description:
      "Opens a review request to move a version into a protected stage, or to point a protected alias at it. Needs EDIT on the model; the version must be READY and the target protected. When the policy's approvals are reached, the change is made by the last approval.",
    errors: commandMutationErrors("RequestReview", "OpenReviewRequest", [ValidationError]),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("RequestReviewInput", {
          description: "The version, the change (exactly one of stage and alias), and why.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            version: f.int({ description: "Version number." }),
            stage: f.field({
              type: StageEnum,
              required: false,
              description: "The protected stage to move it into.",
            }),
            archiveExistingVersions: f.boolean({
              required: false,
              description: "With stage: archive the versions already in it when the change is made.",
            }),
            alias: f.string({ required: false, description: "The protected alias to point at it." }),
            reason: f.string({ description: "Why (required, up to 5,000 characters)." }),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      if ((input.stage == null) === (input.alias == null))
        throw new ValidationError("stage", "give exactly one of stage and alias");
      const target: ReviewTarget =
        input.stage != null
          ? {
              kind: "STAGE",
              stage: input.stage,
              archiveExistingVersions: input.archiveExistingVersions ?? false,
            }
          : { kind: "ALIAS", alias: input.alias ?? "" };
      const requestId = randomUUID();
      const payload = await runCommand(
        ctx,
        { kind: "live", name: input.name },
        {
          type: "OpenReviewRequest",
          data: {
            requestId,
            version: input.version,
            target,
            reason: input.reason,
            requesterId: ctx.caller.principal.id,
          },
        },
        undefined,
        input.version,
      );
      return { ...payload, requestId };
    },
  }),

  approveReviewRequest: t.field({
    type: ReviewRequestPayloadRef,
    description:
      "Approves an open review request as one of its reviewers (listed, or a member of a listed team; not its requester unless the rule allows it; once). Earlier approvals count only while their reviewers could still give them (not disabled, not VIEWER or AUDITOR, still listed or in a listed team, still able to read the model). The approval that reaches the required count makes the change in the same decision; if the change is refused (e.g. the version has unsafe artifacts), the approval is refused with that error and nothing is recorded.",
    errors: onRequestErrors("ApproveReviewRequest", "ApproveReviewRequest"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("ApproveReviewRequestInput", {
          description: "The request and a comment.",
          fields: (f) => ({
            id: f.id({ description: "The review request." }),
            comment: f.string({ required: false, description: "A comment (up to 5,000 characters)." }),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const requestId = String(input.id);
      // The approvers' standing is read in the command's transaction (./approvalTransaction.ts).
      return runOnRequest(ctx, input.id, {
        type: "ApproveReviewRequest",
        data: { requestId, comment: input.comment ?? "", lapsedApprovers: [], ...reviewerOf(ctx) },
      });
    },
  }),

  rejectReviewRequest: t.field({
    type: ReviewRequestPayloadRef,
    description:
      "Rejects an open review request as one of its reviewers; one rejection closes it. The comment says why.",
    errors: onRequestErrors("RejectReviewRequest", "RejectReviewRequest"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("RejectReviewRequestInput", {
          description: "The request and why it is rejected.",
          fields: (f) => ({
            id: f.id({ description: "The review request." }),
            comment: f.string({ description: "Why (required, up to 5,000 characters)." }),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runOnRequest(ctx, input.id, {
        type: "RejectReviewRequest",
        data: { requestId: String(input.id), comment: input.comment, ...reviewerOf(ctx) },
      }),
  }),

  cancelReviewRequest: t.field({
    type: ReviewRequestPayloadRef,
    description: "Cancels an open review request: its requester, or someone with MANAGE on the model.",
    errors: onRequestErrors("CancelReviewRequest", "CancelReviewRequest"),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("CancelReviewRequestInput", {
          description: "The request and why it is cancelled.",
          fields: (f) => ({
            id: f.id({ description: "The review request." }),
            reason: f.string({ description: "Why (required, up to 5,000 characters)." }),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) =>
      runOnRequest(ctx, input.id, {
        type: "CancelReviewRequest",
        data: { requestId: String(input.id), reason: input.reason },
      }),
  }),
}));
