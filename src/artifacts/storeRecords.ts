// The small JSON records a blob store keeps beside its blobs (its identity, damage found in a blob),
// read back the same way whatever holds them, a file or an object.
import { z } from "zod";

export const identitySchema = z.object({ id: z.string().regex(/^[0-9a-f-]{36}$/) });

export const damageSchema = z.object({
  actual: z.string().nullable(),
  size: z.number(),
  detectedAt: z.coerce.date(),
  detectedBy: z.string(),
});

/** JSON.parse that answers null for text that is not JSON (a record written by hand, or cut short). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
