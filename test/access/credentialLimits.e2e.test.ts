// What a credential's scopes and lifetime allow, end to end (docs/access.md, "Who may do what" and
// "API tokens"): an ADMIN's token without the write scope administers nothing (it still lists
// principals and teams); others' tokens are readable only with the admin scope, whatever the
// registry role; and a token never outlives the expiring token that creates it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { errorSelection } from "../support/mutationResult.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

describe.each(await providers())("credential limits on %s", (provider) => {
  let server: TestServer;
  /** An ADMIN service account, and a MEMBER one, both made by the local administrator. */
  let ops: string;
  let bot: string;
  let botTokenId: string;
  beforeAll(async () => {
    server = await startTestServer(provider);
    ops = await principal("ops", "ADMIN");
    bot = await principal("bot", "MEMBER");
    botTokenId = (await token(bot, "bot-token", ["READ", "WRITE"])).id;
  });
  afterAll(async () => server?.close());

  /** Runs a mutation (its result union with every typed error's fields) with these headers. */
  async function mutate(
    field: string,
    input: Record<string, unknown>,
    headers: Record<string, string> = {},
    payload = "",
  ) {
    const type = field.charAt(0).toUpperCase() + field.slice(1);
    const result = await server.gql(
      `mutation($input: ${type}Input!) { ${field}(input: $input) { ${errorSelection(field)} ${payload} } }`,
      { input },
      headers,
    );
    expect(result.errors).toBeUndefined();
    return result.data[field];
  }

  async function principal(displayName: string, role: string): Promise<string> {
    const created = await mutate(
      "createServiceAccount",
      { displayName, role },
      {},
      "... on PrincipalPayload { principal { id } }",
    );
    return created.principal.id as string;
  }

  /** A token for a service account, made by the local administrator (whose credential never expires). */
  async function token(principalId: string, name: string, scopes: string[], expiresAt?: string) {
    const created = await mutate(
      "createApiToken",
      { principalId, name, scopes, ...(expiresAt === undefined ? {} : { expiresAt }) },
      {},
      "... on CreateApiTokenPayload { secret token { id } }",
    );
    expect(created.__typename).toBe("CreateApiTokenPayload");
    return {
      id: created.token.id as string,
      headers: { authorization: `Bearer ${created.secret as string}` },
    };
  }

  const state = async () =>
    (
      await server.gql(
        `{ principals { id displayName email role disabled teams { name } tokens { id revoked } } teams { id name members { id } } }`,
      )
    ).data;

  it("lets an ADMIN's token without the write scope list principals and teams but change none of them", async () => {
    const team = await mutate("createTeam", { name: "platform" }, {}, "... on TeamPayload { team { id } }");
    const teamId = team.team.id as string;
    const readAdmin = await token(ops, "read-admin", ["READ", "ADMIN"]);
    const disabled = await principal("parked", "MEMBER");
    await mutate("disablePrincipal", { principalId: disabled });

    // Reading is an administrator's, with the admin scope alone.
    const lists = await server.gql(`{ principals { displayName } teams { name } }`, {}, readAdmin.headers);
    expect(lists.errors).toBeUndefined();
    expect(lists.data.principals.map((p: { displayName: string }) => p.displayName)).toContain("bot");
    expect(lists.data.teams).toEqual([{ name: "platform" }]);

    const before = await state();
    const attempts: [string, Record<string, unknown>][] = [
      ["createUser", { displayName: "mallory" }],
      ["createServiceAccount", { displayName: "backdoor", role: "ADMIN" }],
      ["updatePrincipal", { principalId: bot, displayName: "renamed" }],
      ["setPrincipalRole", { principalId: bot, role: "ADMIN" }],
      ["disablePrincipal", { principalId: bot }],
      ["enablePrincipal", { principalId: disabled }],
      ["createTeam", { name: "shadow" }],
      ["renameTeam", { teamId, name: "renamed" }],
      ["addTeamMember", { teamId, principalId: bot }],
      ["removeTeamMember", { teamId, principalId: ops }],
      ["createApiToken", { principalId: bot, name: "stolen", scopes: ["READ"] }],
      ["createApiToken", { name: "mine", scopes: ["READ"] }],
      ["revokeApiToken", { tokenId: botTokenId }],
      ["revokeApiToken", { tokenId: readAdmin.id }],
    ];
    for (const [field, input] of attempts) {
      const result = await mutate(field, input, readAdmin.headers);
      expect(result, `${field} ${JSON.stringify(input)}`).toMatchObject({
        __typename: "PermissionDeniedError",
        code: "PERMISSION_DENIED",
      });
      expect(result.needed, field).toMatch(/write scope/);
    }
    expect(await state()).toEqual(before);

    // The same principal with a token that may also write administers.
    const fullAdmin = await token(ops, "full-admin", ["READ", "WRITE", "ADMIN"]);
    expect(await mutate("addTeamMember", { teamId, principalId: bot }, fullAdmin.headers)).toMatchObject({
      __typename: "TeamPayload",
    });
  });

  it("keeps an ADMIN's token without the write scope off others' webhooks", async () => {
    const registered = await server.gql(
      `mutation { registerWebhook(input: { url: "http://127.0.0.1:9/hook", eventTypes: [RegisteredModelTagSet] }) { __typename ... on WebhookSecretPayload { webhook { id } } ... on Error { message } } }`,
    );
    const id = registered.data.registerWebhook.webhook.id as string;
    const readAdmin = await token(ops, "webhook-reader", ["READ", "ADMIN"]);
    // Reading every webhook is an administrator's...
    const seen = await server.gql(`{ webhook(id: "${id}") { id enabled } }`, {}, readAdmin.headers);
    expect(seen.data).toEqual({ webhook: { id, enabled: true } });
    // ... changing one needs a credential that may write.
    for (const field of ["disableWebhook", "deleteWebhook"])
      expect(await mutate(field, { id }, readAdmin.headers)).toMatchObject({
        __typename: "PermissionDeniedError",
        needed: "a token with the write scope",
      });
    expect((await server.gql(`{ webhook(id: "${id}") { enabled } }`)).data).toEqual({
      webhook: { enabled: true },
    });
  });

  it("shows another principal's tokens only to a credential with the admin scope, not to the ADMIN role alone", async () => {
    const member = await token(ops, "as-member", ["READ", "WRITE"]);
    // Acting as a MEMBER, the ADMIN account registers a model (it manages it) and grants the bot.
    expect(await mutate("createRegisteredModel", { name: "token-leak" }, member.headers, "")).toMatchObject({
      __typename: "RegisteredModelPayload",
    });
    expect(
      await mutate(
        "grantModelPermission",
        { name: "token-leak", principalId: bot, permission: "READ" },
        member.headers,
      ),
    ).toMatchObject({ __typename: "RegisteredModelPayload" });

    const query = `{ registeredModel(name: "token-leak") { permissions { principal { displayName tokens { id prefix } } } } }`;
    const refused = await server.gql(query, {}, member.headers);
    // Its own entry (it manages the model) shows its own tokens; the bot's principal is withheld.
    expect(refused.data.registeredModel.permissions).toContainEqual({ principal: null });
    expect(refused.errors).toEqual([
      expect.objectContaining({
        path: ["registeredModel", "permissions", expect.any(Number), "principal", "tokens"],
        extensions: expect.objectContaining({ code: "PERMISSION_DENIED" }),
      }),
    ]);
    expect(JSON.stringify(refused)).not.toContain(botTokenId);
    // Its own tokens it reads.
    const own = await server.gql(`{ viewer { tokens { name } } }`, {}, member.headers);
    expect(own.errors).toBeUndefined();
    expect(own.data.viewer.tokens.map((t: { name: string }) => t.name)).toContain("as-member");

    // With the admin scope (no write needed), they are readable.
    const readAdmin = await token(ops, "token-reader", ["READ", "ADMIN"]);
    const allowed = await server.gql(query, {}, readAdmin.headers);
    expect(allowed.errors).toBeUndefined();
    const grantees = allowed.data.registeredModel.permissions.map(
      (p: { principal: { displayName: string; tokens: { id: string }[] } }) => p.principal,
    );
    expect(grantees.find((p: { displayName: string }) => p.displayName === "bot").tokens).toEqual([
      { id: botTokenId, prefix: expect.stringMatching(/^rgo_/) },
    ]);
  });

  it("refuses a token that would outlive the expiring token creating it, and creates nothing", async () => {
    const limit = new Date(Date.now() + 60_000);
    const expiring = await token(ops, "short-lived", ["READ", "WRITE"], limit.toISOString());
    const adminExpiring = await token(ops, "short-admin", ["READ", "WRITE", "ADMIN"], limit.toISOString());
    const names = async () =>
      (await server.gql(`{ viewer { tokens { name } } }`, {}, expiring.headers)).data.viewer.tokens.map(
        (t: { name: string }) => t.name,
      );
    const before = await names();
    const select = "... on CreateApiTokenPayload { token { name expiresAt } }";

    const forever = await mutate(
      "createApiToken",
      { name: "forever", scopes: ["READ", "WRITE"] },
      expiring.headers,
      select,
    );
    expect(forever).toMatchObject({ __typename: "PermissionDeniedError", code: "PERMISSION_DENIED" });
    expect(forever.needed).toContain(limit.toISOString());
    const later = await mutate(
      "createApiToken",
      { name: "later", scopes: ["READ"], expiresAt: new Date(limit.getTime() + 1_000).toISOString() },
      expiring.headers,
      select,
    );
    expect(later).toMatchObject({ __typename: "PermissionDeniedError", code: "PERMISSION_DENIED" });
    // Nor for a service account, by an administrator's expiring token.
    expect(
      await mutate(
        "createApiToken",
        { principalId: bot, name: "bot-forever", scopes: ["READ"] },
        adminExpiring.headers,
        select,
      ),
    ).toMatchObject({ __typename: "PermissionDeniedError" });
    expect(await names()).toEqual(before);

    // Expiring no later than the creating token is fine, up to exactly its expiry.
    for (const expiresAt of [new Date(limit.getTime() - 30_000), limit]) {
      const within = await mutate(
        "createApiToken",
        { name: `until-${expiresAt.getTime()}`, scopes: ["READ"], expiresAt: expiresAt.toISOString() },
        expiring.headers,
        select,
      );
      expect(within).toMatchObject({
        __typename: "CreateApiTokenPayload",
        token: { expiresAt: expiresAt.toISOString() },
      });
    }
    // A credential that never expires (here local mode) still creates tokens that never expire.
    expect(
      await mutate("createApiToken", { principalId: bot, name: "bot-forever", scopes: ["READ"] }, {}, select),
    ).toMatchObject({ __typename: "CreateApiTokenPayload", token: { expiresAt: null } });
  });
});
