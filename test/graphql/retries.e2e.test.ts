// Scripts and CI jobs retry a mutation when a response times out. A retry of a command that already
// took effect changes nothing, so it must succeed with its payload, report no events, and leave the
// model's history as it was.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { payloadType } from "../support/mutationResult.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

describe.each(await providers())("retried mutations over HTTP on %s", (provider) => {
  let server: TestServer;
  let principalId: string;

  async function send(field: string, input: Record<string, unknown>) {
    const type = field.charAt(0).toUpperCase() + field.slice(1);
    const payload = payloadType(field);
    const result = await server.gql(
      `mutation($input: ${type}Input!) { ${field}(input: $input) {
        __typename ... on Error { code message }
        ... on ${payload} { events { type } } } }`,
      { input },
    );
    expect(result.errors).toBeUndefined();
    const answer = result.data[field] as { __typename: string; events?: { type: string }[] };
    expect(answer.__typename, JSON.stringify(answer)).toBe(payload);
    return answer.events!.map((e) => e.type);
  }

  async function history(name: string) {
    const result = await server.gql(
      `query($n: String!) { history(name: $n, first: 500) { nodes { type } } }`,
      {
        n: name,
      },
    );
    expect(result.errors).toBeUndefined();
    return (result.data.history.nodes as { type: string }[]).map((n) => n.type);
  }

  beforeAll(async () => {
    server = await startTestServer(provider);
    const created = await server.gql(
      `mutation { createServiceAccount(input: { displayName: "ci" }) { ... on PrincipalPayload { principal { id } } } }`,
    );
    principalId = created.data.createServiceAccount.principal.id;
    await send("createRegisteredModel", { name: "retry" });
    await send("createModelVersion", {
      name: "retry",
      source: "s3://b/1",
      metrics: [{ key: "auc", value: 0.9 }],
    });
    for (const version of [2, 3]) {
      await send("createModelVersion", {
        name: "retry",
        source: `s3://b/${version}`,
        pendingArtifacts: true,
      });
      const put = await fetch(`${server.url}/artifacts/retry/${version}/model.bin`, {
        method: "PUT",
        body: "w",
      });
      expect(put.status).toBe(201);
    }
  });
  afterAll(async () => server?.close());

  const v = { name: "retry", version: 1 };
  const RETRIED: [string, () => Record<string, unknown>][] = [
    ["updateRegisteredModel", () => ({ name: "retry", description: "scores fraud" })],
    ["setRegisteredModelTag", () => ({ name: "retry", key: "team", value: "risk" })],
    ["deleteRegisteredModelTag", () => ({ name: "retry", key: "team" })],
    ["grantModelPermission", () => ({ name: "retry", principalId, permission: "EDIT" })],
    ["revokeModelPermission", () => ({ name: "retry", principalId })],
    ["updateModelVersion", () => ({ ...v, description: "first" })],
    ["logModelVersionMetrics", () => ({ ...v, metrics: [{ key: "auc", value: 0.91 }] })],
    ["setModelVersionTag", () => ({ ...v, key: "framework", value: "xgboost" })],
    ["deleteModelVersionTag", () => ({ ...v, key: "framework" })],
    [
      "setModelVersionSignature",
      () => ({ ...v, signature: { inputs: [{ name: "x", dtype: "float32" }], outputs: [] } }),
    ],
    ["transitionModelVersionStage", () => ({ ...v, stage: "PRODUCTION", comment: "ship it" })],
    ["setRegisteredModelAlias", () => ({ ...v, alias: "champion" })],
    ["deleteRegisteredModelAlias", () => ({ name: "retry", alias: "champion" })],
    ["finalizeModelVersion", () => ({ name: "retry", version: 2 })],
    ["failModelVersionRegistration", () => ({ name: "retry", version: 3, reason: "upload died" })],
    ["deleteModelVersion", () => ({ name: "retry", version: 3 })],
    ["restoreModelVersion", () => ({ name: "retry", version: 3 })],
  ];

  it.each(RETRIED)(
    "%s: the retry succeeds with no events and adds nothing to the history",
    async (field, input) => {
      const first = await send(field, input());
      expect(first.length, field).toBeGreaterThan(0);
      const before = await history("retry");
      expect(await send(field, input())).toEqual([]);
      expect(await send(field, input())).toEqual([]);
      expect(await history("retry")).toEqual(before);
    },
  );

  it("renaming a model to its own name changes nothing", async () => {
    const before = await history("retry");
    expect(await send("renameRegisteredModel", { name: "retry", newName: "retry" })).toEqual([]);
    expect(await history("retry")).toEqual(before);
  });

  it("a retry pinned to the revision it found succeeds; one pinned to an older revision is a ConcurrencyError", async () => {
    const revision = async () =>
      (await server.gql(`{ registeredModel(name: "retry") { revision } }`)).data.registeredModel
        .revision as number;
    const input = { name: "retry", key: "tier", value: "gold" };
    const at = await revision();
    expect(await send("setRegisteredModelTag", { ...input, expectedRevision: at })).toHaveLength(1);
    expect(await send("setRegisteredModelTag", { ...input, expectedRevision: at + 1 })).toEqual([]);
    const stale = await server.gql(
      `mutation($input: SetRegisteredModelTagInput!) { setRegisteredModelTag(input: $input) {
        __typename ... on ConcurrencyError { expectedRevision actualRevision } } }`,
      { input: { ...input, expectedRevision: at } },
    );
    expect(stale.data.setRegisteredModelTag).toEqual({
      __typename: "ConcurrencyError",
      expectedRevision: at,
      actualRevision: at + 1,
    });
  });
});
