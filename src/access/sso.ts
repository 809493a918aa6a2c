// Single sign-on: OIDC/JWT access tokens from one configured issuer, verified by `jose` against the
// issuer's published keys (a JWKS URL, or a JWKS file for air-gapped installs), then mapped to
// SsoClaims. Signature, issuer, audience, lifetime and algorithm are all jose's checks; nothing here
// looks at a signature itself.
import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify } from "jose";
import type { JWTPayload, JWTVerifyGetKey } from "jose";
import type { SsoClaims } from "./principal.ts";

export interface OidcConfig {
  readonly issuer: string;
  readonly audience: string;
  /** Exactly one of jwksUrl and jwksFile. */
  readonly jwksUrl?: string | undefined;
  readonly jwksFile?: string | undefined;
  readonly clockSkewSeconds: number;
  /** Accepted `alg` values; `none` is never among them. */
  readonly algorithms: readonly string[];
  /** The claim holding the caller's groups (mapped to teams). */
  readonly groupsClaim: string;
  /** The web interface's sign-in at the issuer (OIDC_WEB_CLIENT_ID); unset: tokens only. */
  readonly webClient?: OidcWebClient | undefined;
}

/** A public client of the issuer: the authorization code flow with PKCE, run by the browser. */
export interface OidcWebClient {
  readonly clientId: string;
  /** Space-separated scopes the sign-in asks for. */
  readonly scopes: string;
}

export const DEFAULT_OIDC_ALGORITHMS = ["RS256", "ES256", "EdDSA"] as const;

export interface SsoVerifier {
  /** The token's mapped claims, or null when it is not a valid token of the configured issuer. */
  verify(token: string, now: Date): Promise<SsoClaims | null>;
}

/** Three base64url segments: the shape of a compact JWS (what `Bearer` SSO tokens are). */
export const looksLikeJwt = (token: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);

function keySet(config: OidcConfig): JWTVerifyGetKey {
  if (config.jwksFile !== undefined) {
    try {
      return createLocalJWKSet(
        JSON.parse(readFileSync(config.jwksFile, "utf8")) as Parameters<typeof createLocalJWKSet>[0],
      );
    } catch (error) {
      throw new Error(
        `OIDC_JWKS_FILE ${config.jwksFile} cannot be used as a JSON Web Key Set: ${(error as Error).message}`,
      );
    }
  }
  if (config.jwksUrl !== undefined) return createRemoteJWKSet(new URL(config.jwksUrl));
  throw new Error("OIDC needs OIDC_JWKS_URL or OIDC_JWKS_FILE");
}

const text = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

/** The groups claim as a list of names: an array of strings, or one string (some issuers send that). */
function groupsOf(value: unknown): string[] {
  if (typeof value === "string") return value === "" ? [] : [value];
  if (Array.isArray(value))
    return [...new Set(value.filter((g): g is string => typeof g === "string" && g !== ""))];
  return [];
}

/** Maps a verified payload to SsoClaims (sub is required; email, name and groups are optional). */
export function claimsFrom(payload: JWTPayload, issuer: string, groupsClaim: string): SsoClaims | null {
  const subject = text(payload.sub);
  if (subject === null) return null;
  return {
    issuer,
    subject,
    email: text(payload.email),
    name: text(payload.name) ?? text(payload.preferred_username),
    groups: groupsOf(payload[groupsClaim]),
    jti: text(payload.jti),
  };
}

/** The issuer's signing keys could not be fetched, so no token of it can be checked right now. */
export class SsoUnavailableError extends Error {
  constructor(cause: unknown) {
    super("the identity provider's signing keys could not be fetched", { cause });
    this.name = "SsoUnavailableError";
  }
}

export function createSsoVerifier(config: OidcConfig): SsoVerifier {
  if (config.algorithms.some((alg) => alg.toLowerCase() === "none"))
    throw new Error("OIDC_ALGORITHMS must not contain `none`");
  const keys = keySet(config);
  return {
    async verify(token, now) {
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: [...config.algorithms],
          clockTolerance: config.clockSkewSeconds,
          currentDate: now,
          requiredClaims: ["sub", "exp"],
        });
        return claimsFrom(payload, config.issuer, config.groupsClaim);
      } catch (error) {
        // Keys that did not arrive in time, or arrived as no key set at all, say nothing about the
        // token: it cannot be checked (not a wrong guess, and not counted as a failed authentication).
        if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid)
          throw new SsoUnavailableError(error);
        // Every other way a token can be wrong is jose's JOSEError (bad signature, claims, no
        // matching key). A JWKS URL that cannot be reached at all fails inside fetch instead: the
        // token cannot be checked, which is not the server's defect either.
        if (error instanceof errors.JOSEError) return null;
        throw new SsoUnavailableError(error);
      }
    },
  };
}
