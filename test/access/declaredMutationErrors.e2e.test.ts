// Mutations whose resolvers refuse things themselves (the access operations, grants, signatures,
// re-inspection) declare those refusals in their result unions. Sent hostile inputs by callers of
// every kind, each must answer its payload or a member of its union: an undeclared error would
// surface as a masked "Unexpected error." instead. And each declared error must actually occur.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { mutationErrorTypes } from "../support/mutationResult.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

/** Ids and names no rule should accept, next to ordinary ones. */
const HOSTILE = ["", "nope", "nul\u0000", "\ud800", "x".repeat(300)];

/**
 * Declared errors no request can provoke on purpose: a race lost MAX_ATTEMPTS times (access
 * mutations take no expectedRevision), a collision of server-generated random ids, or a stream's
 * history broken by someone writing the database behind the registry's back (IntegrityError, which
 * test/audit/forgedEvents.e2e.test.ts provokes that way). A webhook without a signing secret
 * (InvalidStateError of ping and redeliver) exists only in a database restored from a backup, which
 * never holds secrets.
 */
const UNPROVOKABLE = (field: string): string[] =>
  ["pingWebhook", "redeliverWebhookDelivery"].includes(field)
    ? ["InvalidStateError"]
    : ["createUser", "createServiceAccount", "createTeam"].includes(field)
      ? ["ConcurrencyError", "InvalidStateError", "IntegrityError"]
      : MODEL_MUTATIONS.includes(field)
        ? ["IntegrityError"]
        : ["ConcurrencyError", "IntegrityError"];
const MODEL_MUTATIONS = [
  "recordModelVersionDeployment",
  "retireModelVersionDeployment",
  "setModelReviewPolicy",
  "grantModelPermission",
  "revokeModelPermission",
  "setModelVersionSignature",
  "inspectModelVersionArtifacts",
];

describe.each(await providers())("declared mutation errors on %s", (provider) => {
  let server: TestServer;
  const ids = {
    admin: "",
    team: "",
    member: "",
    viewer: "",
    disabled: "",
    enabled: "",
    token: "",
    webhook: "",
    delivery: "",
  };
  /** Review requests on model "r" (opened by the administrator; the member reviews). */
  const requests = { approve: "", unsafe: "", reject: "", cancel: "" };
  const callers: Record<string, Record<string, string>> = { admin: {} };
  /** Comments by the administrator on version 1: one to edit, one to delete, one deleted already. */
  const comments = { edit: "", remove: "", deleted: "" };

  async function admin(query: string, variables: Record<string, unknown> = {}) {
    const result = await server.gql(query, variables);
    expect(result.errors, query).toBeUndefined();
    return result.data;
  }

  async function serviceAccount(role: string, scopes: string[]): Promise<[string, string]> {
    const created = await admin(
      `mutation($r: RegistryRole) { createServiceAccount(input: { displayName: "sa", role: $r }) { ... on PrincipalPayload { principal { id } } } }`,
      { r: role },
    );
    const id = created.createServiceAccount.principal.id as string;
    const token = await admin(
      `mutation($p: ID, $s: [TokenScope!]!) { createApiToken(input: { principalId: $p, name: "t", scopes: $s }) { ... on CreateApiTokenPayload { secret token { id } } } }`,
      { p: id, s: scopes },
    );
    return [id, token.createApiToken.secret as string];
  }

  beforeAll(async () => {
    server = await startTestServer(provider);
    ids.admin = (await admin(`{ viewer { id } }`)).viewer.id;
    ids.team = (
      await admin(`mutation { createTeam(input: { name: "t1" }) { ... on TeamPayload { team { id } } } }`)
    ).createTeam.team.id;
    await admin(`mutation { createTeam(input: { name: "t2" }) { __typename } }`);
    let secret: string;
    [ids.member, secret] = await serviceAccount("MEMBER", ["READ", "WRITE"]);
    callers.member = { authorization: `Bearer ${secret}` };
    [ids.viewer, secret] = await serviceAccount("VIEWER", ["READ", "WRITE"]);
    callers.viewer = { authorization: `Bearer ${secret}` };
    [, secret] = await serviceAccount("MEMBER", ["READ"]);
    callers.readOnly = { authorization: `Bearer ${secret}` };
    // One stays disabled; the other is enabled again by a case below.
    [ids.disabled] = await serviceAccount("MEMBER", ["READ"]);
    [ids.enabled] = await serviceAccount("MEMBER", ["READ"]);
    for (const p of [ids.disabled, ids.enabled])
      await admin(`mutation($p: ID!) { disablePrincipal(input: { principalId: $p }) { __typename } }`, { p });
    ids.token = (
      await admin(
        `mutation { createApiToken(input: { name: "mine", scopes: [READ] }) { ... on CreateApiTokenPayload { token { id } } } }`,
      )
    ).createApiToken.token.id;
    await admin(`mutation { createRegisteredModel(input: { name: "m" }) { __typename } }`);
    await admin(`mutation { createModelVersion(input: { name: "m", source: "s3://b/1" }) { __typename } }`);
    // Version 2 holds a file to re-inspect; version 3 is deleted.
    await admin(
      `mutation { createModelVersion(input: { name: "m", source: "s3://b/2", pendingArtifacts: true }) { __typename } }`,
    );
    const put = await fetch(`${server.url}/artifacts/m/2/model.bin`, { method: "PUT", body: "bytes" });
    expect(put.status).toBe(201);
    await admin(`mutation { createModelVersion(input: { name: "m", source: "s3://b/3" }) { __typename } }`);
    await admin(`mutation { deleteModelVersion(input: { name: "m", version: 3 }) { __typename } }`);
    for (const key of ["edit", "remove", "deleted"] as const) {
      const added = await admin(
        `mutation { addModelVersionComment(input: { name: "m", version: 1, body: "a comment" }) { ... on ModelVersionCommentPayload { comment { id } } } }`,
      );
      comments[key] = added.addModelVersionComment.comment.id as string;
    }
    await admin(`mutation($id: ID!) { deleteModelVersionComment(input: { id: $id }) { __typename } }`, {
      id: comments.deleted,
    });
    // Version 1 serves in staging (a case retires it, then retires it again).
    await admin(
      `mutation { recordModelVersionDeployment(input: { name: "m", version: 1, environment: "staging", endpoint: "https://s.example/m" }) { __typename } }`,
    );
    // Reviews: model "p" takes policies; on model "r" the member reviews, version 2 has an
    // DANGEROUS pickle (the safety gate refuses the change an approval would apply).
    await admin(`mutation { createRegisteredModel(input: { name: "p" }) { __typename } }`);
    await admin(`mutation { createRegisteredModel(input: { name: "r" }) { __typename } }`);
    await admin(`mutation { createModelVersion(input: { name: "r", source: "s3://b/1" }) { __typename } }`);
    await admin(
      `mutation { createModelVersion(input: { name: "r", source: "s3://b/2", pendingArtifacts: true }) { __typename } }`,
    );
    const unsafe = await fetch(`${server.url}/artifacts/r/2/model.pkl`, {
      method: "PUT",
      body: readFileSync(new URL("../fixtures/inspection/files/os_system_p4.pkl", import.meta.url)),
    });
    expect(unsafe.status).toBe(201);
    await admin(`mutation { finalizeModelVersion(input: { name: "r", version: 2 }) { __typename } }`);
    await admin(
      `mutation($m: ID!) { setModelReviewPolicy(input: { name: "r", rules: [
        { stage: PRODUCTION, requiredApprovals: 1, reviewers: [{ principalId: $m }] },
        { aliasPattern: "champ*", requiredApprovals: 1, reviewers: [{ principalId: $m }] }] }) { __typename } }`,
      { m: ids.member },
    );
    const open = async (version: number, target: string) => {
      const data = await admin(
        `mutation { requestReview(input: { name: "r", version: ${version}, ${target}, reason: "r" }) { __typename ... on ReviewRequestPayload { reviewRequest { id } } } }`,
      );
      return data.requestReview.reviewRequest.id as string;
    };
    requests.approve = await open(1, "stage: PRODUCTION");
    requests.unsafe = await open(2, "stage: PRODUCTION");
    requests.reject = await open(1, `alias: "champion"`);
    requests.cancel = await open(1, `alias: "champ-2"`);
    ids.webhook = await webhook();
    ids.delivery = (
      await admin(
        `mutation($id: ID!) { pingWebhook(input: { id: $id }) { ... on WebhookDeliveryPayload { delivery { id } } } }`,
        { id: ids.webhook },
      )
    ).pingWebhook.delivery.id;
  });
  afterAll(async () => server?.close());

  const policy = (rule: Record<string, unknown>) => ({
    stage: "PRODUCTION",
    requiredApprovals: 1,
    reviewers: [{ principalId: ids.member }],
    ...rule,
  });

  /** A webhook of the administrator's (a fresh one for each call: deleteWebhook removes it). */
  async function webhook(): Promise<string> {
    const created = await admin(
      `mutation { registerWebhook(input: { url: "http://127.0.0.1:9/h", eventTypes: [RegisteredModelTagSet], modelNames: ["m"] }) { ... on WebhookSecretPayload { webhook { id } } } }`,
    );
    return created.registerWebhook.webhook.id as string;
  }
  const webhookCase = (extra: Record<string, unknown> = {}) => [
    { id: ids.webhook, ...extra },
    { id: "nope", ...extra },
    ...HOSTILE.map((id) => ({ id, ...extra })),
  ];

  /** Each mutation with the inputs to try (ids are looked up when the case runs). */
  const cases: Record<string, () => Record<string, unknown>[]> = {
    setModelReviewPolicy: () => [
      { name: "p", rules: [policy({})] },
      { name: "p", rules: [policy({})], expectedRevision: 1 },
      { name: "p", rules: [policy({ requiredApprovals: 0 })] },
      { name: "p", rules: [policy({ reviewers: [{ principalId: "nope" }] })] },
      { name: "p", rules: [policy({ stage: null, aliasPattern: "prod.*" })] },
      ...HOSTILE.map((name) => ({ name, rules: [] })),
    ],
    requestReview: () => [
      { name: "r", version: 1, alias: "champ-x", reason: "x" },
      { name: "r", version: 1, stage: "STAGING", reason: "x" },
      { name: "r", version: 1, reason: "x" },
      { name: "r", version: 1, alias: "champ-y", reason: " " },
      ...HOSTILE.map((name) => ({ name, version: 1, stage: "PRODUCTION", reason: "x" })),
    ],
    approveReviewRequest: () => [
      { id: requests.approve, comment: "fine" },
      { id: requests.approve, comment: "again" },
      { id: requests.unsafe },
      ...HOSTILE.map((id) => ({ id })),
    ],
    rejectReviewRequest: () => [
      { id: requests.reject, comment: "no" },
      { id: requests.reject, comment: "again" },
      ...HOSTILE.map((id) => ({ id, comment: "no" })),
    ],
    cancelReviewRequest: () => [
      // A blank reason keeps it open for the callers after the administrator (refused: not theirs).
      { id: requests.cancel, reason: " " },
      { id: requests.cancel, reason: "withdrawn" },
      { id: requests.cancel, reason: "again" },
      ...HOSTILE.map((id) => ({ id, reason: "r" })),
    ],
    createUser: () => [{ displayName: "u" }, ...HOSTILE.map((displayName) => ({ displayName }))],
    createServiceAccount: () => [
      { displayName: "s", email: "bad" },
      { displayName: "s", email: "a@b" },
    ],
    updatePrincipal: () => [
      { principalId: ids.member, displayName: "renamed" },
      { principalId: ids.member, email: "not-an-email" },
      ...HOSTILE.map((principalId) => ({ principalId, displayName: "x" })),
    ],
    setPrincipalRole: () => [
      { principalId: ids.admin, role: "MEMBER" },
      { principalId: ids.member, role: "MEMBER" },
      ...HOSTILE.map((principalId) => ({ principalId, role: "VIEWER" })),
    ],
    disablePrincipal: () => [{ principalId: ids.admin }, ...HOSTILE.map((principalId) => ({ principalId }))],
    enablePrincipal: () => [{ principalId: ids.enabled }, ...HOSTILE.map((principalId) => ({ principalId }))],
    createTeam: () => [{ name: "t1" }, { name: "fresh" }, ...HOSTILE.map((name) => ({ name }))],
    renameTeam: () => [
      { teamId: ids.team, name: "t2" },
      { teamId: ids.team, name: "t1" },
      ...HOSTILE.map((name) => ({ teamId: ids.team, name })),
      ...HOSTILE.map((teamId) => ({ teamId, name: "y" })),
    ],
    addTeamMember: () => [
      { teamId: ids.team, principalId: ids.member },
      ...HOSTILE.flatMap((bad) => [
        { teamId: ids.team, principalId: bad },
        { teamId: bad, principalId: ids.member },
      ]),
    ],
    removeTeamMember: () => [
      { teamId: ids.team, principalId: ids.member },
      ...HOSTILE.map((teamId) => ({ teamId, principalId: ids.member })),
    ],
    createApiToken: () => [
      { name: "n", scopes: ["READ"] },
      { name: "n", scopes: ["ADMIN"] },
      { name: "n", scopes: ["READ"], expiresAt: "2001-01-01T00:00:00Z" },
      { principalId: ids.member, name: "n", scopes: ["READ"] },
      { principalId: ids.admin, name: "n", scopes: ["READ"] },
      { principalId: ids.disabled, name: "n", scopes: ["READ"] },
      ...HOSTILE.map((principalId) => ({ principalId, name: "n", scopes: ["READ"] })),
      ...HOSTILE.map((name) => ({ name, scopes: ["READ"] })),
    ],
    revokeApiToken: () => [{ tokenId: ids.token }, ...HOSTILE.map((tokenId) => ({ tokenId }))],
    registerWebhook: () => [
      { url: "http://127.0.0.1:9/h", eventTypes: ["RegisteredModelCreated"] },
      { url: "http://127.0.0.1:9/h", eventTypes: ["RegisteredModelCreated"], modelNames: ["m", "nope"] },
      { url: "http://10.0.0.1/h", eventTypes: ["RegisteredModelCreated"] },
      { url: "ftp://example.com/", eventTypes: ["RegisteredModelCreated"] },
      { url: "http://127.0.0.1:9/h", eventTypes: [] },
      { url: "http://127.0.0.1:9/h", eventTypes: ["RegisteredModelCreated"], secret: "whsec_x" },
      ...HOSTILE.map((url) => ({ url, eventTypes: ["RegisteredModelCreated"] })),
      ...HOSTILE.map((name) => ({
        url: "http://127.0.0.1:9/h",
        eventTypes: ["RegisteredModelCreated"],
        modelNames: [name],
      })),
    ],
    updateWebhook: () => [
      ...webhookCase({ description: "d" }),
      { id: ids.webhook, url: "http://169.254.169.254/" },
      { id: ids.webhook, url: "gopher://x/" },
      { id: ids.webhook, modelNames: ["nope"] },
    ],
    rotateWebhookSecret: () => [...webhookCase(), { id: ids.webhook, secret: "whsec_x" }],
    disableWebhook: () => webhookCase(),
    enableWebhook: () => webhookCase(),
    pingWebhook: () => webhookCase(),
    redeliverWebhookDelivery: () => [{ id: ids.delivery }, { id: "nope" }, ...HOSTILE.map((id) => ({ id }))],
    deleteWebhook: () => webhookCase(),
    grantModelPermission: () => [
      { name: "m", principalId: ids.member, permission: "EDIT" },
      { name: "m", principalId: ids.member, permission: "EDIT" },
      { name: "m", teamId: ids.team, permission: "READ" },
      { name: "m", permission: "READ" },
      { name: "m", principalId: ids.member, teamId: ids.team, permission: "READ" },
      { name: "m", principalId: ids.member, permission: "EDIT", expectedRevision: 1 },
      ...HOSTILE.map((principalId) => ({ name: "m", principalId, permission: "READ" })),
      ...HOSTILE.map((name) => ({ name, principalId: ids.member, permission: "READ" })),
    ],
    revokeModelPermission: () => [
      { name: "m", principalId: ids.member },
      { name: "m", teamId: ids.team },
      { name: "m" },
      { name: "m", principalId: ids.viewer, expectedRevision: 1 },
      ...HOSTILE.map((principalId) => ({ name: "m", principalId })),
      ...HOSTILE.map((name) => ({ name, teamId: ids.team })),
    ],
    setModelVersionSignature: () => [
      { name: "m", version: 1, signature: { inputs: [{ name: "x", dtype: "float32" }], outputs: [] } },
      { name: "m", version: 1, signature: { inputs: [], outputs: [] } },
      {
        name: "m",
        version: 1,
        signature: { inputs: [{ name: "x", shape: [{ size: 1, symbol: "n" }] }], outputs: [] },
      },
      { name: "m", version: 3, signature: { inputs: [{ name: "x" }], outputs: [] } },
      { name: "m", version: 4, signature: { inputs: [{ name: "x" }], outputs: [] } },
      { name: "m", version: 1, expectedRevision: 1, signature: { inputs: [{ name: "x" }], outputs: [] } },
      ...HOSTILE.map((name) => ({ name, version: 1, signature: { inputs: [{ name }], outputs: [] } })),
    ],
    inspectModelVersionArtifacts: () => [
      { name: "m", version: 1 },
      { name: "m", version: 2 },
      { name: "m", version: 2, paths: ["nope"] },
      { name: "m", version: 2, expectedRevision: 1 },
      { name: "m", version: 0 },
      { name: "m", version: 7 },
      { name: "m", version: 1, paths: Array.from({ length: 101 }, (_, i) => `p${i}`) },
      ...HOSTILE.map((name) => ({ name, version: 1, paths: [name] })),
    ],
    addModelVersionComment: () => [
      { name: "m", version: 1, body: "**fine**" },
      { name: "m", version: 3, body: "on a deleted version" },
      { name: "m", version: 0, body: "x" },
      { name: "m", version: 1, body: "x".repeat(65_537) },
      ...HOSTILE.map((body) => ({ name: "m", version: 1, body })),
      ...HOSTILE.map((name) => ({ name, version: 1, body: "x" })),
    ],
    editModelVersionComment: () => [
      { id: comments.edit, body: "edited" },
      { id: comments.deleted, body: "edited" },
      ...HOSTILE.map((body) => ({ id: comments.edit, body })),
      ...HOSTILE.map((id) => ({ id, body: "x" })),
    ],
    deleteModelVersionComment: () => [{ id: comments.remove }, ...HOSTILE.map((id) => ({ id }))],
    recordModelVersionDeployment: () => {
      const ok = { name: "m", version: 1, environment: "prod-eu", endpoint: "https://s.example/m" };
      return [
        ok,
        { ...ok, expectedRevision: 1 },
        { ...ok, version: 2 },
        { ...ok, version: 3 },
        { ...ok, version: 7 },
        { ...ok, version: 0 },
        { ...ok, environment: "Prod EU" },
        { ...ok, endpoint: "ftp://s.example/m" },
        { ...ok, endpoint: "https://u:p@s.example/m" },
        { ...ok, description: "x".repeat(5001) },
        ...HOSTILE.map((environment) => ({ ...ok, environment })),
        ...HOSTILE.map((endpoint) => ({ ...ok, endpoint })),
        ...HOSTILE.map((name) => ({ ...ok, name })),
      ];
    },
    retireModelVersionDeployment: () => {
      const ok = { name: "m", version: 1, environment: "staging", reason: "rolled back" };
      return [
        ok,
        ok,
        { ...ok, expectedRevision: 1 },
        { ...ok, environment: "nowhere" },
        { ...ok, reason: "x".repeat(5001) },
        ...HOSTILE.map((environment) => ({ ...ok, environment })),
        ...HOSTILE.map((name) => ({ ...ok, name })),
      ];
    },
    reportModelServing: () => {
      const report = {
        name: "m",
        version: 1,
        environment: "prod-eu",
        windowStart: new Date(Date.now() - 120_000).toISOString(),
        windowEnd: new Date(Date.now() - 60_000).toISOString(),
        requests: 10,
        errors: 1,
        latencyP50Ms: 5,
        latencyP99Ms: 9,
      };
      return [
        report,
        { ...report, version: 3 },
        { ...report, requests: -1 },
        { ...report, errors: 11 },
        { ...report, latencyP50Ms: 10 },
        { ...report, environment: "Prod EU" },
        ...HOSTILE.map((name) => ({ ...report, name })),
      ];
    },
  };

  it.each(Object.keys(cases))(
    "%s answers only its declared errors, and each of them occurs",
    async (field) => {
      const type = field.charAt(0).toUpperCase() + field.slice(1);
      const seen = new Set<string>();
      for (const input of cases[field]!())
        for (const [caller, headers] of Object.entries(callers)) {
          const result = await server.gql(
            `mutation($input: ${type}Input!) { ${field}(input: $input) { __typename } }`,
            { input },
            headers,
          );
          expect(result.errors, `${field} as ${caller} with ${JSON.stringify(input)}`).toBeUndefined();
          seen.add((result.data as Record<string, { __typename: string }>)[field]!.__typename);
        }
      const declared = mutationErrorTypes(field);
      const provokable = declared.filter((name) => !UNPROVOKABLE(field).includes(name));
      expect([...seen].filter((name) => name.endsWith("Error")).sort()).toEqual(provokable.sort());
    },
  );
});
