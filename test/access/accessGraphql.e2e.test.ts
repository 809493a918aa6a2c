// The access operations over HTTP in local mode (no credentials: the caller is the local
// administrator), on both providers; and the role checks with callers that authentication at the
// edge would set, by executing the schema with such a context.
import { graphql } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Caller, RegistryRole } from "../../src/access/principal.ts";
import type { GraphQLContext } from "../../src/graphql/context.ts";
import { schema } from "../../src/graphql/schema.ts";
import { providers } from "../support/databases.ts";
import { errorSelection } from "../support/mutationResult.ts";
import { actorOf } from "../../src/access/actor.ts";
import { DEFAULT_ACCESS_POLICY } from "../../src/access/modelAccess.ts";
import { requestAccess } from "../../src/access/scopedReader.ts";
import { LOCAL_ADMIN, startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const PRINCIPAL = `principal { id kind displayName email role disabled source teams { name } }`;

describe.each(await providers())("access over GraphQL on %s", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => server?.close());

  async function mutate(field: string, input: Record<string, unknown>, payload: string) {
    const type = field.charAt(0).toUpperCase() + field.slice(1);
    const result = await server.gql(
      `mutation($input: ${type}Input!) { ${field}(input: $input) { ${errorSelection(field)} ${payload} } }`,
      { input },
    );
    expect(result.errors).toBeUndefined();
    return result.data[field];
  }

  it("answers viewer with the local administrator, created once", async () => {
    const query = `{ viewer { id kind displayName role email disabled source teams { name } tokens { id } } }`;
    const first = await server.gql(query);
    const second = await server.gql(query);
    expect(first.errors).toBeUndefined();
    expect(first.data.viewer).toMatchObject({
      kind: "USER",
      displayName: LOCAL_ADMIN,
      role: "ADMIN",
      source: "local",
      disabled: false,
      teams: [],
      tokens: [],
    });
    expect(second.data.viewer.id).toBe(first.data.viewer.id);
  });

  it("manages service accounts, teams and tokens, with typed errors", async () => {
    const created = await mutate(
      "createServiceAccount",
      { displayName: "ci-bot", role: "MEMBER" },
      `... on PrincipalPayload { ${PRINCIPAL} }`,
    );
    expect(created).toMatchObject({
      __typename: "PrincipalPayload",
      principal: { kind: "SERVICE_ACCOUNT", displayName: "ci-bot", role: "MEMBER", source: "admin" },
    });
    const botId = created.principal.id as string;

    const invalid = await mutate("createUser", { displayName: "bad\u0000" }, "");
    expect(invalid).toMatchObject({
      __typename: "ValidationError",
      code: "VALIDATION",
      field: "displayName",
    });

    const team = await mutate(
      "createTeam",
      { name: "ml-platform" },
      "... on TeamPayload { team { id name } }",
    );
    expect(await mutate("createTeam", { name: "ml-platform" }, "")).toMatchObject({
      __typename: "AlreadyExistsError",
      resource: "Team",
      key: "ml-platform",
    });
    const member = await mutate(
      "addTeamMember",
      { teamId: team.team.id, principalId: botId },
      "... on TeamPayload { team { name members { displayName } } }",
    );
    expect(member.team.members).toEqual([{ displayName: "ci-bot" }]);
    expect(await mutate("addTeamMember", { teamId: team.team.id, principalId: "nobody" }, "")).toMatchObject({
      __typename: "NotFoundError",
      resource: "Principal",
    });

    const role = await mutate(
      "setPrincipalRole",
      { principalId: botId, role: "VIEWER" },
      `... on PrincipalPayload { ${PRINCIPAL} }`,
    );
    expect(role.principal).toMatchObject({ role: "VIEWER", teams: [{ name: "ml-platform" }] });

    const token = await mutate(
      "createApiToken",
      { principalId: botId, name: "deploy", scopes: ["READ", "WRITE"], expiresAt: "2099-01-01T00:00:00Z" },
      "... on CreateApiTokenPayload { secret token { id name prefix scopes expiresAt revoked principal { id } } }",
    );
    expect(token.secret).toMatch(/^rgo_[A-Za-z0-9_-]{43}$/);
    expect(token.token).toMatchObject({
      name: "deploy",
      prefix: token.secret.slice(0, 10),
      scopes: ["READ", "WRITE"],
      expiresAt: "2099-01-01T00:00:00.000Z",
      revoked: false,
      principal: { id: botId },
    });
    const caller = await server.registro.app.directory.verifyToken(token.secret, new Date());
    expect(caller?.principal.id).toBe(botId);

    const listed = await server.gql(
      `{ principals(kind: SERVICE_ACCOUNT) { displayName tokens { name prefix } } }`,
    );
    expect(listed.data.principals).toEqual([
      { displayName: "ci-bot", tokens: [{ name: "deploy", prefix: token.token.prefix }] },
    ]);
    // The secret is readable nowhere after creation.
    expect(JSON.stringify(listed)).not.toContain(token.secret);

    const revoked = await mutate(
      "revokeApiToken",
      { tokenId: token.token.id },
      "... on ApiTokenPayload { token { revoked revokedAt } }",
    );
    expect(revoked.token.revoked).toBe(true);
    expect(await server.registro.app.directory.verifyToken(token.secret, new Date())).toBeNull();

    const own = await mutate(
      "createApiToken",
      { name: "laptop", scopes: ["READ"] },
      "... on CreateApiTokenPayload { secret token { principal { source } } }",
    );
    expect(own.token.principal.source).toBe("local");
    expect(await mutate("createApiToken", { name: "", scopes: [] }, "")).toMatchObject({
      __typename: "ValidationError",
    });
    expect(
      await mutate(
        "createApiToken",
        { name: "old", scopes: ["READ"], expiresAt: "2000-01-01T00:00:00Z" },
        "",
      ),
    ).toMatchObject({
      __typename: "ValidationError",
      field: "expiresAt",
    });

    const viewer = await server.gql(`{ viewer { id } }`);
    expect(await mutate("disablePrincipal", { principalId: viewer.data.viewer.id }, "")).toMatchObject({
      __typename: "InvalidStateError",
    });
    const disabled = await mutate(
      "disablePrincipal",
      { principalId: botId },
      `... on PrincipalPayload { ${PRINCIPAL} }`,
    );
    expect(disabled.principal.disabled).toBe(true);
    const renamed = await mutate(
      "renameTeam",
      { teamId: team.team.id, name: "platform" },
      "... on TeamPayload { team { name } }",
    );
    expect(renamed.team.name).toBe("platform");
    const updated = await mutate(
      "updatePrincipal",
      { principalId: botId, displayName: "ci-bot-2", email: "ci@example.com" },
      `... on PrincipalPayload { ${PRINCIPAL} }`,
    );
    expect(updated.principal).toMatchObject({ displayName: "ci-bot-2", email: "ci@example.com" });
  });

  describe("role checks (callers as the edge will set them)", () => {
    async function as(role: RegistryRole, source: string, variables: Record<string, unknown> = {}) {
      const created = await mutate(
        "createUser",
        { displayName: `${role} user`, role },
        `... on PrincipalPayload { principal { id } }`,
      );
      const app = server.registro.app;
      const caller: Caller = {
        principal: {
          id: created.principal.id,
          kind: "USER",
          displayName: `${role} user`,
          email: null,
          role,
          teamIds: [],
        },
        credential: { kind: "token", tokenId: "t", scopes: ["read", "write"] },
      };
      const contextValue = {
        db: server.registro.db,
        commands: app.commands,
        directory: app.directory,
        caller,
        actor: actorOf(caller),
        correlationId: null,
        ...requestAccess(server.registro.db.reader, DEFAULT_ACCESS_POLICY, caller),
        accessPolicy: DEFAULT_ACCESS_POLICY,
      } as unknown as GraphQLContext;
      return { result: await graphql({ schema, source, contextValue, variableValues: variables }), caller };
    }

    it("refuses admin operations to a MEMBER with PermissionDeniedError, but lets it manage its own tokens", async () => {
      const denied = await as(
        "MEMBER",
        `mutation { createTeam(input: { name: "members-only" }) { __typename ... on PermissionDeniedError { code operation needed } } }`,
      );
      expect(denied.result.data?.createTeam).toEqual({
        __typename: "PermissionDeniedError",
        code: "PERMISSION_DENIED",
        operation: "createTeam",
        needed: "registry role ADMIN",
      });
      const list = await as("VIEWER", `{ principals { id } }`);
      expect(list.result.errors?.[0]?.extensions?.code).toBe("PERMISSION_DENIED");

      const own = await as(
        "MEMBER",
        `mutation { createApiToken(input: { name: "mine", scopes: [READ] }) { __typename ... on CreateApiTokenPayload { secret token { id principal { id } } } } }`,
      );
      const payload = own.result.data?.createApiToken as { token: { id: string; principal: { id: string } } };
      expect(payload.token.principal.id).toBe(own.caller.principal.id);
      const bot = await mutate(
        "createServiceAccount",
        { displayName: "not-mine" },
        `... on PrincipalPayload { principal { id } }`,
      );
      const forBot = await as(
        "MEMBER",
        `mutation($id: ID!) { createApiToken(input: { principalId: $id, name: "x", scopes: [READ] }) { __typename } }`,
        { id: bot.principal.id },
      );
      expect(forBot.result.data?.createApiToken).toEqual({ __typename: "PermissionDeniedError" });
      // Another principal's token is not found for a non-admin (its existence is not theirs to learn).
      const other = await as(
        "MEMBER",
        `mutation($id: ID!) { revokeApiToken(input: { tokenId: $id }) { __typename } }`,
        { id: payload.token.id },
      );
      expect(other.result.data?.revokeApiToken).toEqual({ __typename: "NotFoundError" });
    });

    it("shows a principal's tokens only to itself and ADMINs", async () => {
      const admin = await server.gql(`{ viewer { id } }`);
      const team = await mutate("createTeam", { name: "shared" }, "... on TeamPayload { team { id } }");
      await mutate("addTeamMember", { teamId: team.team.id, principalId: admin.data.viewer.id }, "");
      const query = `{ viewer { id teams { members { id tokens { id } } } } }`;
      const probe = await as("MEMBER", `{ viewer { id } }`);
      await mutate("addTeamMember", { teamId: team.team.id, principalId: probe.caller.principal.id }, "");
      const contextFor = probe.caller;
      const peek = await graphql({
        schema,
        source: query,
        contextValue: {
          db: server.registro.db,
          commands: server.registro.app.commands,
          directory: server.registro.app.directory,
          caller: contextFor,
          actor: contextFor.principal.id,
          correlationId: null,
          ...requestAccess(server.registro.db.reader, DEFAULT_ACCESS_POLICY, contextFor),
          accessPolicy: DEFAULT_ACCESS_POLICY,
        },
      });
      expect(peek.errors?.map((e) => e.extensions.code)).toEqual(["PERMISSION_DENIED"]);
      // The administrator (local mode) reads everyone's.
      const adminView = await server.gql(query);
      expect(adminView.errors).toBeUndefined();
      const self = await as("AUDITOR", `{ viewer { role tokens { id } } }`);
      expect(self.result.errors).toBeUndefined();
      expect(self.result.data?.viewer).toEqual({ role: "AUDITOR", tokens: [] });
    });
  });
});
