// Who an HTTP request acts as, once the server has authenticated it (../access/authenticate.ts).
// Everything behind the server's authentication step (Yoga's context, the upload handler, the
// artifact routes) reads the caller from here instead of looking at credentials again, except
// uploads: they authenticate the request again once its body has arrived (authenticateAgain).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Authentication } from "../access/authenticate.ts";
import type { Caller } from "../access/principal.ts";

/** How the server authenticates a request again, and refuses it, as it did on its arrival (one per server). */
export interface Reauthentication {
  /** The server's clock: a request's arrival, as the authenticator reads time. */
  now(): Date;
  /**
   * The request's own headers through the server's authenticator (no failed-authentication limit),
   * expiry judged as of `arrival`: a token that expired while the body came still counts.
   */
  authenticate(req: IncomingMessage, arrival: Date): Promise<Authentication>;
  /** Answers 401 UNAUTHENTICATED in the shape of the request's endpoint, with WWW-Authenticate. */
  refuse(req: IncomingMessage, res: ServerResponse, refusal: Authentication & { readonly ok: false }): void;
}

/** What the server knows of an authenticated request: one entry per request, set once on its arrival. */
interface Remembered {
  caller: Caller;
  readonly again: { readonly reauthentication: Reauthentication; readonly arrival: Date } | null;
}

const remembered = new WeakMap<IncomingMessage, Remembered>();

/** The caller the server authenticated, and (from the server) how to authenticate the request again. */
export function rememberCaller(req: IncomingMessage, caller: Caller, again?: Reauthentication): void {
  const reauthentication = again === undefined ? null : { reauthentication: again, arrival: again.now() };
  remembered.set(req, { caller, again: reauthentication });
}

/** The request's caller; a request that reaches a handler unauthenticated is a defect, never a guest. */
export function callerOf(req: IncomingMessage): Caller {
  const caller = remembered.get(req)?.caller;
  if (caller === undefined) throw new Error("request reached a handler without being authenticated");
  return caller;
}

/** The request's caller, or null before (or without) authentication: for its log line. */
export function knownCallerOf(req: IncomingMessage): Caller | null {
  return remembered.get(req)?.caller ?? null;
}

/**
 * Authenticates the request again from its own headers, for a handler that has read a long body
 * (an upload: minutes) and is about to record what it carried: a token revoked, a principal
 * disabled, a role or a team membership changed meanwhile counts, as it would for a request
 * arriving now. Expiry alone does not: a token (or an SSO access token) is judged unexpired as of
 * the request's arrival, since a client cannot renew it in the middle of a request and an upload
 * may outlast a short-lived one. Returns the caller as it is now (remembered: callerOf answers it from here on, so
 * access computed afterwards is the current one), or null once the request has been answered
 * 401 UNAUTHENTICATED, exactly as on arrival; the handler then records nothing.
 *
 * Not charged to the failed-authentication limit (../http/rateLimit.ts), and not held back by it:
 * these are the very credentials the limit let through on arrival, not a new guess, and only one
 * check per upload follows them. One token lookup (an indexed query, ~0.1 ms) per upload.
 */
export async function authenticateAgain(req: IncomingMessage, res: ServerResponse): Promise<Caller | null> {
  const entry = remembered.get(req);
  if (entry?.again == null) throw new Error("request reached an upload handler without being authenticated");
  const { reauthentication, arrival } = entry.again;
  const authentication = await reauthentication.authenticate(req, arrival);
  if (!authentication.ok) {
    reauthentication.refuse(req, res, authentication);
    return null;
  }
  entry.caller = authentication.caller;
  return authentication.caller;
}

/** The headers of a Node request, as the authenticator and request metadata read them. */
export const nodeHeaders = (req: IncomingMessage) => ({
  get(name: string): string | null {
    const value = req.headers[name.toLowerCase()];
    return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
  },
});
