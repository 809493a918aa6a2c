// Given events / when command / then events (or a typed error), for every rule of the access
// context's three aggregates, without a database.
import { describe, expect, it } from "vitest";
import type { AccessEvent, PrincipalEvent, TeamEvent, TokenEvent } from "../../src/access/domain/events.ts";
import { parseAccessEvent } from "../../src/access/domain/events.ts";
import type { PrincipalCommand, PrincipalState } from "../../src/access/domain/principal.ts";
import { decidePrincipal, evolvePrincipal } from "../../src/access/domain/principal.ts";
import type { TeamCommand, TeamState } from "../../src/access/domain/team.ts";
import { decideTeam, evolveTeam } from "../../src/access/domain/team.ts";
import type { TokenCommand, TokenState } from "../../src/access/domain/token.ts";
import { decideToken, evolveToken } from "../../src/access/domain/token.ts";
import { InvalidStateError, ValidationError } from "../../src/domain/errors.ts";

const fold = <S, E>(evolve: (s: S | null, e: E) => S | null, events: E[]) =>
  events.reduce<S | null>((s, e) => evolve(s, e), null);

const givenPrincipal = (events: PrincipalEvent[], command: PrincipalCommand) =>
  decidePrincipal(command, fold<PrincipalState, PrincipalEvent>(evolvePrincipal, events));
const givenTeam = (events: TeamEvent[], command: TeamCommand) =>
  decideTeam(command, fold<TeamState, TeamEvent>(evolveTeam, events));
const givenToken = (events: TokenEvent[], command: TokenCommand) =>
  decideToken(command, fold<TokenState, TokenEvent>(evolveToken, events));

const createUser = (over: Partial<Extract<PrincipalCommand, { type: "CreatePrincipal" }>["data"]> = {}) =>
  ({
    type: "CreatePrincipal",
    data: {
      principalId: "p1",
      kind: "USER",
      displayName: "Ada",
      email: "ada@example.com",
      role: "MEMBER",
      source: "admin",
      externalIdentity: null,
      ...over,
    },
  }) as const satisfies PrincipalCommand;

const created = (): PrincipalEvent[] => {
  const events = decidePrincipal(createUser(), null);
  if (!Array.isArray(events)) throw events;
  return events;
};

describe("principals", () => {
  it("creates a user", () => {
    expect(givenPrincipal([], createUser())).toEqual([
      {
        type: "PrincipalCreated",
        data: {
          principalId: "p1",
          kind: "USER",
          displayName: "Ada",
          email: "ada@example.com",
          role: "MEMBER",
          source: "admin",
          externalIdentity: null,
        },
      },
    ]);
  });

  it("refuses creating a principal twice", () => {
    expect(givenPrincipal(created(), createUser())).toBeInstanceOf(InvalidStateError);
  });

  it.each([
    ["an empty name", { displayName: "" }, "displayName"],
    ["a blank name", { displayName: "   " }, "displayName"],
    ["a NUL in the name", { displayName: "A\u0000da" }, "displayName"],
    ["a lone surrogate", { displayName: "A\ud800" }, "displayName"],
    ["a control character", { displayName: "A\nda" }, "displayName"],
    ["a name too long", { displayName: "a".repeat(257) }, "displayName"],
    ["an email without @", { email: "ada" }, "email"],
    ["an email with a NUL", { email: "a\u0000@b" }, "email"],
    ["an unknown role", { role: "ROOT" as never }, "role"],
    [
      "a service account with an external identity",
      { kind: "SERVICE_ACCOUNT" as const, externalIdentity: { issuer: "i", subject: "s" } },
      "externalIdentity",
    ],
    [
      "an empty SSO subject",
      { externalIdentity: { issuer: "https://idp", subject: "" } },
      "externalIdentity.subject",
    ],
  ])("refuses %s", (_label, over, field) => {
    const error = givenPrincipal([], createUser(over));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });

  it("updates the profile only when something changed", () => {
    expect(
      givenPrincipal(created(), { type: "UpdatePrincipalProfile", data: { displayName: "Ada L." } }),
    ).toEqual([
      { type: "PrincipalProfileUpdated", data: { displayName: "Ada L.", email: "ada@example.com" } },
    ]);
    expect(givenPrincipal(created(), { type: "UpdatePrincipalProfile", data: { email: null } })).toEqual([
      { type: "PrincipalProfileUpdated", data: { displayName: "Ada", email: null } },
    ]);
    expect(
      givenPrincipal(created(), { type: "UpdatePrincipalProfile", data: { displayName: "Ada" } }),
    ).toEqual([]);
    expect(
      givenPrincipal(created(), { type: "UpdatePrincipalProfile", data: { email: "x" } }),
    ).toBeInstanceOf(ValidationError);
  });

  it("sets the role, recording the previous one; the same role is no event", () => {
    expect(givenPrincipal(created(), { type: "SetPrincipalRole", data: { role: "ADMIN" } })).toEqual([
      { type: "PrincipalRoleSet", data: { from: "MEMBER", to: "ADMIN" } },
    ]);
    expect(givenPrincipal(created(), { type: "SetPrincipalRole", data: { role: "MEMBER" } })).toEqual([]);
    expect(
      givenPrincipal(created(), { type: "SetPrincipalRole", data: { role: "GOD" as never } }),
    ).toBeInstanceOf(ValidationError);
  });

  it("disables and enables idempotently", () => {
    const disabled: PrincipalEvent[] = [...created(), { type: "PrincipalDisabled", data: {} }];
    expect(givenPrincipal(created(), { type: "DisablePrincipal", data: {} })).toEqual([
      { type: "PrincipalDisabled", data: {} },
    ]);
    expect(givenPrincipal(disabled, { type: "DisablePrincipal", data: {} })).toEqual([]);
    expect(givenPrincipal(disabled, { type: "EnablePrincipal", data: {} })).toEqual([
      { type: "PrincipalEnabled", data: {} },
    ]);
    expect(givenPrincipal(created(), { type: "EnablePrincipal", data: {} })).toEqual([]);
  });

  it("refuses commands on a principal that does not exist", () => {
    expect(givenPrincipal([], { type: "DisablePrincipal", data: {} })).toBeInstanceOf(InvalidStateError);
  });
});

describe("teams", () => {
  const team: TeamEvent[] = [{ type: "TeamCreated", data: { teamId: "t1", name: "vision" } }];

  it("creates a team with a valid name", () => {
    expect(givenTeam([], { type: "CreateTeam", data: { teamId: "t1", name: "vision" } })).toEqual(team);
    expect(givenTeam(team, { type: "CreateTeam", data: { teamId: "t1", name: "vision" } })).toBeInstanceOf(
      InvalidStateError,
    );
  });

  it.each([[""], [" "], ["__proto__"], ["a\u0000b"], ["x".repeat(257)]])(
    "refuses the team name %j",
    (name) => {
      expect(givenTeam([], { type: "CreateTeam", data: { teamId: "t1", name } })).toBeInstanceOf(
        ValidationError,
      );
      expect(givenTeam(team, { type: "RenameTeam", data: { name } })).toBeInstanceOf(ValidationError);
    },
  );

  it("renames, and renaming to the same name is no event", () => {
    expect(givenTeam(team, { type: "RenameTeam", data: { name: "nlp" } })).toEqual([
      { type: "TeamRenamed", data: { from: "vision", to: "nlp" } },
    ]);
    expect(givenTeam(team, { type: "RenameTeam", data: { name: "vision" } })).toEqual([]);
  });

  it("adds and removes members idempotently", () => {
    const withAda: TeamEvent[] = [
      ...team,
      { type: "TeamMemberAdded", data: { principalId: "p1", source: "sso" } },
    ];
    expect(givenTeam(team, { type: "AddTeamMember", data: { principalId: "p1", source: "sso" } })).toEqual([
      { type: "TeamMemberAdded", data: { principalId: "p1", source: "sso" } },
    ]);
    expect(
      givenTeam(withAda, { type: "AddTeamMember", data: { principalId: "p1", source: "admin" } }),
    ).toEqual([]);
    expect(givenTeam(withAda, { type: "RemoveTeamMember", data: { principalId: "p1" } })).toEqual([
      { type: "TeamMemberRemoved", data: { principalId: "p1" } },
    ]);
    expect(givenTeam(team, { type: "RemoveTeamMember", data: { principalId: "p1" } })).toEqual([]);
    expect(
      fold(evolveTeam, [...withAda, { type: "TeamMemberRemoved", data: { principalId: "p1" } }])?.members,
    ).toEqual([]);
  });

  it("refuses commands on a team that does not exist", () => {
    expect(givenTeam([], { type: "RenameTeam", data: { name: "x" } })).toBeInstanceOf(InvalidStateError);
  });
});

describe("API tokens", () => {
  const now = new Date("2026-12-02T00:00:00Z");
  const hash = "a".repeat(64);
  const create = (
    over: Partial<Extract<TokenCommand, { type: "CreateApiToken" }>["data"]> = {},
  ): TokenCommand => ({
    type: "CreateApiToken",
    data: {
      tokenId: "k1",
      principalId: "p1",
      name: "ci",
      tokenHash: hash,
      prefix: "rgo_abcdef",
      scopes: ["read", "write"],
      expiresAt: new Date("2027-01-01T00:00:00Z"),
      now,
      ...over,
    },
  });

  it("creates a token recording its hash and prefix, never a secret", () => {
    const events = givenToken([], create());
    expect(events).toEqual([
      {
        type: "ApiTokenCreated",
        data: {
          tokenId: "k1",
          principalId: "p1",
          name: "ci",
          tokenHash: hash,
          prefix: "rgo_abcdef",
          scopes: ["read", "write"],
          expiresAt: "2027-01-01T00:00:00.000Z",
        },
      },
    ]);
  });

  it.each([
    ["no scopes", { scopes: [] }, "scopes"],
    ["an unknown scope", { scopes: ["root" as never] }, "scopes"],
    ["a repeated scope", { scopes: ["read", "read"] as const }, "scopes"],
    ["an empty name", { name: "" }, "name"],
    ["a NUL in the name", { name: "c\u0000i" }, "name"],
    ["an expiry in the past", { expiresAt: new Date("2026-01-01T00:00:00Z") }, "expiresAt"],
    ["an expiry of now", { expiresAt: now }, "expiresAt"],
    ["an invalid expiry", { expiresAt: new Date(Number.NaN) }, "expiresAt"],
    ["a hash that is not sha256", { tokenHash: "rgo_secret" }, "tokenHash"],
  ])("refuses %s", (_label, over, field) => {
    const error = givenToken([], create(over));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });

  it("accepts a token without expiry", () => {
    expect(givenToken([], create({ expiresAt: null }))).toMatchObject([{ data: { expiresAt: null } }]);
  });

  it("revokes once; revoking again is no event; an unknown token cannot be revoked", () => {
    const issued = givenToken([], create()) as TokenEvent[];
    expect(givenToken(issued, { type: "RevokeApiToken", data: {} })).toEqual([
      { type: "ApiTokenRevoked", data: {} },
    ]);
    expect(
      givenToken([...issued, { type: "ApiTokenRevoked", data: {} }], { type: "RevokeApiToken", data: {} }),
    ).toEqual([]);
    expect(givenToken([], { type: "RevokeApiToken", data: {} })).toBeInstanceOf(InvalidStateError);
    expect(givenToken(issued, create())).toBeInstanceOf(InvalidStateError);
  });
});

describe("stored access events", () => {
  it("are validated when read back, and older membership payloads get a default source", () => {
    expect(parseAccessEvent("TeamMemberAdded", 1, { principalId: "p1" })).toEqual<AccessEvent>({
      type: "TeamMemberAdded",
      data: { principalId: "p1", source: "admin" },
    });
    expect(() => parseAccessEvent("ApiTokenCreated", 1, { tokenId: "k" })).toThrow();
    expect(() => parseAccessEvent("PrincipalRoleSet", 1, { from: "MEMBER", to: "ROOT" })).toThrow();
    expect(() => parseAccessEvent("RegisteredModelCreated", 1, {})).toThrow(/unknown access event/);
    expect(() => parseAccessEvent("PrincipalDisabled", 2, {})).toThrow(/schema version/);
  });
});
