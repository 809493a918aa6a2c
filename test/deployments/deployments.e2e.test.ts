// Deployments over GraphQL (issue 13): serving systems with EDIT record and retire deployments; the
// version and the model list them; deleting what is deployed is refused; hostile input gets typed
// errors; subscriptions deliver deployment changes filtered by environment; history and as-of answer
// who deployed what, and what served where at a past moment; a rebuild reproduces the projection.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { providers } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { errorSelection, payloadType } from "../support/mutationResult.ts";
import { createServiceAccount } from "../support/serviceAccounts.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { record, wsClient } from "../subscriptions/support.ts";
import { eventually, startReceiver } from "../webhooks/receiver.ts";

type Json = any;

const MODEL = "served-model";
const EU = "https://eu.serve.example/fraud";
const DEPLOYMENT_FIELDS = `environment version endpoint description active deployedAt deployedBy { id displayName }
  retiredAt retiredBy { id } retireReason modelVersion { version }`;

const mutation = (field: string) =>
  `mutation($input: ${field.charAt(0).toUpperCase()}${field.slice(1)}Input!) { ${field}(input: $input) {
    ${errorSelection(field)}
    ${
      payloadType(field) === "ModelVersionDeploymentPayload"
        ? `... on ModelVersionDeploymentPayload { deployment { ${DEPLOYMENT_FIELDS} } events { type data } }`
        : ""
    } } }`;

describe.each(await providers())("deployments (%s)", (provider) => {
  let server: TestServer;
  const who: Record<"admin" | "serving" | "reader", Record<string, string>> = {
    admin: {},
    serving: {},
    reader: {},
  };
  const ids = { admin: "", serving: "", reader: "" };

  async function gql(as: keyof typeof who, query: string, variables: Record<string, unknown> = {}) {
    const answer = await server.gql<Json>(query, variables, who[as]);
    expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
    return answer.data;
  }
  const run = async (as: keyof typeof who, field: string, input: Record<string, unknown>) =>
    (await gql(as, mutation(field), { input }))[field];
  const deploy = (as: keyof typeof who, input: Record<string, unknown>) =>
    run(as, "recordModelVersionDeployment", {
      name: MODEL,
      version: 1,
      environment: "prod-eu",
      endpoint: EU,
      ...input,
    });
  const retire = (as: keyof typeof who, input: Record<string, unknown>) =>
    run(as, "retireModelVersionDeployment", { name: MODEL, version: 1, environment: "prod-eu", ...input });

  async function member(displayName: string): Promise<[string, Record<string, string>]> {
    const account = await createServiceAccount((q, v, h) => server.gql(q, v, h), displayName, who.admin);
    return [account.id, account.headers];
  }

  beforeAll(async () => {
    server = await startTestServer(provider, { webhooks: { pollIntervalMs: 100 } });
    ids.admin = (await gql("admin", `{ viewer { id } }`)).viewer.id;
    [ids.serving, who.serving] = await member("serving-system");
    [ids.reader, who.reader] = await member("reader");
    await gql("admin", `mutation { createRegisteredModel(input: { name: "${MODEL}" }) { __typename } }`);
    for (const source of ["s3://b/1", "s3://b/2", "s3://b/3"])
      await gql(
        "admin",
        `mutation($s: String!) { createModelVersion(input: { name: "${MODEL}", source: $s }) { __typename } }`,
        { s: source },
      );
    await gql(
      "admin",
      `mutation { createModelVersion(input: { name: "${MODEL}", source: "s3://b/4", pendingArtifacts: true }) { __typename } }`,
    );
    await gql(
      "admin",
      `mutation($p: ID!) { grantModelPermission(input: { name: "${MODEL}", principalId: $p, permission: EDIT }) { __typename } }`,
      { p: ids.serving },
    );
  });
  afterAll(async () => server?.close());

  it("refuses a caller without EDIT on the model, and records nothing", async () => {
    const refused = await deploy("reader", {});
    expect(refused).toMatchObject({ __typename: "PermissionDeniedError", code: "PERMISSION_DENIED" });
    const listed = await gql(
      "admin",
      `{ registeredModel(name: "${MODEL}") { deployments(includeRetired: true) { totalCount } } }`,
    );
    expect(listed.registeredModel.deployments.totalCount).toBe(0);
  });

  it("records a deployment by the serving system, shown on the version with who deployed it", async () => {
    const result = await deploy("serving", { description: "blue" });
    expect(result.__typename).toBe("ModelVersionDeploymentPayload");
    expect(result.events).toEqual([
      {
        type: "ModelVersionDeployed",
        data: { version: 1, environment: "prod-eu", endpoint: EU, description: "blue" },
      },
    ]);
    expect(result.deployment).toMatchObject({
      environment: "prod-eu",
      version: 1,
      endpoint: EU,
      active: true,
      deployedBy: { id: ids.serving, displayName: "serving-system" },
      retiredAt: null,
      modelVersion: { version: 1 },
    });
    const version = await gql(
      "reader",
      `{ modelVersion(name: "${MODEL}", version: 1) { deployments { totalCount nodes { ${DEPLOYMENT_FIELDS} } } } }`,
    );
    expect(version.modelVersion.deployments.nodes).toEqual([result.deployment]);
  });

  it("records the same deployment again without an event; a changed endpoint is a new event", async () => {
    const again = await deploy("serving", { description: "blue" });
    expect(again.__typename).toBe("ModelVersionDeploymentPayload");
    expect(again.events).toEqual([]);
    const moved = await deploy("serving", { description: "blue", endpoint: `${EU}/v2` });
    expect(moved.events.map((e: Json) => e.data.endpoint)).toEqual([`${EU}/v2`]);
    expect(moved.deployment.endpoint).toBe(`${EU}/v2`);
  });

  it("lets an environment serve a canary next to the stable version, listed per environment on the model", async () => {
    await deploy("serving", { version: 2, endpoint: `${EU}/canary`, description: "canary 5%" });
    await deploy("serving", {
      version: 3,
      environment: "staging",
      endpoint: "https://staging.example/fraud",
    });
    const model = await gql(
      "reader",
      `{ registeredModel(name: "${MODEL}") {
          eu: deployments(environment: "prod-eu") { totalCount nodes { environment version description } }
          all: deployments { totalCount } } }`,
    );
    expect(model.registeredModel.eu.nodes).toEqual([
      { environment: "prod-eu", version: 2, description: "canary 5%" },
      { environment: "prod-eu", version: 1, description: "blue" },
    ]);
    expect(model.registeredModel.all.totalCount).toBe(3);
  });

  it("refuses pending, missing and deleted versions with typed errors", async () => {
    expect(await deploy("serving", { version: 4 })).toMatchObject({
      __typename: "InvalidStateError",
      message: expect.stringContaining("PENDING_REGISTRATION"),
    });
    expect(await deploy("serving", { version: 99 })).toMatchObject({
      __typename: "NotFoundError",
      resource: "ModelVersion",
    });
    expect(await deploy("serving", { name: "no-such-model" })).toMatchObject({ __typename: "NotFoundError" });
  });

  it.each([
    ["a huge environment", { environment: "e".repeat(1_000_000) }, "environment"],
    ["an environment with a NUL", { environment: "prod\u0000eu" }, "environment"],
    ["an uppercase environment", { environment: "PROD-EU" }, "environment"],
    ["an environment with a newline", { environment: "prod-eu\nx" }, "environment"],
    ["a pathological environment", { environment: `${"a-".repeat(30_000)}!` }, "environment"],
    ["a huge endpoint", { endpoint: `https://x.example/${"a".repeat(1_000_000)}` }, "endpoint"],
    ["a relative endpoint", { endpoint: "/predict" }, "endpoint"],
    ["a javascript: endpoint", { endpoint: "javascript:alert(1)" }, "endpoint"],
    ["an endpoint with credentials", { endpoint: "https://admin:hunter2@x.example/" }, "endpoint"],
    ["an endpoint with a lone surrogate", { endpoint: "https://x.example/\ud800" }, "endpoint"],
  ])("answers %s with a ValidationError, recording nothing", async (_what, input, field) => {
    const result = await deploy("serving", input);
    expect(result).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", field });
  });

  it("answers hostile environment filters with nothing or a VALIDATION error, never an internal one", async () => {
    const query = `query($e: String) { registeredModel(name: "${MODEL}") { deployments(environment: $e) { totalCount } } }`;
    const huge = await server.gql<Json>(query, { e: "e".repeat(1_000_000) });
    expect(huge.errors).toBeUndefined();
    expect(huge.data.registeredModel.deployments.totalCount).toBe(0);
    const nul = await server.gql<Json>(query, { e: "prod\u0000eu" });
    expect(nul.errors?.map((e: Json) => e.extensions.code)).toEqual(["VALIDATION"]);
  });

  it("refuses to delete a deployed version, naming the environments; retiring it first allows it", async () => {
    const refused = await run("admin", "deleteModelVersion", { name: MODEL, version: 3 });
    expect(refused).toMatchObject({
      __typename: "ActiveDeploymentError",
      code: "ACTIVE_DEPLOYMENT",
      version: 3,
      environments: ["staging"],
    });
    const model = await run("admin", "deleteRegisteredModel", { name: MODEL });
    expect(model).toMatchObject({ __typename: "ActiveDeploymentError", version: null });
    expect(model.environments).toEqual(["prod-eu", "staging"]);

    const retired = await retire("serving", { version: 3, environment: "staging", reason: "decommissioned" });
    expect(retired.deployment).toMatchObject({
      active: false,
      retiredBy: { id: ids.serving },
      retireReason: "decommissioned",
    });
    const deleted = await run("admin", "deleteModelVersion", { name: MODEL, version: 3 });
    expect(deleted.__typename).toBe("ModelVersionPayload");
  });

  it("retires: gone from the current lists, kept with includeRetired; a retry changes nothing; an unknown pair is NotFound", async () => {
    const retired = await retire("serving", { version: 2, reason: "canary failed" });
    expect(retired.events).toEqual([
      {
        type: "ModelVersionDeploymentRetired",
        data: { version: 2, environment: "prod-eu", reason: "canary failed" },
      },
    ]);
    expect((await retire("serving", { version: 2 })).events).toEqual([]);
    expect(await retire("serving", { version: 1, environment: "prod-us" })).toMatchObject({
      __typename: "NotFoundError",
      resource: "Deployment",
    });
    expect(await retire("reader", { version: 1 })).toMatchObject({ __typename: "PermissionDeniedError" });
    const version = await gql(
      "reader",
      `{ modelVersion(name: "${MODEL}", version: 2) {
          now: deployments { totalCount } ever: deployments(includeRetired: true) { nodes { active retireReason } } } }`,
    );
    expect(version.modelVersion.now.totalCount).toBe(0);
    expect(version.modelVersion.ever.nodes).toEqual([{ active: false, retireReason: "canary failed" }]);
  });

  it("shows who deployed and retired in the model's history", async () => {
    const history = await gql(
      "admin",
      `{ registeredModel(name: "${MODEL}") { history(first: 100) { nodes { type data actor { id } } } } }`,
    );
    const deployments = history.registeredModel.history.nodes.filter((e: Json) =>
      e.type.startsWith("ModelVersionDeploy"),
    );
    expect(deployments.map((e: Json) => [e.type, e.data.version, e.data.environment, e.actor.id])).toEqual([
      ["ModelVersionDeployed", 1, "prod-eu", ids.serving],
      ["ModelVersionDeployed", 1, "prod-eu", ids.serving],
      ["ModelVersionDeployed", 2, "prod-eu", ids.serving],
      ["ModelVersionDeployed", 3, "staging", ids.serving],
      ["ModelVersionDeploymentRetired", 3, "staging", ids.serving],
      ["ModelVersionDeploymentRetired", 2, "prod-eu", ids.serving],
    ]);
  });

  it("answers what was deployed in prod-eu at a past moment (registeredModelAsOf)", async () => {
    const events = await gql(
      "admin",
      `{ registeredModel(name: "${MODEL}") { history(first: 100) { nodes { type data occurredAt position } } } }`,
    );
    // The position of the canary's deployment: then prod-eu served versions 1 and 2.
    const canary = events.registeredModel.history.nodes.find(
      (e: Json) => e.type === "ModelVersionDeployed" && e.data.version === 2,
    );
    const asOf = (position: number) =>
      gql(
        "reader",
        `query($p: Int!) { registeredModelAsOf(name: "${MODEL}", position: $p) {
          deployments(environment: "prod-eu") { environment version endpoint description } } }`,
        { p: position },
      );
    expect((await asOf(canary.position)).registeredModelAsOf.deployments).toEqual([
      { environment: "prod-eu", version: 2, endpoint: `${EU}/canary`, description: "canary 5%" },
      { environment: "prod-eu", version: 1, endpoint: `${EU}/v2`, description: "blue" },
    ]);
    const now = await gql(
      "reader",
      `query($at: DateTime!) { registeredModelAsOf(name: "${MODEL}", at: $at) { deployments { environment version } } }`,
      { at: new Date(Date.now() + 60_000).toISOString() },
    );
    expect(now.registeredModelAsOf.deployments).toEqual([{ environment: "prod-eu", version: 1 }]);
  });

  it("delivers deployment changes to subscribers, filtered by environment, and to the generic event feed", async () => {
    // Both subscriptions resume after the model's last event, so none of the changes below can
    // commit before they start.
    const history = await gql(
      "admin",
      `{ registeredModel(name: "${MODEL}") { history(first: 100) { nodes { cursor } } } }`,
    );
    const after = history.registeredModel.history.nodes.at(-1).cursor as string;
    const client = wsClient(`${server.url.replace("http", "ws")}/graphql`);
    try {
      const eu = record(
        client,
        `subscription($after: String) { modelVersionDeploymentChanged(name: "${MODEL}", environment: "prod-eu", after: $after) {
          kind environment version endpoint reason actor { id } deployment { active } cursor } }`,
        { after },
      );
      const all = record(
        client,
        `subscription($after: String) { registryEvents(after: $after, filter: { types: [ModelVersionDeployed, ModelVersionDeploymentRetired] }) { type data } }`,
        { after },
      );
      await deploy("serving", { version: 2, environment: "prod-us", endpoint: "https://us.example/f" });
      await deploy("serving", { version: 2, endpoint: `${EU}/canary-2` });
      await retire("serving", { version: 2, reason: "done" });
      const [deployed, retired] = await eu.waitFor(2);
      expect(deployed.modelVersionDeploymentChanged).toMatchObject({
        kind: "DEPLOYED",
        environment: "prod-eu",
        version: 2,
        endpoint: `${EU}/canary-2`,
        actor: { id: ids.serving },
      });
      expect(retired.modelVersionDeploymentChanged).toMatchObject({
        kind: "RETIRED",
        environment: "prod-eu",
        endpoint: null,
        reason: "done",
        deployment: { active: false },
      });
      const feed = await all.waitFor(3);
      expect(feed.map((d: Json) => [d.registryEvents.type, d.registryEvents.data.environment])).toEqual([
        ["ModelVersionDeployed", "prod-us"],
        ["ModelVersionDeployed", "prod-eu"],
        ["ModelVersionDeploymentRetired", "prod-eu"],
      ]);
      expect(eu.data).toHaveLength(2);
      eu.dispose();
      all.dispose();
    } finally {
      await client.dispose();
    }
  });

  it("delivers deployment events to webhooks that ask for them", async () => {
    const receiver = await startReceiver();
    try {
      const registered = await gql(
        "admin",
        `mutation($url: String!) { registerWebhook(input: { url: $url, modelNames: ["${MODEL}"],
            eventTypes: [ModelVersionDeployed, ModelVersionDeploymentRetired] }) {
          __typename ... on WebhookSecretPayload { secret } } }`,
        { url: receiver.url },
      );
      expect(registered.registerWebhook.__typename).toBe("WebhookSecretPayload");
      receiver.secret = registered.registerWebhook.secret;
      await deploy("serving", { environment: "edge", endpoint: "https://edge.example/f" });
      await retire("serving", { environment: "edge", reason: "moved" });
      await eventually(() => receiver.received.length >= 2, 10_000, "two deliveries");
      expect(receiver.received.map((r) => [r.verified, r.message.type, r.message.data.payload])).toEqual([
        [
          true,
          "ModelVersionDeployed",
          { version: 1, environment: "edge", endpoint: "https://edge.example/f", description: null },
        ],
        [true, "ModelVersionDeploymentRetired", { version: 1, environment: "edge", reason: "moved" }],
      ]);
    } finally {
      await receiver.close();
    }
  });

  it("rebuilds the deployments from the log exactly as the inline projection wrote them", async () => {
    const before = await dumpProjections(server.registro.db.reader);
    expect(before.modelVersionDeployments!.length).toBe(5);
    await rebuildProjections(server.registro.db);
    expect(await dumpProjections(server.registro.db.reader)).toEqual(before);
  });
});
