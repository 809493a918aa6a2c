// Who is calling: the principal a request acts as, and the contract between the code that proves
// identity at the edge (tokens, SSO, local mode) and the access context that knows principals.
// Everything that records or checks "who" takes a Principal from here.

/** A user is a person; a service account is a CI job or serving system. */
export type PrincipalKind = "USER" | "SERVICE_ACCOUNT";

/** Registry-wide roles (per-model permissions come on top of these). */
export type RegistryRole = "ADMIN" | "MEMBER" | "VIEWER" | "AUDITOR";

/** What a token may be used for. */
export type TokenScope = "read" | "write" | "admin";

/** How the caller proved who they are; recorded with every event they cause. */
export type Credential =
  | { readonly kind: "token"; readonly tokenId: string; readonly scopes: readonly TokenScope[] }
  | { readonly kind: "jwt"; readonly jti: string | null; readonly issuer: string }
  /** AUTH=local on loopback: no credentials, acting as the local administrator. */
  | { readonly kind: "local" };

export interface Principal {
  /** Stable id (never reused, unchanged by renames). */
  readonly id: string;
  readonly kind: PrincipalKind;
  readonly displayName: string;
  readonly email: string | null;
  readonly role: RegistryRole;
  /** Teams the principal belongs to (ids). */
  readonly teamIds: readonly string[];
}

/** A principal together with the credential this request used. */
export interface Caller {
  readonly principal: Principal;
  readonly credential: Credential;
}

/** Claims of a verified SSO access token, already mapped from the issuer's names. */
export interface SsoClaims {
  readonly issuer: string;
  readonly subject: string;
  readonly email: string | null;
  readonly name: string | null;
  /** Group names from the configured groups claim (mapped to teams of the same name). */
  readonly groups: readonly string[];
  readonly jti: string | null;
}

/**
 * What the edge needs from the access context to turn credentials into a caller. Implemented by
 * src/access (principals, teams and tokens as events and projections).
 */
export interface PrincipalDirectory {
  /**
   * The caller a registry API token (`rgo_…`) stands for; null when unknown, revoked or expired
   * (at `expiryAt`, default `now`).
   */
  verifyToken(secret: string, now: Date, expiryAt?: Date): Promise<Caller | null>;
  /** The user an SSO identity maps to, created on first sight; its teams follow the groups claim. */
  principalForSso(claims: SsoClaims, now: Date): Promise<Principal>;
  /** AUTH=local: the administrator that credential-less local callers act as, created on first use. */
  localAdministrator(osUserName: string, now: Date): Promise<Principal>;
}
