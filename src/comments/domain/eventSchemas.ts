// Schemas of comment events read back from the store (schema version 1 of each); they join the model
// stream's table in src/domain/registeredModel/eventSchemas.ts.
import { z } from "zod";

const version = z.number().int().positive();
const commentId = z.string().min(1);

export const COMMENT_EVENT_SCHEMAS = {
  ModelVersionCommentAdded: z.object({ commentId, version, body: z.string(), authorId: z.string() }),
  ModelVersionCommentEdited: z.object({ commentId, version, body: z.string() }),
  ModelVersionCommentDeleted: z.object({ commentId, version }),
};
