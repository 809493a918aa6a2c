// Zod schemas of the review events read back from the store (current payload versions).
import { z } from "zod";
import { GRANTEE_KINDS } from "../../domain/modelPermissions.ts";
import { STAGES } from "../../domain/stages.ts";
import type { ReviewEventType } from "./events.ts";

const version = z.number().int().positive();
const grantee = z.object({ kind: z.enum(GRANTEE_KINDS), id: z.string() });
const target = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("STAGE"), stage: z.enum(STAGES), archiveExistingVersions: z.boolean() }),
  z.object({ kind: z.literal("ALIAS"), alias: z.string() }),
]);
const rule = z.object({
  stage: z.enum(STAGES).optional(),
  aliasPattern: z.string().optional(),
  requiredApprovals: z.number().int().positive(),
  reviewers: z.array(grantee),
  allowSelfApproval: z.boolean(),
});
const requestId = z.string();

export const REVIEW_DATA_SCHEMAS = {
  ModelReviewPolicySet: z.object({ rules: z.array(rule), previousRules: z.array(rule).optional() }),
  ReviewRequestOpened: z.object({
    requestId,
    version,
    target,
    reason: z.string(),
    requesterId: z.string(),
    requiredApprovals: z.number().int().positive(),
    reviewers: z.array(grantee),
    allowSelfApproval: z.boolean(),
  }),
  ReviewRequestApproved: z.object({ requestId, reviewerId: z.string(), comment: z.string() }),
  ReviewRequestRejected: z.object({ requestId, reviewerId: z.string(), comment: z.string() }),
  ReviewRequestCancelled: z.object({ requestId, reason: z.string() }),
  ReviewRequestApplied: z.object({ requestId }),
  ReviewRequestStaled: z.object({ requestId, reason: z.string() }),
  ReviewPolicyBypassed: z.object({ version, target, reason: z.string() }),
} satisfies Record<ReviewEventType, z.ZodType>;
