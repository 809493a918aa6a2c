// The one place that decides who is acting and which request a change belongs to: the caller the
// request was authenticated as (../access/authenticate.ts) and its request id.
import { randomUUID } from "node:crypto";
import { actorOf } from "../access/actor.ts";
import type { Caller } from "../access/principal.ts";
import type { RequestMetadata } from "../application/executeCommand.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestMetadata(
  headers: { get(name: string): string | null },
  caller: Caller,
): RequestMetadata {
  const requestId = headers.get("x-request-id");
  return {
    actor: actorOf(caller),
    correlationId: requestId && REQUEST_ID.test(requestId) ? requestId : randomUUID(),
  };
}

/**
 * Request headers of a GraphQL-over-WebSocket operation: the client's `connection_init` payload
 * (browsers cannot set headers on a WebSocket, so e.g. `{"x-request-id": "…"}` goes there; keys are
 * matched case-insensitively, string values only) over the headers of the HTTP upgrade request.
 */
export function connectionHeaders(
  connectionParams: Readonly<Record<string, unknown>> | undefined,
  upgradeHeaders: Readonly<Record<string, string | string[] | undefined>>,
): { get(name: string): string | null } {
  const params = new Map<string, string>();
  for (const [key, value] of Object.entries(connectionParams ?? {}))
    if (typeof value === "string") params.set(key.toLowerCase(), value);
  return {
    get(name) {
      const key = name.toLowerCase();
      const header = upgradeHeaders[key];
      return params.get(key) ?? (Array.isArray(header) ? (header[0] ?? null) : (header ?? null));
    },
  };
}
