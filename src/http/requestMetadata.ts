// The one place that decides who is acting and which request a change belongs to. Until
// authentication exists every request acts as `anonymous`.
import { randomUUID } from "node:crypto";
import type { RequestMetadata } from "../application/executeCommand.ts";

export const ANONYMOUS = "anonymous";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestMetadata(headers: { get(name: string): string | null }): RequestMetadata {
  const requestId = headers.get("x-request-id");
  return {
    actor: ANONYMOUS,
    correlationId: requestId && REQUEST_ID.test(requestId) ? requestId : randomUUID(),
  };
}
