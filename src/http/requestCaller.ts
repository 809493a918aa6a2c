// Who an HTTP request acts as, once the server has authenticated it (../access/authenticate.ts).
// Everything behind the server's authentication step (Yoga's context, the upload handler, the
// artifact routes) reads the caller from here instead of looking at credentials again.
import type { IncomingMessage } from "node:http";
import type { Caller } from "../access/principal.ts";

const callers = new WeakMap<IncomingMessage, Caller>();

export function rememberCaller(req: IncomingMessage, caller: Caller): void {
  callers.set(req, caller);
}

/** The request's caller; a request that reaches a handler unauthenticated is a defect, never a guest. */
export function callerOf(req: IncomingMessage): Caller {
  const caller = callers.get(req);
  if (caller === undefined) throw new Error("request reached a handler without being authenticated");
  return caller;
}

/** The request's caller, or null before (or without) authentication: for its log line. */
export function knownCallerOf(req: IncomingMessage): Caller | null {
  return callers.get(req) ?? null;
}

/** The headers of a Node request, as the authenticator and request metadata read them. */
export const nodeHeaders = (req: IncomingMessage) => ({
  get(name: string): string | null {
    const value = req.headers[name.toLowerCase()];
    return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
  },
});
