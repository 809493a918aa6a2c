// The access matrix (issue 9), run by ./sqlite.e2e.test.ts and ./postgresql.e2e.test.ts: every root
// Query, Mutation and Subscription field and every artifact route, attempted as each persona against
// a server with AUTH=required, SSO and private models (no default permission). The matrix is data:
// one entry per operation, with what it needs to exist and the outcome each persona must meet. A root
// field the schema gains without an entry fails the first test, so no operation can arrive without
// its row.
//
// Outcomes: ALLOWED; UNAUTHENTICATED (HTTP 401, WebSocket close 4401); HIDDEN (the answer is exactly
// the one for a model, or token, that does not exist: the attempt is repeated against a missing one
// and both answers are compared); DENIED (PermissionDeniedError, PERMISSION_DENIED, HTTP 403). An
// attempt that is not ALLOWED must also leave what it aimed at unchanged (and an allowed change must
// change it), and a refused upload must store no bytes.
import { createHash, randomUUID } from "node:crypto";
import { GraphQLObjectType, GraphQLUnionType, getNamedType } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schema } from "../../../src/graphql/schema.ts";
import type { DatabaseConfig } from "../../../src/config.ts";
import { NOW_S, oidcConfig, signer, startIssuer } from "../../support/oidcIssuer.ts";
import type { Issuer } from "../../support/oidcIssuer.ts";
import { errorSelection } from "../../support/mutationResult.ts";
import { startTestServer } from "../../support/server.ts";
import type { TestServer } from "../../support/server.ts";
import { wsClient } from "../../subscriptions/support.ts";
import { bootstrapAdmin } from "../../support/bootstrapAdmin.ts";

// ---- Personas -----------------------------------------------------------------------------------

const PERSONAS = [
  "anonymous",
  "expiredToken",
  "revokedToken",
  "readScopeToken",
  "badSignatureJwt",
  "wrongAudienceJwt",
  "expiredJwt",
  "viewer",
  "readGrantee",
  "editGrantee",
  "manageGrantee",
  "auditor",
  "admin",
  "ssoMember",
] as const;
type Persona = (typeof PERSONAS)[number];

type Permission = "READ" | "EDIT" | "MANAGE";
/** The principals behind the personas; `sso` is the MEMBER that a valid SSO token creates on first sight. */
type Subject = "admin" | "viewer" | "reader" | "editor" | "manager" | "auditor" | "sso";

/**
 * Who each persona is: the principal its credential names, and what that principal holds on the
 * models made for the persona. Refused credentials name a principal with MANAGE too, so that one
 * accepted by mistake would show as ALLOWED instead of UNAUTHENTICATED.
 */
const PERSONA: Record<Persona, { readonly subject: Subject | null; readonly grant: Permission | null }> = {
  anonymous: { subject: null, grant: null },
  expiredToken: { subject: "manager", grant: "MANAGE" },
  revokedToken: { subject: "manager", grant: "MANAGE" },
  // The MANAGE grantee's second token, with the read scope only.
  readScopeToken: { subject: "manager", grant: "MANAGE" },
  badSignatureJwt: { subject: "sso", grant: "MANAGE" },
  wrongAudienceJwt: { subject: "sso", grant: "MANAGE" },
  expiredJwt: { subject: "sso", grant: "MANAGE" },
  viewer: { subject: "viewer", grant: null },
  readGrantee: { subject: "reader", grant: "READ" },
  editGrantee: { subject: "editor", grant: "EDIT" },
  manageGrantee: { subject: "manager", grant: "MANAGE" },
  auditor: { subject: "auditor", grant: null },
  admin: { subject: "admin", grant: null },
  ssoMember: { subject: "sso", grant: null },
};

// ---- Expected outcomes --------------------------------------------------------------------------

const A = "ALLOWED";
const U = "UNAUTHENTICATED";
const H = "HIDDEN";
const D = "DENIED";
type Outcome = typeof A | typeof U | typeof H | typeof D;
type Expectation = Readonly<Record<Persona, Outcome>>;

/** Credentials that prove no one: refused before the operation is looked at. */
const REFUSED = {
  anonymous: U,
  expiredToken: U,
  revokedToken: U,
  badSignatureJwt: U,
  wrongAudienceJwt: U,
  expiredJwt: U,
} as const;

/** Reading one model (with private models, only its grantees, AUDITORs and ADMINs see it). */
const READ_MODEL: Expectation = {
  ...REFUSED,
  readScopeToken: A,
  viewer: H,
  readGrantee: A,
  editGrantee: A,
  manageGrantee: A,
  auditor: A,
  admin: A,
  ssoMember: H,
};
/** Changing one model: EDIT on it, and a credential that may write. */
const EDIT_MODEL: Expectation = {
  ...REFUSED,
  readScopeToken: D,
  viewer: H,
  readGrantee: D,
  editGrantee: A,
  manageGrantee: A,
  auditor: D,
  admin: A,
  ssoMember: H,
};
/** Rename, delete, restore, grants, and overriding the safety gate: MANAGE on the model. */
const MANAGE_MODEL: Expectation = {
  ...REFUSED,
  readScopeToken: D,
  viewer: H,
  readGrantee: D,
  editGrantee: D,
  manageGrantee: A,
  auditor: D,
  admin: A,
  ssoMember: H,
};
/** `RegisteredModel.permissions`: MANAGE on the model, or AUDITOR or ADMIN. */
const READ_GRANTS: Expectation = {
  ...REFUSED,
  readScopeToken: D,
  viewer: H,
  readGrantee: D,
  editGrantee: D,
  manageGrantee: A,
  auditor: A,
  admin: A,
  ssoMember: H,
};
/** Registry-wide audit records (the signed checkpoints): registry role AUDITOR or ADMIN. */
const AUDIT_REGISTRY: Expectation = {
  ...REFUSED,
  readScopeToken: D,
  viewer: D,
  readGrantee: D,
  editGrantee: D,
  manageGrantee: D,
  auditor: A,
  admin: A,
  ssoMember: D,
};
/** Registering a model: MEMBER or ADMIN, with the write scope. */
const CREATE_MODEL: Expectation = {
  ...REFUSED,
  readScopeToken: D,
  viewer: D,
  readGrantee: A,
  editGrantee: A,
  manageGrantee: A,
  auditor: D,
  admin: A,
  ssoMember: A,
};
/** Commenting on a version: READ on the model, and a credential that may write. */
const COMMENT_MODEL: Expectation = {
  ...REFUSED,
  readScopeToken: D,
  viewer: H,
  readGrantee: A,
  editGrantee: A,
  manageGrantee: A,
  auditor: D,
  admin: A,
  ssoMember: H,
};
/** Users, teams and others' tokens: ADMIN with the admin scope. */
const ADMINISTER: Expectation = {
  ...REFUSED,
  readScopeToken: D,
  viewer: D,
  readGrantee: D,
  editGrantee: D,
  manageGrantee: D,
  auditor: D,
  admin: A,
  ssoMember: D,
};
/** The caller's own tokens: anyone, with a credential that may write. */
const OWN_TOKENS: Expectation = {
  ...REFUSED,
  readScopeToken: D,
  viewer: A,
  readGrantee: A,
  editGrantee: A,
  manageGrantee: A,
  auditor: A,
  admin: A,
  ssoMember: A,
};
/** Another principal's token: an administrator's business; to anyone else it does not exist. */
const OTHERS_TOKENS: Expectation = {
  ...REFUSED,
  readScopeToken: D,
  viewer: H,
  readGrantee: H,
  editGrantee: H,
  manageGrantee: H,
  auditor: H,
  admin: A,
  ssoMember: H,
};
/** A webhook reads like another principal's token: its owner's and ADMINs' business, to anyone else missing. */
const OTHERS_WEBHOOK_READ: Expectation = {
  ...REFUSED,
  readScopeToken: H,
  viewer: H,
  readGrantee: H,
  editGrantee: H,
  manageGrantee: H,
  auditor: H,
  admin: A,
  ssoMember: H,
};
/** Changing the administrator's webhook (a credential that may write is asked for first). */
const OTHERS_WEBHOOK: Expectation = OTHERS_TOKENS;

/** Anyone who is someone. */
const ANYONE: Expectation = {
  ...REFUSED,
  readScopeToken: A,
  viewer: A,
  readGrantee: A,
  editGrantee: A,
  manageGrantee: A,
  auditor: A,
  admin: A,
  ssoMember: A,
};

// ---- Entries ------------------------------------------------------------------------------------

/** One mutation the administrator runs to build a fixture. */
interface Step {
  readonly field: string;
  readonly input: Record<string, unknown>;
  /** Extra selection on the result (a fragment on its payload type). */
  readonly select?: string;
}
const step = (field: string, input: Record<string, unknown>, select?: string): Step =>
  select === undefined ? { field, input } : { field, input, select };

/** What one persona's attempt is aimed at: a model name (its own), and ids of other things it names. */
type Target = Readonly<Record<string, string>> & { readonly name: string };

/** A server, and how each persona authenticates to it. */
interface Connection {
  readonly server: TestServer;
  /** The Authorization header of each persona (none for anonymous). */
  readonly credentials: Readonly<Record<Persona, string | null>>;
}

/** Everything the world holds: known after setup, read by entries to aim their attempts. */
interface World extends Connection {
  readonly wsUrl: string;
  readonly principals: Readonly<Record<Subject, string>>;
  /** A service account that takes and loses grants. */
  readonly bystander: string;
  /** Models made for entries, by fixture name (entries that only read share theirs). */
  readonly fixtures: Map<string, Promise<void>>;
  /** Per persona, what its principal, team and token attempts aim at (so that no two attempts share one). */
  readonly own: Readonly<Record<Persona, PersonaTargets>>;
  close(): Promise<void>;
}

interface PersonaTargets {
  readonly roleOf: string;
  readonly profileOf: string;
  readonly toDisable: string;
  /** Disabled. */
  readonly toEnable: string;
  /** A member of `removeFrom`, not of `addTo`. */
  readonly member: string;
  readonly renameTeam: string;
  readonly addTo: string;
  readonly removeFrom: string;
  /** A token of the persona's own principal. */
  readonly ownToken: string;
  /** A token of `member`. */
  readonly othersToken: string;
}

/** The state an attempt would change, as the administrator sees it (before and after the attempts). */
interface Snapshot {
  readonly models: Readonly<Record<string, unknown>>;
  readonly principals: readonly {
    id: string;
    displayName: string;
    role: string;
    disabled: boolean;
    tokens: { id: string; name: string; revoked: boolean }[];
  }[];
  readonly teams: readonly { id: string; name: string; members: { id: string }[] }[];
}

interface Entry {
  /** The root field (or route), with a note when an operation has more than one entry. */
  readonly key: string;
  readonly expect: Expectation;
  /**
   * Steps (as the administrator) that prepare the persona's model once it is registered and its
   * principal granted; absent: the attempt needs no model.
   */
  readonly model?: (t: Target) => Step[];
  /** Version 1 (pending) receives an artifact before the attempt. */
  readonly artifact?: boolean;
  /** Entries that only read may share their models: those with the same fixture name do. */
  readonly fixture?: string;
  /** Ids of the world the attempt names besides the model. */
  readonly ids?: (p: Persona, w: World) => Record<string, string>;
  /** Ids read (as the administrator) once the model is prepared. */
  readonly lookup?: (w: World, t: Target) => Promise<Record<string, string>>;
  /**
   * Target values that a HIDDEN answer must not tell from missing ones (default: the model name
   * when there is a model).
   */
  readonly hide?: readonly string[];
  /** What the attempt would change; unchanged unless ALLOWED (default: the model, if there is one). */
  readonly probe?: ((s: Snapshot, t: Target) => unknown) | null;
}

interface GraphqlEntry extends Entry {
  readonly field: `Query.${string}` | `Mutation.${string}` | `Subscription.${string}`;
}

interface QueryEntry extends GraphqlEntry {
  readonly field: `Query.${string}`;
  readonly document: string;
  readonly variables: (t: Target) => Record<string, unknown>;
  /** Whether the answer holds what was asked for (else it must be the answer for a missing one). */
  readonly found: (data: any, t: Target) => boolean;
}

interface MutationEntry extends GraphqlEntry {
  readonly field: `Mutation.${string}`;
  readonly input: (t: Target) => Record<string, unknown>;
  /** Sent as a GraphQL multipart request with a file in `input.file`. */
  readonly upload?: boolean;
}

interface SubscriptionEntry extends GraphqlEntry {
  readonly field: `Subscription.${string}`;
  /** Takes `$after`; selects `modelId`. */
  readonly document: string;
  /** A change (as the administrator) that the subscription reports, on a model with a READY version 1. */
  readonly change: (name: string) => Step;
  /** More steps (as the administrator) that prepare each model after its version 1. */
  readonly prepare?: (name: string, w: World) => Step[];
}

interface RouteEntry extends Entry {
  readonly method: "GET" | "HEAD" | "PUT";
}

const v1 = (t: Target) => step("createModelVersion", { name: t.name, source: `s3://matrix/${t.name}` });
const pendingV1 = (t: Target) =>
  step("createModelVersion", { name: t.name, source: `s3://matrix/${t.name}`, pendingArtifacts: true });
const nothing = () => [];

/** Version 1, with Production protected by a review policy whose reviewer is `t.reviewer`. */
const protectedV1 = (t: Target) => [
  v1(t),
  step("setModelReviewPolicy", {
    name: t.name,
    rules: [
      {
        stage: "PRODUCTION",
        requiredApprovals: 1,
        reviewers: [{ principalId: t.reviewer }],
        allowSelfApproval: true,
      },
    ],
  }),
];
/** A review request (by the administrator) to move version 1 to Production. */
const requestReview = (t: Target) =>
  step("requestReview", { name: t.name, version: 1, stage: "PRODUCTION", reason: "the matrix asks" });

/** The persona's principal reviews (a bystander for personas without one). */
const reviewerIds = (p: Persona, w: World) => ({
  reviewer: w.principals[PERSONA[p].subject ?? "admin"] ?? w.bystander,
});

async function openRequestId(w: World, t: Target): Promise<Record<string, string>> {
  const { body } = await post(
    w,
    `query($name: String!) { reviewRequests(filter: { modelName: $name, status: OPEN }) { nodes { id } } }`,
    { name: t.name },
    w.credentials.admin,
  );
  return { requestId: body.data.reviewRequests.nodes[0].id };
}

/** Reviewing a request: READ on the model, listed in its policy, and a credential that may write. */
const REVIEW_REQUEST: Expectation = {
  ...REFUSED,
  readScopeToken: D,
  viewer: H,
  readGrantee: A,
  editGrantee: A,
  manageGrantee: A,
  auditor: D,
  admin: A,
  ssoMember: H,
};
/** Changing a protected target without review: an administrator, with a reason. */
const BYPASS_REVIEW: Expectation = {
  ...REFUSED,
  readScopeToken: D,
  viewer: H,
  readGrantee: D,
  editGrantee: D,
  manageGrantee: D,
  auditor: D,
  admin: A,
  ssoMember: H,
};

const principalOf = (s: Snapshot, id: string | undefined) => {
  const p = s.principals.find((x) => x.id === id);
  return p && { displayName: p.displayName, role: p.role, disabled: p.disabled };
};
const tokensNamed = (s: Snapshot, name: string) =>
  s.principals.flatMap((p) => p.tokens).filter((t) => t.name === name).length;
const teamOf = (s: Snapshot, id: string | undefined) => s.teams.find((team) => team.id === id);

/** The models the queries read (shared: reads change nothing): a READY version 1 with an alias and a tag. */
const READABLE = {
  fixture: "queried",
  model: (t: Target) => [
    v1(t),
    step("setRegisteredModelAlias", { name: t.name, version: 1, alias: "champion" }),
    step("setRegisteredModelTag", { name: t.name, key: "team", value: "matrix" }),
  ],
} as const;

async function nodeIds(w: World, t: Target): Promise<Record<string, string>> {
  const { body } = await post(
    w,
    `query($name: String!) { registeredModel(name: $name) { id versions { nodes { id } } history(first: 1) { nodes { id } } } }`,
    { name: t.name },
    w.credentials.admin,
  );
  const model = body.data.registeredModel;
  return {
    modelNodeId: model.id,
    versionNodeId: model.versions.nodes[0].id,
    eventNodeId: model.history.nodes[0].id,
  };
}

const commented = (t: Target) =>
  step("addModelVersionComment", { name: t.name, version: 1, body: "The administrator's comment." });

/** Version 1 served by prod-eu (recorded by the administrator). */
const deployedV1 = (t: Target) =>
  step("recordModelVersionDeployment", {
    name: t.name,
    version: 1,
    environment: "prod-eu",
    endpoint: "https://serve.example/m",
  });

/** The id of the comment on version 1 (see `commented`). */
async function commentId(w: World, t: Target): Promise<Record<string, string>> {
  const { body } = await post(
    w,
    `query($name: String!) { modelVersion(name: $name, version: 1) { comments { nodes { id } } } }`,
    { name: t.name },
    w.credentials.admin,
  );
  return { commentId: body.data.modelVersion.comments.nodes[0].id };
}
/** The administrator's webhook on the persona's model (the matrix server allows 127.0.0.1; nothing listens on port 9). */
const WEBHOOK_URL = "http://127.0.0.1:9/hook";
const adminsWebhook = (t: Target) => [
  step("registerWebhook", { url: WEBHOOK_URL, eventTypes: ["RegisteredModelTagSet"], modelNames: [t.name] }),
];
async function webhookIds(w: World, t: Target): Promise<Record<string, string>> {
  const { body } = await post(w, `{ webhooks { id models } }`, {}, w.credentials.admin);
  const webhook = body.data.webhooks.find((x: { models: string[] | null }) => x.models?.includes(t.name));
  return { webhookId: webhook.id };
}
async function deliveryIds(w: World, t: Target): Promise<Record<string, string>> {
  const { webhookId } = await webhookIds(w, t);
  const { body } = await post(
    w,
    `mutation($id: ID!) { pingWebhook(input: { id: $id }) { ... on WebhookDeliveryPayload { delivery { id } } } }`,
    { id: webhookId },
    w.credentials.admin,
  );
  return { webhookId: webhookId!, deliveryId: body.data.pingWebhook.delivery.id };
}
const ON_ADMINS_WEBHOOK = {
  expect: OTHERS_WEBHOOK,
  model: adminsWebhook,
  lookup: webhookIds,
  hide: ["webhookId"],
  // What a webhook mutation changes is not in the snapshot; the webhook e2e tests check the effects.
  probe: null,
} as const;

const QUERIES: readonly QueryEntry[] = [
  {
    key: "Query.webhooks",
    field: "Query.webhooks",
    expect: ANYONE,
    document: `{ webhooks { id } }`,
    variables: () => ({}),
    found: (data) => Array.isArray(data.webhooks),
  },
  {
    key: "Query.webhook",
    field: "Query.webhook",
    expect: OTHERS_WEBHOOK_READ,
    model: adminsWebhook,
    lookup: webhookIds,
    hide: ["webhookId"],
    document: `query($id: ID!) { webhook(id: $id) { id url } }`,
    variables: (t) => ({ id: t.webhookId }),
    found: (data) => data.webhook !== null,
  },
  {
    key: "Query.history",
    field: "Query.history",
    expect: READ_MODEL,
    ...READABLE,
    document: `query($name: String!) { history(name: $name) { nodes { type } } }`,
    variables: (t) => ({ name: t.name }),
    found: (data) => data.history.nodes.length > 0,
  },
  {
    key: "Query.auditLog",
    field: "Query.auditLog",
    expect: READ_MODEL,
    ...READABLE,
    document: `query($name: String!) { auditLog(filter: { models: [$name] }) {
      ... on RegistryEventConnection { totalCount nodes { type } } } }`,
    variables: (t) => ({ name: t.name }),
    found: (data) => data.auditLog.nodes.length > 0,
  },
  {
    key: "Query.modelVersion",
    field: "Query.modelVersion",
    expect: READ_MODEL,
    ...READABLE,
    document: `query($name: String!) { modelVersion(name: $name, version: 1) { version stage } }`,
    variables: (t) => ({ name: t.name }),
    found: (data) => data.modelVersion !== null,
  },
  {
    key: "Query.modelVersionByAlias",
    field: "Query.modelVersionByAlias",
    expect: READ_MODEL,
    ...READABLE,
    document: `query($name: String!) { modelVersionByAlias(name: $name, alias: "champion") { version } }`,
    variables: (t) => ({ name: t.name }),
    found: (data) => data.modelVersionByAlias !== null,
  },
  {
    key: "Query.modelVersions",
    field: "Query.modelVersions",
    expect: READ_MODEL,
    ...READABLE,
    document: `query($name: String!) { modelVersions(filter: { name: $name }) { nodes { version } } }`,
    variables: (t) => ({ name: t.name }),
    found: (data) => data.modelVersions.nodes.length > 0,
  },
  {
    key: "Query.reviewRequests",
    field: "Query.reviewRequests",
    expect: READ_MODEL,
    fixture: "reviewed",
    ids: (_p, w) => ({ reviewer: w.bystander }),
    model: (t) => [...protectedV1(t), requestReview(t)],
    document: `query($name: String!) { reviewRequests(filter: { modelName: $name }) { totalCount nodes { id status } } }`,
    variables: (t) => ({ name: t.name }),
    found: (data) => data.reviewRequests.nodes.length > 0,
  },
  {
    key: "Query.node",
    field: "Query.node",
    expect: READ_MODEL,
    ...READABLE,
    lookup: nodeIds,
    hide: ["name", "modelNodeId"],
    document: `query($id: ID!) { node(id: $id) { id ... on RegisteredModel { name } } }`,
    variables: (t) => ({ id: t.modelNodeId }),
    found: (data) => data.node !== null,
  },
  {
    key: "Query.nodes",
    field: "Query.nodes",
    expect: READ_MODEL,
    ...READABLE,
    lookup: nodeIds,
    hide: ["name", "modelNodeId", "versionNodeId", "eventNodeId"],
    document: `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
    variables: (t) => ({ ids: [t.modelNodeId, t.versionNodeId, t.eventNodeId] }),
    found: (data) => data.nodes.every((node: unknown) => node !== null),
  },
  {
    key: "Query.auditCheckpoints",
    field: "Query.auditCheckpoints",
    expect: AUDIT_REGISTRY,
    document: `{ auditCheckpoints(first: 5) { totalCount nodes { position root } } }`,
    variables: () => ({}),
    // The matrix's server may not have signed one yet: an answer at all is what is allowed.
    found: (data) => Number.isInteger(data.auditCheckpoints.totalCount),
  },
  {
    key: "Query.principals",
    field: "Query.principals",
    expect: ADMINISTER,
    document: `{ principals { id } }`,
    variables: () => ({}),
    found: (data) => data.principals.length > 0,
  },
  {
    key: "Query.registeredModel",
    field: "Query.registeredModel",
    expect: READ_MODEL,
    ...READABLE,
    document: `query($name: String!) { registeredModel(name: $name) { name tags { key } versions { nodes { version } } } }`,
    variables: (t) => ({ name: t.name }),
    found: (data) => data.registeredModel !== null,
  },
  {
    key: "Query.registeredModel (its permissions)",
    field: "Query.registeredModel",
    expect: READ_GRANTS,
    ...READABLE,
    document: `query($name: String!) { registeredModel(name: $name) { name permissions { granteeId permission } } }`,
    variables: (t) => ({ name: t.name }),
    found: (data) => data.registeredModel !== null,
  },
  {
    key: "Query.registeredModelAsOf",
    field: "Query.registeredModelAsOf",
    expect: READ_MODEL,
    ...READABLE,
    document: `query($name: String!, $at: DateTime!) { registeredModelAsOf(name: $name, at: $at) { name revision } }`,
    variables: (t) => ({ name: t.name, at: new Date().toISOString() }),
    found: (data) => data.registeredModelAsOf !== null,
  },
  {
    key: "Query.registeredModelAsOf (its permissions then)",
    field: "Query.registeredModelAsOf",
    expect: READ_GRANTS,
    ...READABLE,
    document: `query($name: String!, $at: DateTime!) { registeredModelAsOf(name: $name, at: $at) { name permissions { granteeId permission } } }`,
    variables: (t) => ({ name: t.name, at: new Date().toISOString() }),
    found: (data) => data.registeredModelAsOf !== null,
  },
  {
    key: "Query.registeredModels",
    field: "Query.registeredModels",
    expect: READ_MODEL,
    ...READABLE,
    document: `query($name: String!) { registeredModels(filter: { nameContains: $name }) { nodes { name } } }`,
    variables: (t) => ({ name: t.name }),
    found: (data, t) => data.registeredModels.nodes.some((m: { name: string }) => m.name === t.name),
  },
  {
    key: "Query.teams",
    field: "Query.teams",
    expect: ADMINISTER,
    document: `{ teams { id } }`,
    variables: () => ({}),
    found: (data) => data.teams.length > 0,
  },
  {
    key: "Query.viewer",
    field: "Query.viewer",
    expect: ANYONE,
    ids: (p, w) => ({ self: subjectId(w, p) ?? "" }),
    document: `{ viewer { id role } }`,
    variables: () => ({}),
    found: (data, t) => data.viewer.id === t.self,
  },
];

const sameModel = (s: Snapshot, t: Target) => s.models[t.name];

const MUTATIONS: readonly MutationEntry[] = [
  {
    key: "Mutation.registerWebhook",
    field: "Mutation.registerWebhook",
    expect: MANAGE_MODEL,
    model: nothing,
    probe: null,
    input: (t) => ({ url: WEBHOOK_URL, eventTypes: ["ModelVersionCreated"], modelNames: [t.name] }),
  },
  {
    key: "Mutation.registerWebhook (every model the owner can read)",
    field: "Mutation.registerWebhook",
    expect: CREATE_MODEL,
    probe: null,
    input: () => ({ url: WEBHOOK_URL, eventTypes: ["ModelVersionCreated"] }),
  },
  {
    key: "Mutation.updateWebhook",
    field: "Mutation.updateWebhook",
    ...ON_ADMINS_WEBHOOK,
    input: (t) => ({ id: t.webhookId, description: "changed" }),
  },
  {
    key: "Mutation.rotateWebhookSecret",
    field: "Mutation.rotateWebhookSecret",
    ...ON_ADMINS_WEBHOOK,
    input: (t) => ({ id: t.webhookId }),
  },
  {
    key: "Mutation.disableWebhook",
    field: "Mutation.disableWebhook",
    ...ON_ADMINS_WEBHOOK,
    input: (t) => ({ id: t.webhookId }),
  },
  {
    key: "Mutation.enableWebhook",
    field: "Mutation.enableWebhook",
    ...ON_ADMINS_WEBHOOK,
    input: (t) => ({ id: t.webhookId }),
  },
  {
    key: "Mutation.deleteWebhook",
    field: "Mutation.deleteWebhook",
    ...ON_ADMINS_WEBHOOK,
    input: (t) => ({ id: t.webhookId }),
  },
  {
    key: "Mutation.pingWebhook",
    field: "Mutation.pingWebhook",
    ...ON_ADMINS_WEBHOOK,
    input: (t) => ({ id: t.webhookId }),
  },
  {
    key: "Mutation.redeliverWebhookDelivery",
    field: "Mutation.redeliverWebhookDelivery",
    ...ON_ADMINS_WEBHOOK,
    lookup: deliveryIds,
    hide: ["deliveryId"],
    input: (t) => ({ id: t.deliveryId }),
  },
  // The model itself.
  {
    key: "Mutation.createRegisteredModel",
    field: "Mutation.createRegisteredModel",
    expect: CREATE_MODEL,
    probe: sameModel,
    input: (t) => ({ name: t.name }),
  },
  {
    key: "Mutation.updateRegisteredModel",
    field: "Mutation.updateRegisteredModel",
    expect: EDIT_MODEL,
    model: nothing,
    input: (t) => ({ name: t.name, description: "changed" }),
  },
  {
    key: "Mutation.setRegisteredModelTag",
    field: "Mutation.setRegisteredModelTag",
    expect: EDIT_MODEL,
    model: nothing,
    input: (t) => ({ name: t.name, key: "k", value: "v" }),
  },
  {
    key: "Mutation.deleteRegisteredModelTag",
    field: "Mutation.deleteRegisteredModelTag",
    expect: EDIT_MODEL,
    model: (t) => [step("setRegisteredModelTag", { name: t.name, key: "k", value: "v" })],
    input: (t) => ({ name: t.name, key: "k" }),
  },
  {
    key: "Mutation.renameRegisteredModel",
    field: "Mutation.renameRegisteredModel",
    expect: MANAGE_MODEL,
    model: nothing,
    input: (t) => ({ name: t.name, newName: `${t.name}-renamed` }),
  },
  {
    key: "Mutation.deleteRegisteredModel",
    field: "Mutation.deleteRegisteredModel",
    expect: MANAGE_MODEL,
    model: nothing,
    input: (t) => ({ name: t.name }),
  },
  {
    key: "Mutation.restoreRegisteredModel",
    field: "Mutation.restoreRegisteredModel",
    expect: MANAGE_MODEL,
    model: (t) => [step("deleteRegisteredModel", { name: t.name })],
    input: (t) => ({ name: t.name }),
  },
  {
    key: "Mutation.grantModelPermission",
    field: "Mutation.grantModelPermission",
    expect: MANAGE_MODEL,
    model: nothing,
    ids: (_p, w) => ({ grantee: w.bystander }),
    input: (t) => ({ name: t.name, principalId: t.grantee, permission: "READ" }),
  },
  {
    key: "Mutation.revokeModelPermission",
    field: "Mutation.revokeModelPermission",
    expect: MANAGE_MODEL,
    ids: (_p, w) => ({ grantee: w.bystander }),
    model: (t) => [
      step("grantModelPermission", { name: t.name, principalId: t.grantee, permission: "READ" }),
    ],
    input: (t) => ({ name: t.name, principalId: t.grantee }),
  },
  // Its versions.
  {
    key: "Mutation.createModelVersion",
    field: "Mutation.createModelVersion",
    expect: EDIT_MODEL,
    model: nothing,
    input: (t) => ({ name: t.name, source: "s3://matrix/next" }),
  },
  {
    key: "Mutation.updateModelVersion",
    field: "Mutation.updateModelVersion",
    expect: EDIT_MODEL,
    model: (t) => [v1(t)],
    input: (t) => ({ name: t.name, version: 1, description: "changed" }),
  },
  {
    key: "Mutation.logModelVersionMetrics",
    field: "Mutation.logModelVersionMetrics",
    expect: EDIT_MODEL,
    model: (t) => [v1(t)],
    input: (t) => ({ name: t.name, version: 1, metrics: [{ key: "accuracy", value: 0.9 }] }),
  },
  {
    key: "Mutation.setModelVersionTag",
    field: "Mutation.setModelVersionTag",
    expect: EDIT_MODEL,
    model: (t) => [v1(t)],
    input: (t) => ({ name: t.name, version: 1, key: "k", value: "v" }),
  },
  {
    key: "Mutation.deleteModelVersionTag",
    field: "Mutation.deleteModelVersionTag",
    expect: EDIT_MODEL,
    model: (t) => [v1(t), step("setModelVersionTag", { name: t.name, version: 1, key: "k", value: "v" })],
    input: (t) => ({ name: t.name, version: 1, key: "k" }),
  },
  {
    key: "Mutation.setModelVersionSignature",
    field: "Mutation.setModelVersionSignature",
    expect: EDIT_MODEL,
    model: (t) => [v1(t)],
    input: (t) => ({
      name: t.name,
      version: 1,
      signature: {
        inputs: [{ name: "x", dtype: "float32", shape: [{ symbol: "batch" }, { size: 3 }] }],
        outputs: [{ name: "y", dtype: "float32" }],
      },
    }),
  },
  {
    key: "Mutation.transitionModelVersionStage",
    field: "Mutation.transitionModelVersionStage",
    expect: EDIT_MODEL,
    model: (t) => [v1(t)],
    input: (t) => ({ name: t.name, version: 1, stage: "STAGING" }),
  },
  {
    key: "Mutation.transitionModelVersionStage (with an overrideReason)",
    field: "Mutation.transitionModelVersionStage",
    expect: MANAGE_MODEL,
    model: (t) => [v1(t)],
    input: (t) => ({
      name: t.name,
      version: 1,
      stage: "PRODUCTION",
      overrideReason: "the matrix accepts it",
    }),
  },
  {
    key: "Mutation.setRegisteredModelAlias",
    field: "Mutation.setRegisteredModelAlias",
    expect: EDIT_MODEL,
    model: (t) => [v1(t)],
    input: (t) => ({ name: t.name, version: 1, alias: "champion" }),
  },
  {
    key: "Mutation.setRegisteredModelAlias (with an overrideReason)",
    field: "Mutation.setRegisteredModelAlias",
    expect: MANAGE_MODEL,
    model: (t) => [v1(t)],
    input: (t) => ({ name: t.name, version: 1, alias: "champion", overrideReason: "the matrix accepts it" }),
  },
  {
    key: "Mutation.deleteRegisteredModelAlias",
    field: "Mutation.deleteRegisteredModelAlias",
    expect: EDIT_MODEL,
    model: (t) => [v1(t), step("setRegisteredModelAlias", { name: t.name, version: 1, alias: "champion" })],
    input: (t) => ({ name: t.name, alias: "champion" }),
  },
  // Protected promotions (src/reviews/).
  {
    key: "Mutation.transitionModelVersionStage (with a bypassReason)",
    field: "Mutation.transitionModelVersionStage",
    expect: BYPASS_REVIEW,
    ids: (_p, w) => ({ reviewer: w.bystander }),
    model: (t) => protectedV1(t),
    input: (t) => ({ name: t.name, version: 1, stage: "PRODUCTION", bypassReason: "the matrix bypasses" }),
  },
  {
    key: "Mutation.setModelReviewPolicy",
    field: "Mutation.setModelReviewPolicy",
    expect: MANAGE_MODEL,
    model: nothing,
    ids: (_p, w) => ({ reviewer: w.bystander }),
    input: (t) => ({
      name: t.name,
      rules: [{ stage: "PRODUCTION", requiredApprovals: 1, reviewers: [{ principalId: t.reviewer }] }],
    }),
  },
  {
    key: "Mutation.requestReview",
    field: "Mutation.requestReview",
    expect: EDIT_MODEL,
    ids: (_p, w) => ({ reviewer: w.bystander }),
    model: (t) => protectedV1(t),
    input: (t) => ({ name: t.name, version: 1, stage: "PRODUCTION", reason: "the matrix asks" }),
  },
  {
    key: "Mutation.approveReviewRequest",
    field: "Mutation.approveReviewRequest",
    expect: REVIEW_REQUEST,
    ids: reviewerIds,
    model: (t) => [...protectedV1(t), requestReview(t)],
    lookup: openRequestId,
    hide: ["requestId"],
    input: (t) => ({ id: t.requestId, comment: "fine" }),
  },
  {
    key: "Mutation.rejectReviewRequest",
    field: "Mutation.rejectReviewRequest",
    expect: REVIEW_REQUEST,
    ids: reviewerIds,
    model: (t) => [...protectedV1(t), requestReview(t)],
    lookup: openRequestId,
    hide: ["requestId"],
    input: (t) => ({ id: t.requestId, comment: "not this one" }),
  },
  {
    key: "Mutation.cancelReviewRequest",
    field: "Mutation.cancelReviewRequest",
    // Its requester (here the administrator) or MANAGE on the model.
    expect: MANAGE_MODEL,
    ids: (_p, w) => ({ reviewer: w.bystander }),
    model: (t) => [...protectedV1(t), requestReview(t)],
    lookup: openRequestId,
    hide: ["requestId"],
    input: (t) => ({ id: t.requestId, reason: "withdrawn" }),
  },
  {
    key: "Mutation.deleteModelVersion",
    field: "Mutation.deleteModelVersion",
    expect: EDIT_MODEL,
    model: (t) => [v1(t)],
    input: (t) => ({ name: t.name, version: 1 }),
  },
  {
    key: "Mutation.restoreModelVersion",
    field: "Mutation.restoreModelVersion",
    expect: EDIT_MODEL,
    model: (t) => [v1(t), step("deleteModelVersion", { name: t.name, version: 1 })],
    input: (t) => ({ name: t.name, version: 1 }),
  },
  // Comments on a version (the administrator wrote the one others try to change).
  {
    key: "Mutation.addModelVersionComment",
    field: "Mutation.addModelVersionComment",
    expect: COMMENT_MODEL,
    model: (t) => [v1(t)],
    input: (t) => ({ name: t.name, version: 1, body: "Looks *good*." }),
  },
  {
    key: "Mutation.editModelVersionComment",
    field: "Mutation.editModelVersionComment",
    // Only the author (here the administrator) or a manager of the model.
    expect: MANAGE_MODEL,
    model: (t) => [v1(t), commented(t)],
    lookup: commentId,
    hide: ["commentId"],
    input: (t) => ({ id: t.commentId, body: "Edited." }),
  },
  {
    key: "Mutation.deleteModelVersionComment",
    field: "Mutation.deleteModelVersionComment",
    expect: MANAGE_MODEL,
    model: (t) => [v1(t), commented(t)],
    lookup: commentId,
    hide: ["commentId"],
    input: (t) => ({ id: t.commentId }),
  },
  // Its deployments (serving systems hold EDIT).
  {
    key: "Mutation.recordModelVersionDeployment",
    field: "Mutation.recordModelVersionDeployment",
    expect: EDIT_MODEL,
    model: (t) => [v1(t)],
    input: (t) => ({ name: t.name, version: 1, environment: "prod-eu", endpoint: "https://serve.example/m" }),
  },
  {
    key: "Mutation.retireModelVersionDeployment",
    field: "Mutation.retireModelVersionDeployment",
    expect: EDIT_MODEL,
    model: (t) => [v1(t), deployedV1(t)],
    input: (t) => ({ name: t.name, version: 1, environment: "prod-eu", reason: "rolled back" }),
  },
  // Serving reports: usage, not history (the model's revision does not change, so no probe).
  {
    key: "Mutation.reportModelServing",
    field: "Mutation.reportModelServing",
    expect: EDIT_MODEL,
    model: (t) => [v1(t)],
    probe: null,
    input: (t) => ({
      name: t.name,
      version: 1,
      environment: "prod-eu",
      windowStart: new Date(Date.now() - 120_000).toISOString(),
      windowEnd: new Date(Date.now() - 60_000).toISOString(),
      requests: 10,
      errors: 0,
      latencyP50Ms: 5,
      latencyP99Ms: 9,
    }),
  },
  // Its artifacts.
  {
    key: "Mutation.uploadModelVersionArtifact",
    field: "Mutation.uploadModelVersionArtifact",
    expect: EDIT_MODEL,
    model: (t) => [pendingV1(t)],
    upload: true,
    input: (t) => ({ name: t.name, version: 1, path: "uploaded.bin" }),
  },
  {
    key: "Mutation.finalizeModelVersion",
    field: "Mutation.finalizeModelVersion",
    expect: EDIT_MODEL,
    model: (t) => [pendingV1(t)],
    artifact: true,
    input: (t) => ({ name: t.name, version: 1 }),
  },
  {
    key: "Mutation.failModelVersionRegistration",
    field: "Mutation.failModelVersionRegistration",
    expect: EDIT_MODEL,
    model: (t) => [pendingV1(t)],
    input: (t) => ({ name: t.name, version: 1, reason: "abandoned" }),
  },
  {
    key: "Mutation.inspectModelVersionArtifacts",
    field: "Mutation.inspectModelVersionArtifacts",
    expect: EDIT_MODEL,
    model: (t) => [pendingV1(t)],
    artifact: true,
    input: (t) => ({ name: t.name, version: 1 }),
  },
  // Principals and teams.
  {
    key: "Mutation.createUser",
    field: "Mutation.createUser",
    expect: ADMINISTER,
    probe: (s, t) => s.principals.filter((p) => p.displayName === t.name).length,
    input: (t) => ({ displayName: t.name }),
  },
  {
    key: "Mutation.createServiceAccount",
    field: "Mutation.createServiceAccount",
    expect: ADMINISTER,
    probe: (s, t) => s.principals.filter((p) => p.displayName === t.name).length,
    input: (t) => ({ displayName: t.name, role: "MEMBER" }),
  },
  {
    key: "Mutation.updatePrincipal",
    field: "Mutation.updatePrincipal",
    expect: ADMINISTER,
    ids: (p, w) => ({ principalId: w.own[p].profileOf }),
    probe: (s, t) => principalOf(s, t.principalId),
    input: (t) => ({ principalId: t.principalId, displayName: t.name }),
  },
  {
    key: "Mutation.setPrincipalRole",
    field: "Mutation.setPrincipalRole",
    expect: ADMINISTER,
    ids: (p, w) => ({ principalId: w.own[p].roleOf }),
    probe: (s, t) => principalOf(s, t.principalId),
    input: (t) => ({ principalId: t.principalId, role: "VIEWER" }),
  },
  {
    key: "Mutation.disablePrincipal",
    field: "Mutation.disablePrincipal",
    expect: ADMINISTER,
    ids: (p, w) => ({ principalId: w.own[p].toDisable }),
    probe: (s, t) => principalOf(s, t.principalId),
    input: (t) => ({ principalId: t.principalId }),
  },
  {
    key: "Mutation.enablePrincipal",
    field: "Mutation.enablePrincipal",
    expect: ADMINISTER,
    ids: (p, w) => ({ principalId: w.own[p].toEnable }),
    probe: (s, t) => principalOf(s, t.principalId),
    input: (t) => ({ principalId: t.principalId }),
  },
  {
    key: "Mutation.createTeam",
    field: "Mutation.createTeam",
    expect: ADMINISTER,
    probe: (s, t) => s.teams.filter((team) => team.name === t.name).length,
    input: (t) => ({ name: t.name }),
  },
  {
    key: "Mutation.renameTeam",
    field: "Mutation.renameTeam",
    expect: ADMINISTER,
    ids: (p, w) => ({ teamId: w.own[p].renameTeam }),
    probe: (s, t) => teamOf(s, t.teamId)?.name,
    input: (t) => ({ teamId: t.teamId, name: t.name }),
  },
  {
    key: "Mutation.addTeamMember",
    field: "Mutation.addTeamMember",
    expect: ADMINISTER,
    ids: (p, w) => ({ teamId: w.own[p].addTo, principalId: w.own[p].member }),
    probe: (s, t) => teamOf(s, t.teamId)?.members.map((m) => m.id),
    input: (t) => ({ teamId: t.teamId, principalId: t.principalId }),
  },
  {
    key: "Mutation.removeTeamMember",
    field: "Mutation.removeTeamMember",
    expect: ADMINISTER,
    ids: (p, w) => ({ teamId: w.own[p].removeFrom, principalId: w.own[p].member }),
    probe: (s, t) => teamOf(s, t.teamId)?.members.map((m) => m.id),
    input: (t) => ({ teamId: t.teamId, principalId: t.principalId }),
  },
  // Tokens.
  {
    key: "Mutation.createApiToken",
    field: "Mutation.createApiToken",
    expect: OWN_TOKENS,
    probe: (s, t) => tokensNamed(s, t.name),
    input: (t) => ({ name: t.name, scopes: ["READ"] }),
  },
  {
    key: "Mutation.createApiToken (for a service account)",
    field: "Mutation.createApiToken",
    expect: ADMINISTER,
    ids: (_p, w) => ({ principalId: w.bystander }),
    probe: (s, t) => tokensNamed(s, t.name),
    input: (t) => ({ principalId: t.principalId, name: t.name, scopes: ["READ"] }),
  },
  {
    key: "Mutation.revokeApiToken",
    field: "Mutation.revokeApiToken",
    expect: OWN_TOKENS,
    ids: (p, w) => ({ tokenId: w.own[p].ownToken }),
    probe: (s, t) => s.principals.flatMap((p) => p.tokens).find((token) => token.id === t.tokenId)?.revoked,
    input: (t) => ({ tokenId: t.tokenId }),
  },
  {
    key: "Mutation.revokeApiToken (another principal's token)",
    field: "Mutation.revokeApiToken",
    expect: OTHERS_TOKENS,
    ids: (p, w) => ({ tokenId: w.own[p].othersToken }),
    hide: ["tokenId"],
    probe: (s, t) => s.principals.flatMap((p) => p.tokens).find((token) => token.id === t.tokenId)?.revoked,
    input: (t) => ({ tokenId: t.tokenId }),
  },
];

const SUBSCRIPTIONS: readonly SubscriptionEntry[] = [
  {
    key: "Subscription.registryEvents",
    field: "Subscription.registryEvents",
    expect: READ_MODEL,
    document: `subscription($after: String) { registryEvents(after: $after) { modelId } }`,
    change: (name) => step("setRegisteredModelTag", { name, key: "seen", value: "yes" }),
  },
  {
    key: "Subscription.modelVersionStageChanged",
    field: "Subscription.modelVersionStageChanged",
    expect: READ_MODEL,
    document: `subscription($after: String) { modelVersionStageChanged(after: $after) { modelId } }`,
    change: (name) => step("transitionModelVersionStage", { name, version: 1, stage: "STAGING" }),
  },
  {
    key: "Subscription.reviewRequestUpdates",
    field: "Subscription.reviewRequestUpdates",
    // Every persona's principal is a listed reviewer: it is told of the requests of the models it may read.
    expect: READ_MODEL,
    document: `subscription($after: String) { reviewRequestUpdates(role: REVIEWER, after: $after) { modelId } }`,
    prepare: (name, w) => [
      step("setModelReviewPolicy", {
        name,
        rules: [
          {
            stage: "PRODUCTION",
            requiredApprovals: 1,
            reviewers: Object.values(w.principals).map((id) => ({ principalId: id })),
            allowSelfApproval: true,
          },
        ],
      }),
    ],
    change: (name) =>
      step("requestReview", { name, version: 1, stage: "PRODUCTION", reason: "the matrix asks" }),
  },
  {
    key: "Subscription.modelVersionDeploymentChanged",
    field: "Subscription.modelVersionDeploymentChanged",
    expect: READ_MODEL,
    document: `subscription($after: String) { modelVersionDeploymentChanged(after: $after) { modelId } }`,
    change: (name) =>
      step("recordModelVersionDeployment", {
        name,
        version: 1,
        environment: "prod-eu",
        endpoint: "https://serve.example/m",
      }),
  },
  {
    key: "Subscription.registeredModelAliasChanged",
    field: "Subscription.registeredModelAliasChanged",
    expect: READ_MODEL,
    document: `subscription($after: String) { registeredModelAliasChanged(after: $after) { modelId } }`,
    change: (name) => step("setRegisteredModelAlias", { name, version: 1, alias: "champion" }),
  },
];

const ARTIFACT_ROUTE = "/artifacts/{model}/{version}/{path}";
const ROUTES: readonly RouteEntry[] = [
  {
    key: `GET ${ARTIFACT_ROUTE}`,
    method: "GET",
    expect: READ_MODEL,
    fixture: "download",
    model: (t) => [pendingV1(t)],
    artifact: true,
  },
  {
    key: `HEAD ${ARTIFACT_ROUTE}`,
    method: "HEAD",
    expect: READ_MODEL,
    fixture: "download",
    model: (t) => [pendingV1(t)],
    artifact: true,
  },
  {
    key: `PUT ${ARTIFACT_ROUTE}`,
    method: "PUT",
    expect: EDIT_MODEL,
    model: (t) => [pendingV1(t)],
    artifact: true,
  },
];

const GRAPHQL_ENTRIES: readonly GraphqlEntry[] = [...QUERIES, ...MUTATIONS, ...SUBSCRIPTIONS];

/** The matrix's own checks: complete (every root field has an entry), and each entry whole. */
export function describeMatrixShape(): void {
  describe("the access matrix", () => {
    it("has an entry for every root field of the executable schema, and none for a field it lacks", () => {
      const rootFields = (["Query", "Mutation", "Subscription"] as const).flatMap((root) => {
        const type = schema.getType(root);
        if (!(type instanceof GraphQLObjectType)) throw new Error(`the schema has no ${root} type`);
        return Object.keys(type.getFields()).map((field) => `${root}.${field}`);
      });
      const covered = new Set<string>(GRAPHQL_ENTRIES.map((entry) => entry.field));
      expect(rootFields.filter((field) => !covered.has(field))).toEqual([]);
      expect([...covered].filter((field) => !rootFields.includes(field))).toEqual([]);
    });

    it("has an entry for GET, HEAD and PUT on the artifact route", () => {
      expect(ROUTES.map((route) => route.method).sort()).toEqual(["GET", "HEAD", "PUT"]);
    });

    it("gives every entry a key of its own and an outcome for every persona", () => {
      const entries: readonly Entry[] = [...GRAPHQL_ENTRIES, ...ROUTES];
      expect(new Set(entries.map((entry) => entry.key)).size).toBe(entries.length);
      for (const entry of entries) expect(Object.keys(entry.expect).sort()).toEqual([...PERSONAS].sort());
    });
  });
}

// ---- Running the matrix -------------------------------------------------------------------------

const subjectId = (w: World, p: Persona): string | null => {
  const subject = PERSONA[p].subject;
  return subject === null ? null : w.principals[subject];
};

const fieldName = (field: string) => field.slice(field.indexOf(".") + 1);
const slugOf = (key: string) =>
  fieldName(key)
    .replace(/[^A-Za-z0-9]+/g, "-")
    .replace(/-$/, "");
const inputTypeOf = (field: string) => `${field.charAt(0).toUpperCase()}${field.slice(1)}Input`;
const authorizationHeader = (authorization: string | null): Record<string, string> =>
  authorization === null ? {} : { authorization };

async function post(
  c: Connection,
  query: string,
  variables: Record<string, unknown>,
  authorization: string | null,
): Promise<{ status: number; body: any }> {
  const response = await fetch(c.server.graphqlUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json",
      ...authorizationHeader(authorization),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: await response.json() };
}

/** Runs `run` over `items`, at most `limit` at a time (the server caps uploads per client at 8). */
async function inParallel<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>) {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The server allows 30 aliases per operation. */
const STEPS_PER_REQUEST = 25;

/**
 * Runs groups of steps (each group in order; groups independent of each other) as aliased
 * mutations, several groups to a request, and returns each step's result. Any step that fails
 * fails the setup.
 */
async function runSteps(
  c: Connection,
  groups: readonly (readonly Step[])[],
  authorization: string | null = c.credentials.admin,
): Promise<any[][]> {
  const chunks: { group: number; index: number; step: Step }[][] = [[]];
  groups.forEach((group, g) => {
    if (group.length > STEPS_PER_REQUEST) throw new Error("a fixture group is too long for one request");
    if (chunks.at(-1)!.length + group.length > STEPS_PER_REQUEST) chunks.push([]);
    group.forEach((s, index) => chunks.at(-1)!.push({ group: g, index, step: s }));
  });
  const results = groups.map(() => [] as any[]);
  await inParallel(
    chunks.filter((chunk) => chunk.length > 0),
    4,
    async (chunk) => {
      const definitions = chunk.map((item, i) => `$i${i}: ${inputTypeOf(item.step.field)}!`).join(", ");
      const fields = chunk
        .map(
          (item, i) =>
            `s${i}: ${item.step.field}(input: $i${i}) { __typename ... on Error { code message } ${item.step.select ?? ""} }`,
        )
        .join("\n");
      const variables = Object.fromEntries(chunk.map((item, i) => [`i${i}`, item.step.input]));
      const { body } = await post(c, `mutation(${definitions}) { ${fields} }`, variables, authorization);
      chunk.forEach((item, i) => {
        const result = body.data?.[`s${i}`];
        if (!result || "code" in result)
          throw new Error(
            `setup: ${item.step.field}(${JSON.stringify(item.step.input)}) failed: ${JSON.stringify(result ?? body.errors)}`,
          );
        results[item.group]![item.index] = result;
      });
    },
  );
  return results;
}

const artifactUrl = (w: World, name: string, file: string) =>
  `${w.server.url}/artifacts/${encodeURIComponent(name)}/1/${file}`;
const weightsOf = (name: string) => `weights of ${name}`;

/** The persona's model (registered by the administrator, granted as the persona says, then prepared). */
async function prepare(w: World, entry: Entry): Promise<Record<Persona, Target>> {
  const slug = entry.fixture ?? slugOf(entry.key);
  const targets = {} as Record<Persona, Target>;
  for (const p of PERSONAS) targets[p] = { name: `${slug}-${p}`, ...entry.ids?.(p, w) };
  const { model } = entry;
  if (model !== undefined) {
    let made = w.fixtures.get(slug);
    if (made === undefined) {
      made = makeModels(w, entry, model, targets);
      w.fixtures.set(slug, made);
    }
    await made;
  }
  if (entry.lookup) {
    const { lookup } = entry;
    await inParallel(PERSONAS, 4, async (p) => {
      targets[p] = { ...targets[p], ...(await lookup(w, targets[p])) };
    });
  }
  return targets;
}

async function makeModels(
  w: World,
  entry: Entry,
  model: (t: Target) => Step[],
  targets: Record<Persona, Target>,
): Promise<void> {
  await runSteps(
    w,
    PERSONAS.map((p) => [...registered(w, p, targets[p].name), ...model(targets[p])]),
  );
  if (entry.artifact)
    await inParallel(PERSONAS, 4, async (p) => {
      const name = targets[p].name;
      const put = await fetch(artifactUrl(w, name, "weights.bin"), {
        method: "PUT",
        body: weightsOf(name),
        headers: authorizationHeader(w.credentials.admin),
      });
      if (put.status !== 201) throw new Error(`setup: PUT weights.bin to ${name}: ${await put.text()}`);
    });
}

/** Registers a model and grants the persona's principal what the persona holds on it. */
function registered(w: World, p: Persona, name: string, grant = PERSONA[p].grant): Step[] {
  const principalId = subjectId(w, p);
  return [
    step("createRegisteredModel", { name }, "... on RegisteredModelPayload { registeredModel { modelId } }"),
    ...(grant === null || principalId === null
      ? []
      : [step("grantModelPermission", { name, principalId, permission: grant })]),
  ];
}

/** A missing counterpart of a target value, of the same length, so that even sizes cannot tell them apart. */
function absentValue(key: string, value: string): string {
  if (key === "name") return `_${value.slice(1)}`;
  if (key.endsWith("NodeId")) {
    const type = Buffer.from(value, "base64").toString().split(":")[0];
    return Buffer.from(`${type}:${type === "RegistryEvent" ? "999999999" : randomUUID()}`).toString("base64");
  }
  return randomUUID();
}

const hiddenKeys = (entry: Entry) => entry.hide ?? (entry.model !== undefined ? ["name"] : []);

function absent(entry: Entry, t: Target): Target {
  const missing: Record<string, string> = { ...t };
  for (const key of hiddenKeys(entry)) missing[key] = absentValue(key, t[key] ?? "");
  return missing as Target;
}

/** An answer with the target's values replaced by their keys: a hidden answer must equal a missing one's. */
function normalised(entry: Entry, t: Target, answer: unknown): string {
  let text = JSON.stringify(answer);
  for (const key of hiddenKeys(entry)) text = text.replaceAll(t[key] ?? `<no ${key}>`, `<${key}>`);
  return text;
}

/** HIDDEN when the answer is exactly what a missing target gets; else what differs. */
async function hiddenOrNot(
  entry: Entry,
  t: Target,
  answer: unknown,
  ask: (target: Target) => Promise<unknown>,
): Promise<string> {
  if (hiddenKeys(entry).length === 0)
    return `nothing was found, but nothing can be missing: ${JSON.stringify(answer)}`;
  const missing = absent(entry, t);
  const missingAnswer = await ask(missing);
  const mine = normalised(entry, t, answer);
  const theirs = normalised(entry, missing, missingAnswer);
  return mine === theirs ? H : `unlike a missing one's answer: ${mine} vs ${theirs}`;
}

function unauthenticated(body: any): string {
  const code = body?.errors?.[0]?.extensions?.code ?? body?.error?.code;
  return code === "UNAUTHENTICATED" ? U : `401 with ${JSON.stringify(body)}`;
}

async function snapshot(w: World, targets: Record<Persona, Target>): Promise<Snapshot> {
  const names = PERSONAS.map((p) => targets[p].name);
  const definitions = names.map((_, i) => `$n${i}: String!`).join(", ");
  const models = names
    .map((_, i) => `m${i}: registeredModel(name: $n${i}) { revision deleted name }`)
    .join(" ");
  const { body } = await post(
    w,
    `query(${definitions}) {
      principals { id displayName role disabled tokens { id name revoked } }
      teams { id name members { id } }
      ${models}
    }`,
    Object.fromEntries(names.map((name, i) => [`n${i}`, name])),
    w.credentials.admin,
  );
  if (body.errors) throw new Error(`snapshot: ${JSON.stringify(body.errors)}`);
  return {
    models: Object.fromEntries(names.map((name, i) => [name, body.data[`m${i}`]])),
    principals: body.data.principals,
    teams: body.data.teams,
  };
}

/**
 * Attempts the entry as every persona, and answers each persona's outcome. An outcome that breaks a
 * rule besides its class (a refusal or a read that changed something, an allowed change that changed
 * nothing) is answered with what went wrong, so the comparison with the expectation shows it.
 */
async function observe(
  w: World,
  entry: Entry,
  writes: boolean,
  attempt: (p: Persona, t: Target) => Promise<string>,
): Promise<Record<Persona, string>> {
  const targets = await prepare(w, entry);
  const probe = entry.probe === undefined ? (entry.model ? sameModel : null) : entry.probe;
  const before = probe ? await snapshot(w, targets) : null;
  const outcomes = await inParallel(PERSONAS, 7, (p) => attempt(p, targets[p]));
  const observed = Object.fromEntries(PERSONAS.map((p, i) => [p, outcomes[i]!])) as Record<Persona, string>;
  if (probe && before) {
    const after = await snapshot(w, targets);
    for (const p of PERSONAS) {
      const was = JSON.stringify(probe(before, targets[p]));
      const is = JSON.stringify(probe(after, targets[p]));
      const changes = writes && observed[p] === A;
      if (changes && was === is) observed[p] = `${A}, yet nothing changed: ${is}`;
      if (!changes && was !== is) observed[p] = `${observed[p]}, yet it changed ${was} to ${is}`;
    }
  }
  return observed;
}

async function attemptQuery(w: World, entry: QueryEntry, p: Persona, t: Target): Promise<string> {
  const ask = (target: Target) => post(w, entry.document, entry.variables(target), w.credentials[p]);
  const { status, body } = await ask(t);
  if (status === 401) return unauthenticated(body);
  if (body.errors?.length)
    return body.errors.every((e: any) => e.extensions?.code === "PERMISSION_DENIED")
      ? D
      : `errors: ${JSON.stringify(body.errors)}`;
  if (entry.found(body.data, t)) return A;
  return hiddenOrNot(entry, t, body, async (missing) => (await ask(missing)).body);
}

const EVENT_CURSORS = "... on RegisteredModelPayload { events { cursor } }";

/** The member of a mutation's result union that is not an error. */
function payloadTypeOf(field: string): string {
  const type = getNamedType(schema.getMutationType()?.getFields()[field]?.type);
  if (!(type instanceof GraphQLUnionType)) throw new Error(`Mutation.${field} does not answer a union`);
  const payloads = type.getTypes().filter((t) => !t.getInterfaces().some((i) => i.name === "Error"));
  if (payloads.length !== 1) throw new Error(`Mutation.${field} has ${payloads.length} payload types`);
  return payloads[0]!.name;
}

async function sendMutation(w: World, entry: MutationEntry, p: Persona, t: Target) {
  const field = fieldName(entry.field);
  const query = `mutation($input: ${inputTypeOf(field)}!) { ${field}(input: $input) { ${errorSelection(field)} } }`;
  if (!entry.upload) return post(w, query, { input: entry.input(t) }, w.credentials[p]);
  const form = new FormData();
  form.append(
    "operations",
    JSON.stringify({ query, variables: { input: { ...entry.input(t), file: null } } }),
  );
  form.append("map", JSON.stringify({ 0: ["variables.input.file"] }));
  form.append("0", new Blob([uploadedBy(p, "multipart")]), "uploaded.bin");
  const response = await fetch(w.server.graphqlUrl, {
    method: "POST",
    body: form,
    headers: { "x-registro-csrf": "1", ...authorizationHeader(w.credentials[p]) },
  });
  return { status: response.status, body: await response.json() };
}

/** What a persona uploads (one content per way); a refused upload must not leave it in the blob store. */
const uploadedBy = (p: Persona, how: "multipart" | "PUT") => `uploaded by ${p} with ${how}`;

async function storedAnyway(w: World, bytes: string, outcome: string): Promise<string> {
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  return outcome !== A && (await w.server.registro.blobs.has(sha256))
    ? `${outcome}, yet its bytes were stored`
    : outcome;
}

async function attemptMutation(w: World, entry: MutationEntry, p: Persona, t: Target): Promise<string> {
  const outcome = await mutationOutcome(w, entry, p, t);
  return entry.upload ? storedAnyway(w, uploadedBy(p, "multipart"), outcome) : outcome;
}

async function mutationOutcome(w: World, entry: MutationEntry, p: Persona, t: Target): Promise<string> {
  const field = fieldName(entry.field);
  const { status, body } = await sendMutation(w, entry, p, t);
  if (status === 401) return unauthenticated(body);
  const result = body.data?.[field];
  if (!result) return `errors: ${JSON.stringify(body.errors)}`;
  switch (result.__typename) {
    case payloadTypeOf(field):
      return A;
    case "PermissionDeniedError":
      return result.code === "PERMISSION_DENIED" ? D : JSON.stringify(result);
    case "NotFoundError":
      return hiddenOrNot(entry, t, body, async (missing) => (await sendMutation(w, entry, p, missing)).body);
    default:
      return `${result.__typename}: ${result.message}`;
  }
}

async function attemptRoute(w: World, entry: RouteEntry, p: Persona, t: Target): Promise<string> {
  const file = entry.method === "PUT" ? "added.bin" : "weights.bin";
  const upload = uploadedBy(p, "PUT");
  const ask = async (target: Target) => {
    const response = await fetch(artifactUrl(w, target.name, file), {
      method: entry.method,
      headers: authorizationHeader(w.credentials[p]),
      ...(entry.method === "PUT" ? { body: upload } : {}),
    });
    return {
      status: response.status,
      contentType: response.headers.get("content-type"),
      contentLength: response.headers.get("content-length"),
      authenticate: response.headers.get("www-authenticate"),
      body: await response.text(),
    };
  };
  const answer = await ask(t);
  const json = () => JSON.parse(answer.body);
  let outcome: string;
  if (answer.status === 401)
    outcome =
      entry.method === "HEAD"
        ? answer.authenticate?.startsWith("Bearer") === true
          ? U
          : JSON.stringify(answer)
        : unauthenticated(json());
  else if (answer.status === 403) outcome = json().error.code === "PERMISSION_DENIED" ? D : answer.body;
  else if (answer.status === 404) outcome = await hiddenOrNot(entry, t, answer, ask);
  else if (entry.method === "PUT") outcome = answer.status === 201 ? A : JSON.stringify(answer);
  else if (answer.status !== 200) outcome = JSON.stringify(answer);
  else if (entry.method === "HEAD")
    outcome = answer.contentLength === String(weightsOf(t.name).length) ? A : JSON.stringify(answer);
  else outcome = answer.body === weightsOf(t.name) ? A : JSON.stringify(answer);
  return entry.method === "PUT" ? storedAnyway(w, upload, outcome) : outcome;
}

/**
 * The subscription is started after the administrator has changed the persona's model, and then a
 * model the persona may read, so replay from the cursor delivers both (or only the readable one) in
 * log order without any race: once the readable change arrives, the other has been passed over.
 */
async function attemptSubscription(
  w: World,
  entry: SubscriptionEntry,
  p: Persona,
  t: Target,
): Promise<string> {
  const [results] = await runSteps(w, [
    [
      step("setRegisteredModelTag", { name: t.name, key: "start", value: "here" }, EVENT_CURSORS),
      entry.change(t.name),
      entry.change(t.seenName!),
    ],
  ]);
  const after = results![0].events.at(-1).cursor as string;
  const authorization = w.credentials[p];
  const client = wsClient(w.wsUrl, authorization === null ? {} : { connectionParams: { authorization } });
  const delivered: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const reading = (async () => {
    try {
      for await (const result of client.iterate({ query: entry.document, variables: { after } })) {
        if (result.errors) return `errors: ${JSON.stringify(result.errors)}`;
        const { modelId } = Object.values(result.data ?? {})[0] as { modelId: string };
        if (modelId === t.modelId) delivered.push("its change");
        if (modelId === t.seenModelId)
          return delivered.length === 1 ? A : delivered.length === 0 ? H : "twice";
      }
      return `ended after ${JSON.stringify(delivered)}`;
    } catch (error) {
      const code = (error as { code?: number }).code;
      return code === 4401 ? U : `closed: ${String(code ?? error)}`;
    }
  })();
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`timed out after ${JSON.stringify(delivered)}`), 10_000);
  });
  try {
    return await Promise.race([reading, timeout]);
  } finally {
    clearTimeout(timer);
    await client.dispose();
  }
}

/** Two models per persona: its own (granted as the persona says) and one it may read. */
async function prepareSubscription(w: World, entry: SubscriptionEntry): Promise<Record<Persona, Target>> {
  const slug = slugOf(entry.key);
  const names = PERSONAS.map((p) => ({ name: `${slug}-${p}`, seenName: `${slug}-seen-${p}` }));
  const results = await runSteps(
    w,
    PERSONAS.flatMap((p, i) => {
      const { name, seenName } = names[i]!;
      return [
        [...registered(w, p, name), v1({ name }), ...(entry.prepare?.(name, w) ?? [])],
        // The administrator and the auditor read every model; anyone else needs a grant.
        [
          ...registered(
            w,
            p,
            seenName,
            ["admin", "auditor"].includes(PERSONA[p].subject ?? "") ? null : "READ",
          ),
          v1({ name: seenName }),
          ...(entry.prepare?.(seenName, w) ?? []),
        ],
      ];
    }),
  );
  const targets = {} as Record<Persona, Target>;
  PERSONAS.forEach((p, i) => {
    targets[p] = {
      ...names[i]!,
      modelId: results[2 * i]![0].registeredModel.modelId,
      seenModelId: results[2 * i + 1]![0].registeredModel.modelId,
    };
  });
  return targets;
}

// ---- The world ----------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const PRINCIPAL = "... on PrincipalPayload { principal { id } }";
const TEAM = "... on TeamPayload { team { id } }";
const TOKEN = "... on CreateApiTokenPayload { secret token { id } }";
const serviceAccount = (displayName: string, role = "MEMBER") =>
  step("createServiceAccount", { displayName, role }, PRINCIPAL);
const tokenFor = (principalId: string | null, name: string, scopes: string[], expiresAt?: string) =>
  step(
    "createApiToken",
    { ...(principalId === null ? {} : { principalId }), name, scopes, ...(expiresAt ? { expiresAt } : {}) },
    TOKEN,
  );

async function startWorld(provider: DatabaseConfig["provider"]): Promise<World> {
  const issuer: Issuer = await startIssuer();
  const sign = signer(issuer);
  const server = await startTestServer(provider, {
    auth: { mode: "required", oidc: oidcConfig(issuer), defaultModelPermission: null },
  });
  const adminSecret = await bootstrapAdmin(server, server.database, "Matrix Admin");
  const credentials: Record<Persona, string | null> = {
    anonymous: null,
    expiredToken: null,
    revokedToken: null,
    readScopeToken: null,
    badSignatureJwt: `Bearer ${await sign({ key: issuer.stranger.privateKey })}`,
    wrongAudienceJwt: `Bearer ${await sign({ audience: "another-service" })}`,
    expiredJwt: `Bearer ${await sign({ expiresAt: NOW_S() - 3600 })}`,
    viewer: null,
    readGrantee: null,
    editGrantee: null,
    manageGrantee: null,
    auditor: null,
    admin: `Bearer ${adminSecret}`,
    ssoMember: `Bearer ${await sign()}`,
  };
  const c: Connection = { server, credentials };
  const whoAmI = async (authorization: string | null) => {
    const { body } = await post(c, `{ viewer { id } }`, {}, authorization);
    return body.data?.viewer?.id as string | undefined;
  };

  // The administrator (the bootstrap user), its service accounts with their roles, their tokens.
  const [accounts] = await runSteps(c, [
    [
      serviceAccount("viewer", "VIEWER"),
      serviceAccount("reader"),
      serviceAccount("editor"),
      serviceAccount("manager"),
      serviceAccount("auditor", "AUDITOR"),
      serviceAccount("bystander"),
    ],
  ]);
  const [viewer, reader, editor, manager, auditor, bystander] = accounts!.map(
    (r) => r.principal.id as string,
  );
  const expiresAt = Date.now() + 8000;
  const [tokens] = await runSteps(c, [
    [
      tokenFor(manager!, "expiring", ["READ", "WRITE"], new Date(expiresAt).toISOString()),
      tokenFor(manager!, "revoked", ["READ", "WRITE"]),
      tokenFor(manager!, "read only", ["READ"]),
      tokenFor(viewer!, "viewer", ["READ", "WRITE"]),
      tokenFor(reader!, "reader", ["READ", "WRITE"]),
      tokenFor(editor!, "editor", ["READ", "WRITE"]),
      tokenFor(manager!, "manager", ["READ", "WRITE"]),
      tokenFor(auditor!, "auditor", ["READ", "WRITE"]),
    ],
  ]);
  const bearer = (i: number) => `Bearer ${tokens![i].secret}`;
  Object.assign(credentials, {
    expiredToken: bearer(0),
    revokedToken: bearer(1),
    readScopeToken: bearer(2),
    viewer: bearer(3),
    readGrantee: bearer(4),
    editGrantee: bearer(5),
    manageGrantee: bearer(6),
    auditor: bearer(7),
  });
  // The expiring and the revoked token worked before: what refuses them is the expiry, the revocation.
  expect(await whoAmI(credentials.expiredToken)).toBe(manager);
  expect(await whoAmI(credentials.revokedToken)).toBe(manager);
  await runSteps(c, [[step("revokeApiToken", { tokenId: tokens![1].token.id })]]);

  // The SSO user exists once it has signed in (a MEMBER, no grants: nothing of private models).
  const sso = await whoAmI(credentials.ssoMember);
  const admin = await whoAmI(credentials.admin);
  if (sso === undefined || admin === undefined) throw new Error("setup: the SSO user or the admin is nobody");
  const principals: Record<Subject, string> = {
    admin,
    viewer: viewer!,
    reader: reader!,
    editor: editor!,
    manager: manager!,
    auditor: auditor!,
    sso,
  };

  // What each persona's principal, team and token attempts aim at.
  const made = await runSteps(
    c,
    PERSONAS.map((p) => [
      serviceAccount(`role of ${p}`),
      serviceAccount(`profile of ${p}`),
      serviceAccount(`to disable for ${p}`),
      serviceAccount(`to enable for ${p}`),
      serviceAccount(`member for ${p}`),
      step("createTeam", { name: `to rename for ${p}` }, TEAM),
      step("createTeam", { name: `to add to for ${p}` }, TEAM),
      step("createTeam", { name: `to remove from for ${p}` }, TEAM),
    ]),
  );
  const ownTokenStep = (p: Persona, member: string) => {
    const subject = PERSONA[p].subject;
    if (subject === "sso") return [];
    if (subject === "admin") return [tokenFor(null, `own token of ${p}`, ["READ"])];
    return [tokenFor(subject === null ? member : principals[subject], `own token of ${p}`, ["READ"])];
  };
  const linked = await runSteps(
    c,
    PERSONAS.map((p, i) => {
      const ids = made[i]!.map((r) => (r.principal ?? r.team).id as string);
      return [
        step("addTeamMember", { teamId: ids[7], principalId: ids[4] }),
        step("disablePrincipal", { principalId: ids[3] }),
        tokenFor(ids[4]!, `others' token for ${p}`, ["READ"]),
        ...ownTokenStep(p, ids[4]!),
      ];
    }),
  );
  // The SSO user's own tokens are its to make (an administrator makes tokens for service accounts only).
  const ssoPersonas = PERSONAS.filter((p) => PERSONA[p].subject === "sso");
  const ssoTokens = await runSteps(
    c,
    ssoPersonas.map((p) => [tokenFor(null, `own token of ${p}`, ["READ"])]),
    credentials.ssoMember,
  );
  const own = Object.fromEntries(
    PERSONAS.map((p, i) => {
      const ids = made[i]!.map((r) => (r.principal ?? r.team).id as string);
      const ownToken =
        PERSONA[p].subject === "sso"
          ? ssoTokens[ssoPersonas.indexOf(p)]![0].token.id
          : linked[i]![3].token.id;
      return [
        p,
        {
          roleOf: ids[0]!,
          profileOf: ids[1]!,
          toDisable: ids[2]!,
          toEnable: ids[3]!,
          member: ids[4]!,
          renameTeam: ids[5]!,
          addTo: ids[6]!,
          removeFrom: ids[7]!,
          ownToken,
          othersToken: linked[i]![2].token.id,
        },
      ];
    }),
  ) as Record<Persona, PersonaTargets>;

  await sleep(expiresAt - Date.now() + 100);
  return {
    server,
    credentials,
    wsUrl: server.graphqlUrl.replace(/^http/, "ws"),
    principals,
    bystander: bystander!,
    own,
    fixtures: new Map(),
    close: async () => {
      await server.close();
      await issuer.close();
    },
  };
}

/**
 * Every entry attempted as every persona against one server on `provider` (the test files run one
 * provider each, so the two halves of the matrix run side by side).
 */
export function describeAccessMatrix(provider: DatabaseConfig["provider"], options: { skip: boolean }): void {
  describe.skipIf(options.skip)(
    `the access matrix on ${provider} (AUTH=required, SSO, private models)`,
    () => {
      let w: World;
      beforeAll(async () => {
        w = await startWorld(provider);
      }, 120_000);
      afterAll(async () => {
        await w?.close();
      });

      it.each(QUERIES.map((entry) => [entry.key, entry] as const))("%s", async (_key, entry) => {
        expect(await observe(w, entry, false, (p, t) => attemptQuery(w, entry, p, t))).toEqual(entry.expect);
      });

      it.each(MUTATIONS.map((entry) => [entry.key, entry] as const))("%s", async (_key, entry) => {
        expect(await observe(w, entry, true, (p, t) => attemptMutation(w, entry, p, t))).toEqual(
          entry.expect,
        );
      });

      it.each(SUBSCRIPTIONS.map((entry) => [entry.key, entry] as const))("%s", async (_key, entry) => {
        const targets = await prepareSubscription(w, entry);
        const outcomes = await inParallel(PERSONAS, 7, (p) => attemptSubscription(w, entry, p, targets[p]));
        expect(Object.fromEntries(PERSONAS.map((p, i) => [p, outcomes[i]]))).toEqual(entry.expect);
      });

      it("stores a multipart file not sent next to its model's name only for callers who may write to some model", async () => {
        // The input written into the document, only the file a variable: the server cannot tell the
        // model before the bytes arrive, so it stores nothing for a caller who may change no model.
        const name = "inline-upload";
        await runSteps(w, [[...registered(w, "editGrantee", name), pendingV1({ name })]]);
        const upload = async (p: Persona, model: string) => {
          const bytes = `inline upload by ${p} to ${model}`;
          const form = new FormData();
          const query = `mutation($file: Upload!) {
        uploadModelVersionArtifact(input: { name: ${JSON.stringify(model)}, version: 1, path: "inline.bin", file: $file }) {
          ${errorSelection("uploadModelVersionArtifact")} } }`;
          form.append("operations", JSON.stringify({ query, variables: { file: null } }));
          form.append("map", JSON.stringify({ 0: ["variables.file"] }));
          form.append("0", new Blob([bytes]), "inline.bin");
          const response = await fetch(w.server.graphqlUrl, {
            method: "POST",
            body: form,
            headers: { "x-registro-csrf": "1", ...authorizationHeader(w.credentials[p]) },
          });
          const result = (await response.json()).data.uploadModelVersionArtifact;
          const stored = await w.server.registro.blobs.has(createHash("sha256").update(bytes).digest("hex"));
          return JSON.parse(JSON.stringify({ ...result, stored }).replaceAll(model, "<name>"));
        };
        const missing = `_${name.slice(1)}`;
        // The viewer and the read-only token cannot see the model; the auditor can, and may not change it.
        for (const p of ["viewer", "readScopeToken"] as const) {
          const refused = await upload(p, name);
          expect(refused).toMatchObject({ __typename: "NotFoundError", stored: false });
          expect(await upload(p, missing)).toEqual(refused);
        }
        expect(await upload("auditor", name)).toMatchObject({
          __typename: "PermissionDeniedError",
          stored: false,
        });
        expect(await upload("editGrantee", name)).toEqual({
          __typename: "UploadModelVersionArtifactPayload",
          stored: true,
        });
      });

      it.each(ROUTES.map((entry) => [entry.key, entry] as const))("%s", async (_key, entry) => {
        expect(
          await observe(w, entry, entry.method === "PUT", (p, t) => attemptRoute(w, entry, p, t)),
        ).toEqual(entry.expect);
      });
    },
  );
}
