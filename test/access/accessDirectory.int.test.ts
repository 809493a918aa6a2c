// The access context against real databases: projections, token verification (revoked, expired,
// disabled), SSO first sight under concurrency, the local administrator, last-used flushing and
// the rebuild.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTeamMember,
  createApiToken,
  createPrincipal,
  createTeam,
  disablePrincipal,
  enablePrincipal,
  removeTeamMember,
  renameTeam,
  revokeApiToken,
  setPrincipalRole,
} from "../../src/access/accessCommands.ts";
import { AccessDirectory } from "../../src/access/directory.ts";
import type { SsoClaims } from "../../src/access/principal.ts";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { openDatabase } from "../../src/db/database.ts";
import {
  AlreadyExistsError,
  DomainError,
  InvalidStateError,
  NotFoundError,
} from "../../src/domain/errors.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { readAll } from "../../src/store/eventStore.ts";
import { actor, commandDeps, createModelNamed } from "../support/application.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";

function ok<T>(outcome: T | DomainError): T {
  if (outcome instanceof DomainError) throw outcome;
  return outcome;
}

const claims = (over: Partial<SsoClaims> = {}): SsoClaims => ({
  issuer: "https://idp.example",
  subject: "user-1",
  email: "grace@example.com",
  name: "Grace",
  groups: [],
  jti: null,
  ...over,
});

describe.each(await providers())("access directory on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let deps: CommandDeps;
  let directory: AccessDirectory;
  const now = new Date("2026-12-02T10:00:00Z");
  beforeAll(async () => {
    t = await openTestDatabase(provider);
    deps = { ...commandDeps(t.db), clock: () => now };
    directory = new AccessDirectory(deps, { lastUsedFlushMs: 3_600_000 });
  });
  afterAll(async () => {
    await directory?.close();
    await t?.close();
  });

  const newUser = async (displayName: string, role: "ADMIN" | "MEMBER" = "MEMBER") =>
    ok(
      await createPrincipal(
        deps,
        { kind: "USER", displayName, email: null, role, source: "admin", externalIdentity: null },
        actor,
      ),
    ).id;

  it("projects principals, teams and memberships, and keeps their events out of the model log", async () => {
    const id = await newUser("Ada");
    const team = ok(await createTeam(deps, "vision", actor));
    ok(await addTeamMember(deps, team.id, id, "admin", actor));
    ok(await setPrincipalRole(deps, id, "AUDITOR", actor));
    ok(await renameTeam(deps, team.id, "vision-2", actor));
    const row = await t.db.reader.principal.findUniqueOrThrow({
      where: { id },
      include: { memberships: { include: { team: true } } },
    });
    expect(row).toMatchObject({
      displayName: "Ada",
      role: "AUDITOR",
      disabled: false,
      source: "admin",
      revision: 2,
    });
    expect(row.memberships.map((m) => [m.team.name, m.source])).toEqual([["vision-2", "admin"]]);
    expect(await createTeam(deps, "vision-2", actor)).toBeInstanceOf(AlreadyExistsError);
    expect(await addTeamMember(deps, team.id, "nobody", "admin", actor)).toBeInstanceOf(NotFoundError);
    expect(await setPrincipalRole(deps, "nobody", "ADMIN", actor)).toBeInstanceOf(NotFoundError);
    // The model log's readers (subscriptions) see only model events.
    await createModelNamed(deps, "model-after-access", "after-access");
    expect((await readAll(t.db, 0, 1000)).map((e) => e.streamId)).toEqual(["model-after-access"]);
  });

  it("verifies a token by its hash, and refuses it at once when revoked, expired or its principal disabled", async () => {
    const id = await newUser("Token owner");
    const created = ok(
      await createApiToken(
        deps,
        {
          principalId: id,
          name: "ci",
          scopes: ["read", "write"],
          expiresAt: new Date("2026-12-03T00:00:00Z"),
        },
        actor,
      ),
    );
    expect(created.secret).toMatch(/^rgo_[A-Za-z0-9_-]{43}$/);
    // The secret is in no event and no row.
    const events = await t.db.reader.event.findMany({ where: { streamId: `token:${created.id}` } });
    expect(JSON.stringify(events)).not.toContain(created.secret.slice(4));
    const row = await t.db.reader.apiToken.findUniqueOrThrow({ where: { id: created.id } });
    expect(JSON.stringify(row)).not.toContain(created.secret.slice(4));
    expect(row.prefix).toBe(created.secret.slice(0, 10));

    const caller = await directory.verifyToken(created.secret, now);
    expect(caller).toEqual({
      principal: { id, kind: "USER", displayName: "Token owner", email: null, role: "MEMBER", teamIds: [] },
      credential: { kind: "token", tokenId: created.id, scopes: ["read", "write"] },
    });
    expect(await directory.verifyToken(`${created.secret.slice(0, -1)}x`, now)).toBeNull();
    expect(await directory.verifyToken("not a token", now)).toBeNull();
    expect(await directory.verifyToken(created.secret, new Date("2026-12-03T00:00:00Z"))).toBeNull();

    ok(await disablePrincipal(deps, id, actor));
    expect(await directory.verifyToken(created.secret, now)).toBeNull();
    expect(
      await createApiToken(deps, { principalId: id, name: "x", scopes: ["read"], expiresAt: null }, actor),
    ).toBeInstanceOf(InvalidStateError);
    ok(await enablePrincipal(deps, id, actor));
    expect(await directory.verifyToken(created.secret, now)).not.toBeNull();

    ok(await revokeApiToken(deps, created.id, actor));
    expect(await directory.verifyToken(created.secret, now)).toBeNull();
    expect(await revokeApiToken(deps, "no-such-token", actor)).toBeInstanceOf(NotFoundError);
  });

  it("a token stands for its principal with exactly the teams it belongs to at this request", async () => {
    const id = ok(
      await createPrincipal(
        deps,
        {
          kind: "SERVICE_ACCOUNT",
          displayName: "Deployer",
          email: "deploy@example.com",
          role: "VIEWER",
          source: "admin",
          externalIdentity: null,
        },
        actor,
      ),
    ).id;
    const [red, blue, other] = [
      ok(await createTeam(deps, "tokens-red", actor)).id,
      ok(await createTeam(deps, "tokens-blue", actor)).id,
      ok(await createTeam(deps, "tokens-other", actor)).id,
    ];
    ok(await addTeamMember(deps, red, id, "admin", actor));
    ok(await addTeamMember(deps, blue, id, "admin", actor));
    ok(await addTeamMember(deps, other, await newUser("Someone else"), "admin", actor));
    const created = ok(
      await createApiToken(
        deps,
        { principalId: id, name: "deploy", scopes: ["read"], expiresAt: null },
        actor,
      ),
    );

    expect(await directory.verifyToken(created.secret, now)).toEqual({
      principal: {
        id,
        kind: "SERVICE_ACCOUNT",
        displayName: "Deployer",
        email: "deploy@example.com",
        role: "VIEWER",
        teamIds: [red, blue].sort(),
      },
      credential: { kind: "token", tokenId: created.id, scopes: ["read"] },
    });
    ok(await removeTeamMember(deps, red, id, actor));
    expect((await directory.verifyToken(created.secret, now))?.principal.teamIds).toEqual([blue]);
    ok(await removeTeamMember(deps, blue, id, actor));
    expect((await directory.verifyToken(created.secret, now))?.principal.teamIds).toEqual([]);
  });

  it("a token revoked through one instance is refused by another sharing the database", async () => {
    const other = openDatabase(t.config);
    const otherDirectory = new AccessDirectory(
      { db: other, clock: () => now },
      { lastUsedFlushMs: 3_600_000 },
    );
    try {
      const id = await newUser("Two instances");
      const created = ok(
        await createApiToken(deps, { principalId: id, name: "ci", scopes: ["read"], expiresAt: null }, actor),
      );
      expect(await otherDirectory.verifyToken(created.secret, now)).not.toBeNull();
      ok(await revokeApiToken(deps, created.id, actor));
      expect(await otherDirectory.verifyToken(created.secret, now)).toBeNull();
    } finally {
      await otherDirectory.close();
      await other.close();
    }
  });

  it("flushes last-used times in a batch, only moving them forward", async () => {
    const id = await newUser("Last used");
    const created = ok(
      await createApiToken(deps, { principalId: id, name: "ci", scopes: ["read"], expiresAt: null }, actor),
    );
    const read = async () =>
      (
        await t.db.reader.apiToken.findUniqueOrThrow({ where: { id: created.id } })
      ).lastUsedAt?.toISOString() ?? null;
    await directory.verifyToken(created.secret, new Date("2026-12-02T10:00:01Z"));
    await directory.verifyToken(created.secret, new Date("2026-12-02T10:00:05Z"));
    expect(await read()).toBeNull();
    await directory.lastUsed.flush();
    expect(await read()).toBe("2026-12-02T10:00:05.000Z");
    directory.lastUsed.record(created.id, new Date("2026-12-02T09:00:00Z"));
    await directory.lastUsed.flush();
    expect(await read()).toBe("2026-12-02T10:00:05.000Z");
    // Not an event: the token stream still holds only its creation.
    expect(await t.db.reader.event.count({ where: { streamId: `token:${created.id}` } })).toBe(1);
  });

  it("creates an SSO user once on first sight, even when two instances see it at the same time", async () => {
    const other = openDatabase(t.config);
    const otherDirectory = new AccessDirectory(
      { db: other, clock: () => now },
      { lastUsedFlushMs: 3_600_000 },
    );
    try {
      const first = claims({ subject: "race", groups: ["ml-platform", "vision"] });
      const results = await Promise.all([
        directory.principalForSso(first, now),
        otherDirectory.principalForSso(first, now),
        directory.principalForSso(first, now),
        otherDirectory.principalForSso(first, now),
      ]);
      expect(new Set(results.map((p) => p.id)).size).toBe(1);
      const rows = await t.db.reader.principal.findMany({ where: { externalSubject: "race" } });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        source: "sso",
        role: "MEMBER",
        displayName: "Grace",
        email: "grace@example.com",
      });
      const teams = await t.db.reader.team.findMany({ where: { name: { in: ["ml-platform", "vision"] } } });
      expect(teams.map((team) => team.name).sort()).toEqual(["ml-platform", "vision"]);
      const again = await directory.principalForSso(first, now);
      expect(again.teamIds).toEqual(teams.map((team) => team.id).sort());
      expect(await t.db.reader.event.count({ where: { streamId: `principal:${again.id}` } })).toBe(1);
    } finally {
      await otherDirectory.close();
      await other.close();
    }
  });

  it("follows SSO profile and group changes with events, leaving admin memberships alone", async () => {
    const user = await directory.principalForSso(claims({ subject: "changes", groups: ["g-a", "g-b"] }), now);
    const adminTeam = ok(await createTeam(deps, "hand-picked", actor));
    ok(await addTeamMember(deps, adminTeam.id, user.id, "admin", actor));
    const changed = await directory.principalForSso(
      claims({ subject: "changes", name: "Grace H.", email: "gh@example.com", groups: ["g-b", "g-c"] }),
      now,
    );
    expect(changed).toMatchObject({ id: user.id, displayName: "Grace H.", email: "gh@example.com" });
    const names = await t.db.reader.teamMember.findMany({
      where: { principalId: user.id },
      include: { team: true },
    });
    expect(names.map((m) => m.team.name).sort()).toEqual(["g-b", "g-c", "hand-picked"]);
    // Invalid claims are ignored, an unusable identity is refused.
    const odd = await directory.principalForSso(
      claims({
        subject: "odd",
        name: "bad\u0000name",
        email: "no-at-sign",
        groups: ["__proto__", "ok\u0000"],
      }),
      now,
    );
    expect(odd).toMatchObject({ displayName: "odd", email: null, teamIds: [] });
    await expect(directory.principalForSso(claims({ subject: "x\u0000" }), now)).rejects.toThrow(
      /SSO identity/,
    );
  });

  it("creates the local administrator once", async () => {
    const [a, b] = await Promise.all([
      directory.localAdministrator("ada", now),
      directory.localAdministrator("ada", now),
    ]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ displayName: "ada", role: "ADMIN", kind: "USER" });
    expect(await t.db.reader.principal.count({ where: { externalIssuer: "local" } })).toBe(1);
  });

  it("rebuilds the access projections from the log exactly", async () => {
    const before = await dumpAccess();
    await rebuildProjections(t.db);
    expect(await dumpAccess()).toEqual(before);
    expect(before.principals.length).toBeGreaterThan(3);
  });

  async function dumpAccess() {
    const r = t.db.reader;
    const [principals, teams, members, tokens, models] = await Promise.all([
      r.principal.findMany({ orderBy: { id: "asc" } }),
      r.team.findMany({ orderBy: { id: "asc" } }),
      r.teamMember.findMany({ orderBy: [{ teamId: "asc" }, { principalId: "asc" }] }),
      // last_used_at is not from events: a rebuild forgets it, as documented.
      r.apiToken.findMany({ orderBy: { id: "asc" }, omit: { lastUsedAt: true } }),
      dumpProjections(t.db.reader),
    ]);
    return { principals, teams, members, tokens, models };
  }
});
