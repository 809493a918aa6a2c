// TEST DOUBLE: an in-memory PrincipalDirectory for authentication tests. The real directory
// (principals, teams and tokens as events and projections) lives in src/access; this one only
// keeps maps, so the edge can be tested against the interface alone.
import type {
  Caller,
  Principal,
  PrincipalDirectory,
  SsoClaims,
  TokenScope,
} from "../../src/access/principal.ts";

interface TokenEntry {
  readonly tokenId: string;
  readonly principal: Principal;
  readonly scopes: readonly TokenScope[];
  readonly expiresAt: Date | null;
  revoked: boolean;
}

export class InMemoryPrincipalDirectory implements PrincipalDirectory {
  readonly tokens = new Map<string, TokenEntry>();
  readonly ssoUsers = new Map<string, Principal>();
  /** The claims principalForSso was called with, in order. */
  readonly ssoCalls: SsoClaims[] = [];
  private nextId = 1;

  /** Issues a token for a principal; returns its secret. */
  issueToken(
    principal: Principal,
    options: { scopes?: readonly TokenScope[]; expiresAt?: Date | null; tokenId?: string } = {},
  ): { secret: string; tokenId: string } {
    const tokenId = options.tokenId ?? `tok-${this.nextId++}`;
    const secret = `rgo_test_${tokenId}_${"x".repeat(24)}`;
    this.tokens.set(secret, {
      tokenId,
      principal,
      scopes: options.scopes ?? ["read", "write"],
      expiresAt: options.expiresAt ?? null,
      revoked: false,
    });
    return { secret, tokenId };
  }

  revoke(secret: string): void {
    const entry = this.tokens.get(secret);
    if (entry) entry.revoked = true;
  }

  verifyToken(secret: string, now: Date): Promise<Caller | null> {
    const entry = this.tokens.get(secret);
    if (entry === undefined || entry.revoked) return Promise.resolve(null);
    if (entry.expiresAt !== null && entry.expiresAt <= now) return Promise.resolve(null);
    return Promise.resolve({
      principal: entry.principal,
      credential: { kind: "token", tokenId: entry.tokenId, scopes: entry.scopes },
    });
  }

  principalForSso(claims: SsoClaims): Promise<Principal> {
    this.ssoCalls.push(claims);
    const key = `${claims.issuer}#${claims.subject}`;
    let principal = this.ssoUsers.get(key);
    if (principal === undefined) {
      principal = {
        id: `sso-user-${this.nextId++}`,
        kind: "USER",
        displayName: claims.name ?? claims.email ?? claims.subject,
        email: claims.email,
        role: "MEMBER",
        teamIds: claims.groups.map((g) => `team-${g}`),
      };
      this.ssoUsers.set(key, principal);
    }
    return Promise.resolve(principal);
  }

  localAdministrator(osUserName: string): Promise<Principal> {
    return Promise.resolve({
      id: `local-admin-${osUserName}`,
      kind: "USER",
      displayName: osUserName,
      email: null,
      role: "ADMIN",
      teamIds: [],
    });
  }
}

export const principal = (name: string, kind: Principal["kind"] = "USER"): Principal => ({
  id: `principal-${name}`,
  kind,
  displayName: name,
  email: null,
  role: "MEMBER",
  teamIds: [],
});
