// The access context's answer to "who is this?": turns a token, an SSO identity or local mode into
// a Principal. Token verification is one indexed lookup by hash on every call, with no cache, so a
// revocation, an expiry or a disabled principal is refused at once on every instance.
import type { CommandDeps, RequestMetadata } from "../application/executeCommand.ts";
import { AlreadyExistsError, DomainError, ValidationError } from "../domain/errors.ts";
import { unstorableText } from "../domain/validation.ts";
import {
  addTeamMember,
  createPrincipal,
  createTeam,
  removeTeamMember,
  updatePrincipalProfile,
} from "./accessCommands.ts";
import type { ExternalIdentity } from "./domain/events.ts";
import { TOKEN_SCOPES } from "./domain/events.ts";
import { ACCESS_LIMITS, checkDisplayName, checkEmail, checkTeamName } from "./domain/validation.ts";
import { LastUsedRecorder } from "./lastUsed.ts";
import type {
  Caller,
  Principal,
  PrincipalDirectory,
  PrincipalKind,
  RegistryRole,
  SsoClaims,
  TokenScope,
} from "./principal.ts";
import { hashToken, looksLikeToken } from "./tokenSecrets.ts";
import { rowBool, rowDateOrNull } from "../db/sql.ts";
import { systemActor } from "./actor.ts";

/** The issuer recorded for the local administrator's external identity. */
export const LOCAL_ISSUER = "local";
/** More groups than this in one token are ignored beyond the first (a hostile or misconfigured IdP). */
const MAX_SSO_GROUPS = 100;

/** The columns a Principal is made of (toPrincipal), with each membership's source and team name. */
export const principalSelect = {
  id: true,
  kind: true,
  displayName: true,
  email: true,
  role: true,
  disabled: true,
  memberships: { select: { teamId: true, source: true, team: { select: { name: true } } } },
} as const;

/** A row of verifyToken's statement (raw SQL: driver types, see rowBool/rowDateOrNull). */
interface TokenRow {
  token_id: string;
  scopes: string;
  revoked: unknown;
  expires_at: unknown;
  principal_id: string;
  kind: string;
  display_name: string;
  email: string | null;
  role: string;
  disabled: unknown;
  team_id: string | null;
}

interface PrincipalRow {
  id: string;
  kind: string;
  displayName: string;
  email: string | null;
  role: string;
  disabled: boolean;
  memberships: { teamId: string; source: string; team: { name: string } }[];
}

export const toPrincipal = (
  row: Omit<PrincipalRow, "memberships"> & { memberships: { teamId: string }[] },
): Principal => ({
  id: row.id,
  kind: row.kind as PrincipalKind,
  displayName: row.displayName,
  email: row.email,
  role: row.role as RegistryRole,
  teamIds: row.memberships.map((m) => m.teamId).sort(),
});

const parseScopes = (scopes: string): TokenScope[] =>
  scopes.split(",").filter((s): s is TokenScope => (TOKEN_SCOPES as readonly string[]).includes(s));

export interface AccessDirectoryOptions {
  /** How often recorded last-used times are written (ms); default 30 s. */
  readonly lastUsedFlushMs?: number;
  readonly onError?: (error: unknown) => void;
}

export class AccessDirectory implements PrincipalDirectory {
  readonly lastUsed: LastUsedRecorder;

  constructor(
    private readonly deps: CommandDeps,
    options: AccessDirectoryOptions = {},
  ) {
    this.lastUsed = new LastUsedRecorder(deps.db, options.onError);
    this.lastUsed.start(options.lastUsedFlushMs ?? 30_000);
  }

  /** The token's caller, or null; its expiry is judged at `expiryAt` (default `now`, see Authenticator). */
  async verifyToken(secret: string, now: Date, expiryAt: Date = now): Promise<Caller | null> {
    if (!looksLikeToken(secret)) return null;
    // Runs on every authenticated request: one statement past Prisma, whose planning of the same
    // lookup (token, principal, memberships) cost about a millisecond of CPU, more than a whole
    // createModelVersion. One row per team membership (one row when there is none).
    const rows = await this.deps.db.query<TokenRow>(
      `SELECT t.id AS token_id, t.scopes, t.revoked, t.expires_at,
              p.id AS principal_id, p.kind, p.display_name, p.email, p.role, p.disabled, m.team_id
         FROM api_tokens t
         JOIN principals p ON p.id = t.principal_id
         LEFT JOIN team_members m ON m.principal_id = p.id
        WHERE t.token_hash = ?`,
      [hashToken(secret)],
    );
    const token = rows[0];
    if (!token || rowBool(token.revoked) || rowBool(token.disabled)) return null;
    const expiresAt = rowDateOrNull(token.expires_at);
    if (expiresAt !== null && expiresAt.getTime() <= expiryAt.getTime()) return null;
    this.lastUsed.record(token.token_id, now);
    return {
      principal: toPrincipal({
        id: token.principal_id,
        kind: token.kind,
        displayName: token.display_name,
        email: token.email,
        role: token.role,
        disabled: false,
        memberships: rows.flatMap((r) => (r.team_id === null ? [] : [{ teamId: r.team_id }])),
      }),
      credential: { kind: "token", tokenId: token.token_id, scopes: parseScopes(token.scopes) },
    };
  }

  async principalForSso(claims: SsoClaims, now: Date): Promise<Principal> {
    for (const [field, value] of [
      ["issuer", claims.issuer],
      ["subject", claims.subject],
    ] as const) {
      if (
        value.length === 0 ||
        value.length > ACCESS_LIMITS.externalIdMaxLength ||
        unstorableText(value) !== null
      )
        throw new ValidationError(field, "is not a usable SSO identity");
    }
    const identity = { issuer: claims.issuer, subject: claims.subject };
    const metadata: RequestMetadata = {
      actor: systemActor(`sso:${claims.subject}`),
      correlationId: claims.jti,
    };
    // Claims a registry cannot hold are ignored rather than refusing the login.
    const email = claims.email !== null && checkEmail("email", claims.email) === null ? claims.email : null;
    const name = claims.name !== null && checkDisplayName("name", claims.name) === null ? claims.name : null;
    let row = await this.ensurePrincipal(identity, {
      kind: "USER",
      displayName: name ?? email ?? claims.subject.slice(0, ACCESS_LIMITS.displayNameMaxLength),
      email,
      role: "MEMBER",
      source: "sso",
      metadata,
    });
    if ((name !== null && name !== row.displayName) || (email !== null && email !== row.email)) {
      const updated = await updatePrincipalProfile(
        this.deps,
        row.id,
        { ...(name === null ? {} : { displayName: name }), ...(email === null ? {} : { email }) },
        metadata,
      );
      if (updated instanceof DomainError) throw updated;
      row = await this.principalRow(row.id);
    }
    if (await this.syncGroups(row, claims.groups, metadata)) row = await this.principalRow(row.id);
    void now;
    return toPrincipal(row);
  }

  async localAdministrator(osUserName: string, now: Date): Promise<Principal> {
    void now;
    const name = checkDisplayName("osUserName", osUserName) === null ? osUserName : "local administrator";
    const row = await this.ensurePrincipal(
      { issuer: LOCAL_ISSUER, subject: name },
      {
        kind: "USER",
        displayName: name,
        email: null,
        role: "ADMIN",
        source: "local",
        metadata: { actor: systemActor(`local:${name}`), correlationId: null },
      },
    );
    return toPrincipal(row);
  }

  /** Flushes last-used times. Call before closing the database. */
  close(): Promise<void> {
    return this.lastUsed.close();
  }

  private async principalRow(id: string): Promise<PrincipalRow> {
    return this.deps.db.reader.principal.findUniqueOrThrow({ where: { id }, select: principalSelect });
  }

  private findByIdentity(identity: ExternalIdentity): Promise<PrincipalRow | null> {
    return this.deps.db.reader.principal.findUnique({
      where: {
        externalIssuer_externalSubject: {
          externalIssuer: identity.issuer,
          externalSubject: identity.subject,
        },
      },
      select: principalSelect,
    });
  }

  /** The principal with this external identity, created on first sight (once, even when raced). */
  private async ensurePrincipal(
    identity: ExternalIdentity,
    create: {
      kind: PrincipalKind;
      displayName: string;
      email: string | null;
      role: RegistryRole;
      source: "sso" | "local";
      metadata: RequestMetadata;
    },
  ): Promise<PrincipalRow> {
    const existing = await this.findByIdentity(identity);
    if (existing) return existing;
    const { metadata, ...data } = create;
    const created = await createPrincipal(this.deps, { ...data, externalIdentity: identity }, metadata);
    // AlreadyExists: another request (or instance) created it first; use theirs.
    if (created instanceof DomainError && !(created instanceof AlreadyExistsError)) throw created;
    const row = await this.findByIdentity(identity);
    if (!row) throw new Error(`principal for ${identity.issuer} ${identity.subject} vanished`);
    return row;
  }

  /** Memberships follow the groups claim: sso memberships are added and removed; admin ones are left alone. */
  private async syncGroups(
    row: PrincipalRow,
    groups: readonly string[],
    metadata: RequestMetadata,
  ): Promise<boolean> {
    const wanted = new Set(groups.filter((g) => checkTeamName("group", g) === null).slice(0, MAX_SSO_GROUPS));
    const current = new Map(row.memberships.map((m) => [m.team.name, m]));
    let changed = false;
    for (const group of wanted) {
      if (current.has(group)) continue;
      const teamId = await this.ensureTeam(group, metadata);
      const added = await addTeamMember(this.deps, teamId, row.id, "sso", metadata);
      if (added instanceof DomainError) throw added;
      changed = true;
    }
    for (const [name, membership] of current) {
      if (wanted.has(name) || membership.source !== "sso") continue;
      const removed = await removeTeamMember(this.deps, membership.teamId, row.id, metadata);
      if (removed instanceof DomainError) throw removed;
      changed = true;
    }
    return changed;
  }

  private async ensureTeam(name: string, metadata: RequestMetadata): Promise<string> {
    const find = () => this.deps.db.reader.team.findUnique({ where: { name }, select: { id: true } });
    const existing = await find();
    if (existing) return existing.id;
    const created = await createTeam(this.deps, name, metadata);
    if (!(created instanceof DomainError)) return created.id;
    if (!(created instanceof AlreadyExistsError)) throw created;
    const raced = await find();
    if (!raced) throw new Error(`team ${name} vanished`);
    return raced.id;
  }
}
