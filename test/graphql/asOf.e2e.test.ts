// Audit questions answered from history: what a model looked like at a past moment or log position
// (its aliases, its versions' stages, tags, metrics, params and artifacts, who held which
// permission), and that those answers follow what the caller may read now.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const pause = () => new Promise((resolve) => setTimeout(resolve, 15));

type Json = any;

/** The `extensions` of an answer's first error. */
const extensionsOf = (answer: { errors?: unknown[] }): Json => (answer.errors?.[0] as Json)?.extensions;

const AS_OF = `query($name: String!, $at: DateTime!) {
  registeredModelAsOf(name: $name, at: $at) {
    name deleted revision tags { key value }
    production: versions(stage: PRODUCTION) { version aliases modelVersion { stage } }
    versions { version stage aliases }
  }
}`;

/** Every new as-of field, asked at a moment or at a log position. */
const DETAIL = `query($name: String!, $at: DateTime, $position: Int) {
  registeredModelAsOf(name: $name, at: $at, position: $position) {
    at position revision name
    aliases { alias version }
    champion: alias(alias: "champion") { version description }
    gone: alias(alias: "nobody") { version }
    v1: version(version: 1) {
      version stage status deleted description source runId params
      metrics { key value } tags { key value } aliases
      artifacts { path sha256 size role mediaType verdict }
    }
    v9: version(version: 9) { version }
    permissions { granteeKind granteeId permission }
  }
}`;

const codeOf = (error: object) => (error as { extensions?: { code?: string } }).extensions?.code;

describe.each(await providers())("registeredModelAsOf on %s", (provider) => {
  let server: TestServer;
  const moments: Record<string, string> = {};
  /** Log position of the last event of each labelled step. */
  const positions: Record<string, number> = {};
  let friendId = "";
  const mark = async (label: string) => {
    await pause();
    moments[label] = new Date().toISOString();
    await pause();
  };
  const run = async (query: string, label?: string) => {
    const result = await server.gql(query);
    expect(result.errors).toBeUndefined();
    const payload = Object.values(result.data as Record<string, Json>)[0];
    if (label)
      positions[label] = Math.max(...(payload.events as { position: number }[]).map((e) => e.position));
    return payload;
  };
  const EVENTS = `... on RegisteredModelPayload { events { position } }`;

  beforeAll(async () => {
    server = await startTestServer(provider);
    const friend = await server.gql(
      `mutation { createServiceAccount(input: { displayName: "auditee-friend" }) { ... on PrincipalPayload { principal { id } } } }`,
    );
    friendId = friend.data.createServiceAccount.principal.id;
    await mark("beforeCreation");
    await run(
      `mutation { createRegisteredModel(input: { name: "audited", tags: [{ key: "team", value: "risk" }] }) { __typename } }`,
    );
    await run(
      `mutation { createModelVersion(input: { name: "audited", source: "s3://1", runId: "run-1", description: "first cut", params: { depth: 6 }, metrics: [{ key: "auc", value: 0.81 }], pendingArtifacts: true }) { __typename } }`,
    );
    const put = await fetch(`${server.url}/artifacts/audited/1/model.onnx`, {
      method: "PUT",
      body: "weights v1",
    });
    expect(put.status).toBe(201);
    await run(`mutation { finalizeModelVersion(input: { name: "audited", version: 1 }) { __typename } }`);
    await run(`mutation { createModelVersion(input: { name: "audited", source: "s3://2" }) { __typename } }`);
    await run(
      `mutation { transitionModelVersionStage(input: { name: "audited", version: 1, stage: PRODUCTION, overrideReason: "reviewed" }) { __typename } }`,
    );
    await run(
      `mutation { setRegisteredModelAlias(input: { name: "audited", version: 1, alias: "champion", overrideReason: "reviewed" }) { __typename } }`,
    );
    await run(
      `mutation { grantModelPermission(input: { name: "audited", principalId: "${friendId}", permission: EDIT }) { ${EVENTS} } }`,
      "granted",
    );
    await mark("v1InProduction");
    await run(
      `mutation { logModelVersionMetrics(input: { name: "audited", version: 1, metrics: [{ key: "auc", value: 0.79 }] }) { __typename } }`,
    );
    await run(
      `mutation { updateModelVersion(input: { name: "audited", version: 1, description: "superseded" }) { __typename } }`,
    );
    await run(
      `mutation { transitionModelVersionStage(input: { name: "audited", version: 2, stage: PRODUCTION, archiveExistingVersions: true, overrideReason: "reviewed" }) { __typename } }`,
    );
    await run(
      `mutation { setRegisteredModelAlias(input: { name: "audited", version: 2, alias: "champion", overrideReason: "reviewed" }) { __typename } }`,
    );
    await run(
      `mutation { revokeModelPermission(input: { name: "audited", principalId: "${friendId}" }) { __typename } }`,
    );
    await run(
      `mutation { renameRegisteredModel(input: { name: "audited", newName: "audited-v2" }) { ${EVENTS} } }`,
      "renamed",
    );
    await mark("afterRename");
  });
  afterAll(async () => server?.close());

  it("answers which version was in Production at a past moment, under the name it had then", async () => {
    const then = await server.gql(AS_OF, { name: "audited-v2", at: moments.v1InProduction });
    expect(then.data.registeredModelAsOf).toEqual({
      name: "audited",
      deleted: false,
      revision: 9,
      tags: [{ key: "team", value: "risk" }],
      production: [{ version: 1, aliases: ["champion"], modelVersion: { stage: "ARCHIVED" } }],
      versions: [
        { version: 2, stage: "NONE", aliases: [] },
        { version: 1, stage: "PRODUCTION", aliases: ["champion"] },
      ],
    });
    const now = await server.gql(AS_OF, { name: "audited-v2", at: moments.afterRename });
    expect(now.data.registeredModelAsOf).toMatchObject({
      name: "audited-v2",
      revision: 15,
      production: [{ version: 2, aliases: ["champion"] }],
    });
  });

  /** What the model looked like right after the grant, asked either way. */
  const afterGrant = (at: string, position: number) => ({
    at,
    position,
    revision: 9,
    name: "audited",
    aliases: [{ alias: "champion", version: 1 }],
    champion: { version: 1, description: "first cut" },
    gone: null,
    v1: {
      version: 1,
      stage: "PRODUCTION",
      status: "READY",
      deleted: false,
      description: "first cut",
      source: "s3://1",
      runId: "run-1",
      params: { depth: 6 },
      metrics: [{ key: "auc", value: 0.81 }],
      tags: [],
      aliases: ["champion"],
      artifacts: [
        expect.objectContaining({
          path: "model.onnx",
          size: 10,
          role: "MODEL",
          sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        }),
      ],
    },
    v9: null,
    // Sorted by grantee id; local mode's administrator created the model, so it manages it.
    permissions: expect.arrayContaining([
      { granteeKind: "PRINCIPAL", granteeId: friendId, permission: "EDIT" },
      expect.objectContaining({ granteeKind: "PRINCIPAL", permission: "MANAGE" }),
    ]),
  });

  it("answers aliases, a version's details and the permissions held, at a moment", async () => {
    const answer = await server.gql(DETAIL, { name: "audited-v2", at: moments.v1InProduction });
    expect(answer.errors).toBeUndefined();
    const model = answer.data.registeredModelAsOf;
    expect(model).toEqual(afterGrant(moments.v1InProduction ?? "", positions.granted ?? 0));
    expect(model.permissions).toHaveLength(2);
    const grantees = model.permissions.map((p: { granteeId: string }) => p.granteeId);
    expect(grantees).toEqual([...grantees].sort());
  });

  it("answers the same at the log position of the change, and the latest state at the last position", async () => {
    const answer = await server.gql(DETAIL, { name: "audited-v2", position: positions.granted });
    expect(answer.errors).toBeUndefined();
    const model = answer.data.registeredModelAsOf;
    expect(model).toEqual(afterGrant(model.at, positions.granted ?? 0));
    expect(Date.parse(model.at)).toBeLessThanOrEqual(Date.parse(moments.v1InProduction ?? ""));

    const latest = await server.gql(DETAIL, { name: "audited-v2", position: positions.renamed });
    expect(latest.data.registeredModelAsOf).toMatchObject({
      revision: 15,
      name: "audited-v2",
      aliases: [{ alias: "champion", version: 2 }],
      champion: { version: 2 },
      v1: {
        stage: "ARCHIVED",
        description: "superseded",
        metrics: [{ key: "auc", value: 0.79 }],
        aliases: [],
      },
    });
    expect(latest.data.registeredModelAsOf.permissions).toEqual([
      expect.objectContaining({ granteeKind: "PRINCIPAL", permission: "MANAGE" }),
    ]);
  });

  it("is null before the model existed, and for unknown names", async () => {
    const before = await server.gql(AS_OF, { name: "audited-v2", at: moments.beforeCreation });
    expect(before.data.registeredModelAsOf).toBeNull();
    const unknown = await server.gql(AS_OF, { name: "nope", at: moments.afterRename });
    expect(unknown.data.registeredModelAsOf).toBeNull();
    const invalid = await server.gql(AS_OF, { name: "audited-v2", at: "not a date" });
    expect(invalid.errors?.[0]?.message).toMatch(/DateTime/);
    // RFC 3339 has a year 0000; PostgreSQL's timestamps do not (it answered an internal error).
    for (const query of [
      `{ registeredModelAsOf(name: "audited-v2", at: "0000-01-01T00:00:00Z") { name } }`,
      `{ modelVersions(filter: { createdAfter: "0000-12-31T23:59:59Z" }) { totalCount } }`,
    ]) {
      const yearZero = await server.gql(query);
      expect(
        yearZero.errors?.map((e) => codeOf(e)),
        query,
      ).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
      expect(yearZero.errors?.[0]?.message).toMatch(/before the year 1/);
    }
    const variable = await server.gql(AS_OF, { name: "audited-v2", at: "0000-06-01T00:00:00Z" });
    expect(variable.errors?.map((e) => codeOf(e))).toEqual(["BAD_USER_INPUT"]);
    const yearOne = await server.gql(AS_OF, { name: "audited-v2", at: "0001-01-01T00:00:00Z" });
    expect(yearOne.errors).toBeUndefined();
    expect(yearOne.data.registeredModelAsOf).toBeNull();
  });

  it("refuses both or neither of at and position, and a position beyond the log's end, as VALIDATION", async () => {
    const neither = await server.gql(DETAIL, { name: "audited-v2" });
    expect(extensionsOf(neither)).toMatchObject({ code: "VALIDATION", field: "at" });
    const both = await server.gql(DETAIL, { name: "audited-v2", at: moments.afterRename, position: 1 });
    expect(extensionsOf(both)).toMatchObject({ code: "VALIDATION", field: "at" });
    const beyond = await server.gql(DETAIL, { name: "audited-v2", position: 1_000_000 });
    expect(extensionsOf(beyond)).toMatchObject({ code: "VALIDATION", field: "position" });
    expect(beyond.data?.registeredModelAsOf).toBeNull();
  });
});

describe.each(await providers())("registeredModelAsOf for callers with different rights (%s)", (provider) => {
  let server: TestServer;
  const who: Record<string, Record<string, string>> = {};
  const ids: Record<string, string> = {};
  let grantedAt = 0;

  const gql = (persona: string, query: string, variables: Record<string, unknown> = {}) =>
    server.gql<Json>(query, variables, who[persona]);

  async function persona(name: string, role: string) {
    const created = await gql(
      "admin",
      `mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { ... on PrincipalPayload { principal { id } } } }`,
      { input: { displayName: name, role } },
    );
    ids[name] = created.data.createServiceAccount.principal.id;
    const token = await gql(
      "admin",
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { ... on CreateApiTokenPayload { secret } } }`,
      { input: { principalId: ids[name], name: `${name}-token`, scopes: ["READ", "WRITE"] } },
    );
    who[name] = { authorization: `Bearer ${token.data.createApiToken.secret as string}` };
  }

  const grant = async (name: string, permission: string) => {
    const answer = await gql(
      "admin",
      `mutation($input: GrantModelPermissionInput!) { grantModelPermission(input: $input) { ... on RegisteredModelPayload { events { position } } } }`,
      { input: { name: "private-model", principalId: ids[name], permission } },
    );
    return answer.data.grantModelPermission.events[0].position as number;
  };

  beforeAll(async () => {
    server = await startTestServer(provider, { auth: { mode: "local", defaultModelPermission: null } });
    who.admin = {};
    for (const [name, role] of [
      ["outsider", "MEMBER"],
      ["reader", "MEMBER"],
      ["manager", "MEMBER"],
      ["auditor", "AUDITOR"],
    ] as const)
      await persona(name, role);
    await gql("admin", `mutation { createRegisteredModel(input: { name: "private-model" }) { __typename } }`);
    await grant("reader", "READ");
    grantedAt = await grant("manager", "MANAGE");
  });
  afterAll(async () => server?.close());

  const PERMISSIONS = `query($name: String!, $position: Int!) {
    registeredModelAsOf(name: $name, position: $position) { name permissions { granteeId permission } } }`;
  const NAME_ONLY = `query($name: String!, $position: Int!) { registeredModelAsOf(name: $name, position: $position) { name } }`;

  it("answers as if the model did not exist for a caller who may not read it now", async () => {
    const hidden = await gql("outsider", NAME_ONLY, { name: "private-model", position: grantedAt });
    const missing = await gql("outsider", NAME_ONLY, { name: "missing-model", position: grantedAt });
    expect(hidden).toEqual({ data: { registeredModelAsOf: null } });
    expect(hidden).toEqual(missing);
    expect((await gql("reader", NAME_ONLY, { name: "private-model", position: grantedAt })).data).toEqual({
      registeredModelAsOf: { name: "private-model" },
    });
  });

  it("shows the permissions held then only to those who may read the model's permissions now", async () => {
    const denied = await gql("reader", PERMISSIONS, { name: "private-model", position: grantedAt });
    expect(extensionsOf(denied)?.code).toBe("PERMISSION_DENIED");
    const grants = [
      { granteeId: ids.manager, permission: "MANAGE" },
      { granteeId: ids.reader, permission: "READ" },
    ];
    for (const persona of ["manager", "auditor", "admin"]) {
      const answer = await gql(persona, PERMISSIONS, { name: "private-model", position: grantedAt });
      expect(answer.errors, persona).toBeUndefined();
      // Besides the grants, the local administrator who created the model manages it.
      const held = answer.data.registeredModelAsOf.permissions;
      expect(held, persona).toEqual(expect.arrayContaining(grants));
      expect(held, persona).toHaveLength(3);
    }
    // Before the manager's grant, it held nothing there, yet may read the history of grants now.
    const earlier = await gql("manager", PERMISSIONS, { name: "private-model", position: grantedAt - 1 });
    const before = earlier.data.registeredModelAsOf.permissions;
    expect(before).toHaveLength(2);
    expect(before).toContainEqual({ granteeId: ids.reader, permission: "READ" });
    expect(before).not.toContainEqual(expect.objectContaining({ granteeId: ids.manager }));
  });
});
