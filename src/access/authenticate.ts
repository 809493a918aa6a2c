// Authentication at the edge: the one place that turns a request's credentials into the Caller it
// acts as. The HTTP server runs it once per request before routing (GraphQL POST/GET, SSE, multipart
// uploads, artifact routes) and the WebSocket server once per connection at `connection_init` (and
// again before each operation, so a revoked token or an expired JWT stops a long-lived socket).
//
//   Authorization: Bearer rgo_…   an API token, verified by the PrincipalDirectory
//   Authorization: Bearer <JWT>    an SSO access token, verified against the configured issuer
//   Authorization: Basic …         user:token (MLflow clients); the password is taken as the token
//   (nothing)                      AUTH=local: the local administrator; AUTH=required: refused
//
// Credentials that are present but wrong are always refused, in local mode too: a client that
// meant to be someone must not silently become the administrator.
import os from "node:os";
import { DomainError } from "../domain/errors.ts";
import type { AuthMode } from "./authMode.ts";
import type { Caller, Principal, PrincipalDirectory } from "./principal.ts";
import { looksLikeJwt, SsoUnavailableError } from "./sso.ts";
import type { SsoVerifier } from "./sso.ts";

export const TOKEN_PREFIX = "rgo_";

export interface HeaderSource {
  get(name: string): string | null;
}

export type BearerCredential =
  | { readonly kind: "none" }
  | { readonly kind: "bearer"; readonly token: string }
  | { readonly kind: "malformed" };

const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;

/**
 * Whether an `Authorization` header brings credentials at all (absent or blank: none). The one
 * rule for it: what the failed-authentication limit holds back (../http/rateLimit.ts) is exactly
 * what is then checked as credentials.
 */
export function bringsCredentials(value: string | null): value is string {
  return value !== null && value.trim() !== "";
}

/**
 * The `Authorization` header: absent, `Bearer <token>`, `Basic base64(user:token)` (schemes
 * case-insensitive), or anything else. Basic is how MLflow clients send MLFLOW_TRACKING_USERNAME /
 * MLFLOW_TRACKING_PASSWORD: its password is taken as the token and the user name is ignored (the
 * token alone says who is calling).
 */
export function parseAuthorization(value: string | null): BearerCredential {
  if (!bringsCredentials(value)) return { kind: "none" };
  const match = /^\s*(bearer|basic)[ \t]+([\x21-\x7e]+)\s*$/i.exec(value);
  const scheme = match?.[1]?.toLowerCase();
  const credentials = match?.[2];
  if (credentials === undefined) return { kind: "malformed" };
  if (scheme === "bearer") return { kind: "bearer", token: credentials };
  const decoded = Buffer.from(credentials, "base64");
  // Not canonical base64 (or not UTF-8 text): refused rather than guessed at.
  if (withoutPadding(decoded.toString("base64")) !== withoutPadding(credentials))
    return { kind: "malformed" };
  const text = decoded.toString("utf8");
  const colon = text.indexOf(":");
  const token = colon < 0 ? "" : text.slice(colon + 1);
  return TOKEN_CHARACTERS.test(token) ? { kind: "bearer", token } : { kind: "malformed" };
}

/**
 * `text` without the `=` that end it. A loop, not `/=+$/`: that regex is tried from every `=` of a
 * run the text does not end with, so a header of `=` before one other character took time in the
 * square of its length (16,000 of them 0.26 s, a WebSocket's 1 MiB connection parameters minutes),
 * before any token was checked.
 */
function withoutPadding(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d) end--;
  return text.slice(0, end);
}

export type Authentication =
  | { readonly ok: true; readonly caller: Caller }
  | {
      readonly ok: false;
      readonly reason: "missing" | "invalid";
      readonly message: string;
      /**
       * The refusal says nothing about whether the credential was right, so the address's failed
       * authentications are not charged: the SSO issuer's keys could not be fetched (the credential
       * could not be checked), or an SSO access token's signature verified but the registry cannot
       * store its identity (issuer or subject it refuses: the credential was valid).
       */
      readonly notAGuess?: true;
    };

const MISSING =
  "authentication required: send `Authorization: Bearer <token>` with an API token (rgo_…) or an SSO access token";
const INVALID =
  "the credentials are not accepted: the token is unknown, revoked or expired, or the access token is not valid for this registry";
const MALFORMED =
  "the Authorization header must be `Bearer <token>`, or `Basic` with the token as the password";

/** The `WWW-Authenticate` header of a 401 (RFC 6750). */
export const wwwAuthenticate = (reason: "missing" | "invalid") =>
  reason === "missing" ? 'Bearer realm="registro"' : 'Bearer realm="registro", error="invalid_token"';

export interface AuthenticatorOptions {
  readonly mode: AuthMode;
  readonly directory: PrincipalDirectory;
  /** Verifies SSO access tokens; null when no issuer is configured (JWTs are then refused). */
  readonly sso: SsoVerifier | null;
  readonly clock: () => Date;
  /** The OS user the local administrator is named after (default: os.userInfo().username). */
  readonly osUserName?: string;
}

export interface Authenticator {
  readonly mode: AuthMode;
  /**
   * Who the request with these headers acts as, or why it is refused. `expiryAt`: the time a token's
   * or an SSO access token's expiry is judged at (default now): an upload authenticated again once
   * its body has arrived judges it as of its arrival, so a token that expired while the bytes came
   * still counts; revocation, a disabled principal, roles and teams are judged as they are now.
   */
  authenticate(headers: HeaderSource, expiryAt?: Date): Promise<Authentication>;
}

export function osUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    // No passwd entry for the uid (containers run as arbitrary uids).
    return process.env.USER ?? process.env.LOGNAME ?? `uid-${process.getuid?.() ?? "unknown"}`;
  }
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { directory, sso, clock, mode } = options;
  const userName = options.osUserName ?? osUserName();
  // Created on first use by the directory; one lookup per process is enough.
  let localAdmin: Promise<Principal> | null = null;
  const localAdministrator = () => {
    localAdmin ??= directory.localAdministrator(userName, clock()).catch((error: unknown) => {
      localAdmin = null;
      throw error;
    });
    return localAdmin;
  };

  async function verify(token: string, expiryAt: Date | undefined): Promise<Caller | null> {
    const now = clock();
    if (token.startsWith(TOKEN_PREFIX)) return directory.verifyToken(token, now, expiryAt);
    if (sso === null || !looksLikeJwt(token)) return null;
    const claims = await sso.verify(token, expiryAt ?? now);
    if (claims === null) return null;
    const principal = await directory.principalForSso(claims, now);
    return { principal, credential: { kind: "jwt", jti: claims.jti, issuer: claims.issuer } };
  }

  return {
    mode,
    async authenticate(headers, expiryAt) {
      const credential = parseAuthorization(headers.get("authorization"));
      if (credential.kind === "malformed") return { ok: false, reason: "invalid", message: MALFORMED };
      if (credential.kind === "none") {
        if (mode === "required") return { ok: false, reason: "missing", message: MISSING };
        return { ok: true, caller: { principal: await localAdministrator(), credential: { kind: "local" } } };
      }
      let caller: Caller | null;
      try {
        caller = await verify(credential.token, expiryAt);
      } catch (error) {
        // Keys that cannot be fetched, or an identity (issuer, subject) the registry cannot store:
        // the credential cannot be accepted, and saying why lets the caller act on it.
        if (error instanceof SsoUnavailableError)
          return {
            ok: false,
            reason: "invalid",
            message: `${INVALID} (${error.message})`,
            notAGuess: true,
          };
        if (error instanceof DomainError)
          return { ok: false, reason: "invalid", message: `${INVALID} (${error.message})`, notAGuess: true };
        throw error;
      }
      return caller === null ? { ok: false, reason: "invalid", message: INVALID } : { ok: true, caller };
    },
  };
}
