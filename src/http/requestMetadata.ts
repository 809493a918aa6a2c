// The one place that decides who is acting and which request a change belongs to: the caller the
// request was authenticated as (../access/authenticate.ts) and its request id.
import { randomUUID } from "node:crypto";
import { actorOf } from "../access/actor.ts";
import type { Caller } from "../access/principal.ts";
import type { RequestMetadata } from "../application/executeCommand.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A client's X-Request-Id when it is one we can log and store safely, else a new random one. */
export function requestIdFrom(header: string | null | undefined): string {
  return header && REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * Over HTTP the server has already settled the request's id (../monitoring/requestObserver.ts puts
 * it in the request's X-Request-Id header), so events, log line and response header agree; a
 * WebSocket operation gets the connection's id when its client gave one, else one of its own.
 */
export function requestMetadata(
  headers: { get(name: string): string | null },
  caller: Caller,
): RequestMetadata {
  return { actor: actorOf(caller), correlationId: requestIdFrom(headers.get("x-request-id")) };
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
