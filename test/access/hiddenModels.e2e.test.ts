// Issue 9: a model the caller may not read does not exist for it. With the default model permission
// switched off (models private to their grantees), a MEMBER service account with a token probes a
// model another principal owns (versions, tags, an alias, a version in Production, an artifact, a
// grant to a third principal, a long history) through every read, subscription, artifact URL and
// mutation, and learns nothing: each answer equals the answer about a model that does not exist
// (the names have the same length, so even sizes match), or what the local administrator sees
// with the hidden models taken out (pages stay full). Every answer the prober gets is also searched
// for the hidden models' names, ids and tag values, which may appear only where it sent them itself.
//
// The one documented exception: live model names are unique across the registry, so registering a
// model under a taken name (or renaming one to it) answers AlreadyExistsError whoever
// holds the name. That is the only answer that tells a hidden name apart from a free one.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { errorSelection } from "../support/mutationResult.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { eventually, record, sseSubscribe, wsClient } from "../subscriptions/support.ts";

const HIDDEN = "hidden-fraud-model";
const MISSING = "absent-fraud-model";
const HIDDEN_DELETED = "hidden-deleted-model";
const VISIBLE = "visible-own-model";
const SHARED = "granted-shared-model";
const REUSED = "reused-name";
const OVERRIDE = "accepted in a test";

const EVENT_FIELDS = "events { id cursor position }";

/** The payload type of a model mutation's result union. */
const payloadOf = (field: string) =>
  /ModelVersion/.test(field) || field === "setRegisteredModelAlias"
    ? `... on ModelVersionPayload { modelVersion { id version model { id modelId } } ${EVENT_FIELDS} }`
    : `... on RegisteredModelPayload { registeredModel { id modelId } ${EVENT_FIELDS} }`;

const mutation = (field: string, select = "") =>
  `mutation($input: ${field.charAt(0).toUpperCase()}${field.slice(1)}Input!) { ${field}(input: $input) { ${errorSelection(field)} ${select} } }`;

const MODELS = `query($filter: RegisteredModelFilter, $first: Int, $after: String, $last: Int, $before: String) {
  registeredModels(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id modelId name deleted description tags { key value } aliases { alias version }
      versions { nodes { version runId } } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
const VERSIONS = `query($filter: ModelVersionFilter, $first: Int, $after: String) {
  modelVersions(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id version runId source stage aliases tags { key value } model { modelId name } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
const MODEL_FIELDS = `id modelId name description tags { key value } aliases { alias version }
  versions { nodes { version runId source } } history { nodes { type data } }`;
const VERSION_FIELDS = `id version runId source stage tags { key value } artifacts { path sha256 downloadUrl }
  model { modelId name }`;
const EVENTS = `subscription($filter: RegistryEventFilter, $after: String) {
  registryEvents(filter: $filter, after: $after) { id position type modelId data cursor } }`;
const STAGE_CHANGES = `subscription($name: String) {
  modelVersionStageChanged(name: $name) { modelId version stage cursor event { position data }
    modelVersion { version source model { name } } } }`;
const ALIAS_CHANGES = `subscription($name: String) {
  registeredModelAliasChanged(name: $name) { modelId alias version cursor event { position data }
    modelVersion { version source } } }`;

interface Persona {
  readonly id: string;
  readonly headers: Record<string, string>;
}

/** What a model's owner learned while building it: the ids and cursors a prober might try. */
interface Built {
  readonly name: string;
  readonly modelId: string;
  readonly globalId: string;
  readonly versionIds: string[];
  readonly eventIds: string[];
  readonly firstCursor: string;
}

type Json = any;

describe.each(await providers())("a model hidden from a MEMBER (%s)", (provider) => {
  let server: TestServer;
  let wsUrl: string;
  const admin: Persona = { id: "", headers: {} };
  let owner: Persona;
  let prober: Persona;
  let friend: Persona;
  let teamId: string;
  let hidden: Built;
  let hiddenDeleted: Built;
  let visible: Built;
  let shared: Built;
  /** Model ids the prober may not read (compared with the administrator's answers). */
  const hiddenIds = new Set<string>();
  /** Strings the prober must never receive unless it sent them. */
  const secrets = new Set<string>();
  /** Leak checking is switched off while the prober legitimately holds a grant. */
  let granted = false;
  let pagesFrom: string;
  const pageNames: { name: string; hidden: boolean }[] = [];

  const gql = (who: Persona, query: string, variables: Record<string, unknown> = {}) =>
    server.gql<Json>(query, variables, who.headers);

  /** Fails when `answer` holds a secret that `request` did not hold. */
  function expectNoLeak(request: unknown, answer: unknown) {
    if (granted) return;
    const asked = JSON.stringify(request);
    const told = JSON.stringify(answer);
    for (const secret of secrets)
      if (!asked.includes(secret))
        expect(told, `an answer to ${asked.slice(0, 300)} reveals ${secret}`).not.toContain(secret);
  }

  /** A GraphQL request as the prober, checked for leaks. */
  async function probe(query: string, variables: Record<string, unknown> = {}) {
    const answer = await gql(prober, query, variables);
    expectNoLeak({ query, variables }, answer);
    return answer;
  }

  /** The prober's answer about the hidden model equals its answer about a missing one. */
  async function sameAsMissing(query: string, variables: (name: string) => Record<string, unknown>) {
    const aboutHidden = await probe(query, variables(HIDDEN));
    const aboutMissing = await probe(query, variables(MISSING));
    expect(JSON.stringify(aboutHidden).replaceAll(HIDDEN, MISSING)).toBe(JSON.stringify(aboutMissing));
    return aboutHidden;
  }

  async function must(who: Persona, field: string, input: Record<string, unknown>): Promise<Json> {
    const answer = await gql(who, mutation(field, payloadOf(field)), { input });
    expect(answer.errors, field).toBeUndefined();
    const payload = answer.data[field];
    expect(payload.__typename, `${field}: ${JSON.stringify(payload)}`).toMatch(/Payload$/);
    return payload;
  }

  async function persona(displayName: string, role: string, scopes: string[]): Promise<Persona> {
    const created = await gql(
      admin,
      `mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) {
        ... on PrincipalPayload { principal { id } } } }`,
      { input: { displayName, role } },
    );
    const id = created.data.createServiceAccount.principal.id as string;
    const token = await gql(
      admin,
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
        ... on CreateApiTokenPayload { secret } } }`,
      { input: { principalId: id, name: `${displayName}-token`, scopes } },
    );
    return { id, headers: { authorization: `Bearer ${token.data.createApiToken.secret as string}` } };
  }

  const artifactPath = (model: string, selector: string, file = "model.bin") =>
    `/artifacts/${encodeURIComponent(model)}${selector.startsWith("@") ? selector : `/${selector}`}/${file}`;

  async function http(who: Persona, method: string, path: string, body?: string) {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: who.headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get("content-type"),
      contentLength: response.headers.get("content-length"),
      text,
    };
  }

  /**
   * A model with everything a prober could look for: tags, a described version with a run id,
   * an artifact, a version in Production, the `champion` alias, metrics and (for the owner's
   * models) a grant to a third principal. Strings that carry `secret` become secrets when hidden.
   */
  async function build(who: Persona, name: string, secret: string): Promise<Built> {
    const created = await must(who, "createRegisteredModel", {
      name,
      description: `${secret} description`,
      tags: [{ key: "team", value: `${secret}-team` }],
    });
    const v1 = await must(who, "createModelVersion", {
      name,
      source: `s3://${secret}/v1`,
      runId: `${secret}-run`,
      pendingArtifacts: true,
      tags: [{ key: "note", value: `${secret}-note` }],
    });
    const put = await http(who, "PUT", artifactPath(name, "1"), `${secret} weights`);
    expect(put.status).toBe(201);
    await must(who, "finalizeModelVersion", { name, version: 1 });
    const v2 = await must(who, "createModelVersion", { name, source: `s3://${secret}/v2` });
    await must(who, "transitionModelVersionStage", {
      name,
      version: 1,
      stage: "PRODUCTION",
      overrideReason: OVERRIDE,
    });
    await must(who, "setRegisteredModelAlias", {
      name,
      alias: "champion",
      version: 1,
      overrideReason: OVERRIDE,
    });
    await must(who, "logModelVersionMetrics", { name, version: 1, metrics: [{ key: "auc", value: 0.91 }] });
    const last =
      who === owner
        ? await must(who, "grantModelPermission", { name, principalId: friend.id, permission: "READ" })
        : await must(who, "setRegisteredModelTag", { name, key: "ready", value: "yes" });
    const model = created.registeredModel as { id: string; modelId: string };
    return {
      name,
      modelId: model.modelId,
      globalId: model.id,
      versionIds: [v1.modelVersion.id, v2.modelVersion.id],
      eventIds: [...created.events, ...v1.events, ...last.events].map((e: Json) => e.id as string),
      firstCursor: created.events[0].cursor as string,
    };
  }

  function hide(model: Built, secret: string) {
    hiddenIds.add(model.modelId);
    for (const s of [
      model.name,
      model.modelId,
      model.globalId,
      ...model.versionIds,
      ...model.eventIds,
      secret,
    ])
      secrets.add(s);
  }

  beforeAll(async () => {
    server = await startTestServer(provider, { auth: { mode: "local", defaultModelPermission: null } });
    wsUrl = server.graphqlUrl.replace(/^http/, "ws");
    // Without credentials a local-mode request is the local administrator, who reads everything.
    owner = await persona("owner", "MEMBER", ["READ", "WRITE"]);
    prober = await persona("prober", "MEMBER", ["READ", "WRITE"]);
    friend = await persona("friend", "VIEWER", ["READ"]);
    const team = await gql(
      admin,
      `mutation { createTeam(input: { name: "probers" }) { ... on TeamPayload { team { id } } } }`,
    );
    teamId = team.data.createTeam.team.id;
    await gql(
      admin,
      `mutation($t: ID!, $p: ID!) { addTeamMember(input: { teamId: $t, principalId: $p }) { __typename } }`,
      { t: teamId, p: prober.id },
    );

    hidden = await build(owner, HIDDEN, "s3cr3t-fraud");
    hide(hidden, "s3cr3t-fraud");
    hiddenDeleted = await build(owner, HIDDEN_DELETED, "s3cr3t-gone");
    await must(owner, "deleteRegisteredModel", { name: HIDDEN_DELETED });
    hide(hiddenDeleted, "s3cr3t-gone");
    visible = await build(prober, VISIBLE, "own");
    shared = await build(owner, SHARED, "shared");
    await must(owner, "grantModelPermission", { name: SHARED, principalId: prober.id, permission: "READ" });

    // Pages: visible and hidden models interleaved by name and by creation time, one version each.
    pagesFrom = new Date().toISOString();
    for (const [i, letter] of [..."abcdefghijklm"].entries()) {
      const name = `page-${letter}`;
      const isHidden = i % 2 === 1;
      const who = isHidden ? owner : prober;
      const created = await must(who, "createRegisteredModel", { name });
      await must(who, "createModelVersion", { name, source: `s3://pages/${letter}` });
      pageNames.push({ name, hidden: isHidden });
      if (isHidden) {
        hiddenIds.add(created.registeredModel.modelId);
        secrets.add(name);
        secrets.add(created.registeredModel.modelId);
      }
    }
  });
  afterAll(async () => server?.close());

  const keysOf = (edges: Json[], key: (node: Json) => string) => edges.map((e) => key(e.node));
  const modelKey = (node: Json) => `${node.name}#${node.modelId}`;
  const versionKey = (node: Json) => `${node.model.name}#${node.model.modelId}/v${node.version}`;
  const isHiddenKey = (key: string) => [...hiddenIds].some((id) => key.includes(id));

  /**
   * The prober sees exactly what the administrator sees without the hidden models, and the
   * administrator does see hidden ones (else the check would prove nothing).
   */
  async function seesAllButHidden(query: string, variables: Record<string, unknown>, field: string) {
    const key = field === "registeredModels" ? modelKey : versionKey;
    const everything = keysOf((await gql(admin, query, variables)).data[field].edges, key);
    const answer = await probe(query, variables);
    expect(answer.errors).toBeUndefined();
    const seen = keysOf(answer.data[field].edges, key);
    expect(everything.filter(isHiddenKey).length, JSON.stringify(variables)).toBeGreaterThan(0);
    expect(seen).toEqual(everything.filter((k) => !isHiddenKey(k)));
    return seen;
  }

  it("lists registered models without hidden ones, whatever the filter", async () => {
    const all = await seesAllButHidden(MODELS, {}, "registeredModels");
    expect(all.map((k) => k.split("#")[0])).toContain(VISIBLE);
    expect(all.map((k) => k.split("#")[0])).toContain(SHARED);
    await seesAllButHidden(MODELS, { filter: { nameContains: "-model" } }, "registeredModels");
    await seesAllButHidden(MODELS, { filter: { tag: { key: "team" } } }, "registeredModels");
    await seesAllButHidden(MODELS, { filter: { includeDeleted: true } }, "registeredModels");
    await seesAllButHidden(
      MODELS,
      { filter: { includeDeleted: true, nameContains: "hidden-" } },
      "registeredModels",
    );
    // Filters only a hidden model matches answer as a filter nothing matches.
    await sameAsMissing(MODELS, (name) => ({ filter: { nameContains: name } }));
    await sameAsMissing(MODELS, (name) => ({
      filter: { tag: { key: "team", value: name === HIDDEN ? "s3cr3t-fraud-team" : "s3cr3t-fruad-team" } },
    }));
  });

  it("lists model versions without hidden ones, whatever the filter", async () => {
    await seesAllButHidden(VERSIONS, {}, "modelVersions");
    await seesAllButHidden(VERSIONS, { filter: { stage: "PRODUCTION" } }, "modelVersions");
    await seesAllButHidden(VERSIONS, { filter: { alias: "champion" } }, "modelVersions");
    await seesAllButHidden(VERSIONS, { filter: { tag: { key: "note" } } }, "modelVersions");
    await seesAllButHidden(VERSIONS, { filter: { createdAfter: pagesFrom } }, "modelVersions");
    await seesAllButHidden(VERSIONS, { filter: { includeDeleted: true } }, "modelVersions");
    await sameAsMissing(VERSIONS, (name) => ({ filter: { name } }));
    await sameAsMissing(VERSIONS, (name) => ({ filter: { name, stage: "PRODUCTION" } }));
    await sameAsMissing(VERSIONS, (name) => ({ filter: { name, alias: "champion" } }));
    await sameAsMissing(VERSIONS, (name) => ({
      filter: { runId: name === HIDDEN ? "s3cr3t-fraud-run" : "s3cr3t-fruad-run" },
    }));
  });

  it("keeps pages full: every page but the last has `first` items, none hidden, none skipped", async () => {
    const visibleNames = pageNames.filter((p) => !p.hidden).map((p) => p.name);
    const filter = { nameContains: "page-" };

    const forward: string[][] = [];
    let after: string | null = null;
    for (;;) {
      const answer = await probe(MODELS, { filter, first: 2, after });
      const connection = answer.data.registeredModels;
      forward.push(connection.edges.map((e: Json) => e.node.name));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(forward).toEqual([["page-a", "page-c"], ["page-e", "page-g"], ["page-i", "page-k"], ["page-m"]]);

    const backward: string[][] = [];
    let before: string | null = null;
    for (;;) {
      const answer = await probe(MODELS, { filter, last: 2, before });
      const connection = answer.data.registeredModels;
      backward.unshift(connection.edges.map((e: Json) => e.node.name));
      if (!connection.pageInfo.hasPreviousPage) break;
      before = connection.pageInfo.startCursor;
    }
    expect(backward.flat()).toEqual(visibleNames);
    expect(backward.slice(1).every((page) => page.length === 2)).toBe(true);

    // Versions, newest first: hidden ones were created between every two visible ones.
    const versions: string[][] = [];
    let cursor: string | null = null;
    for (;;) {
      const answer = await probe(VERSIONS, { filter: { createdAfter: pagesFrom }, first: 2, after: cursor });
      const connection = answer.data.modelVersions;
      versions.push(connection.edges.map((e: Json) => e.node.model.name));
      if (!connection.pageInfo.hasNextPage) break;
      cursor = connection.pageInfo.endCursor;
    }
    expect(versions.flat()).toEqual([...visibleNames].reverse());
    expect(versions.slice(0, -1).every((page) => page.length === 2)).toBe(true);
  });

  it("answers lookups by name as it answers them for a missing model", async () => {
    const lookups: [string, (name: string) => Record<string, unknown>][] = [
      [`query($name: String!) { registeredModel(name: $name) { ${MODEL_FIELDS} } }`, (name) => ({ name })],
      [
        `query($name: String!) { modelVersion(name: $name, version: 1) { ${VERSION_FIELDS} } }`,
        (name) => ({ name }),
      ],
      [
        `query($name: String!) { modelVersionByAlias(name: $name, alias: "champion") { ${VERSION_FIELDS} } }`,
        (name) => ({ name }),
      ],
      [
        `query($name: String!, $at: DateTime!) { registeredModelAsOf(name: $name, at: $at) {
          modelId name description tags { key value } versions { version stage tags { key value } } } }`,
        (name) => ({ name, at: new Date(Date.now() + 60_000).toISOString() }),
      ],
      [
        `query($name: String!) { history(name: $name) { edges { cursor node { id type data } }
          pageInfo { hasNextPage startCursor endCursor } } }`,
        (name) => ({ name }),
      ],
      [
        `query($name: String!) { history(name: $name, last: 5) { nodes { type } pageInfo { hasPreviousPage } } }`,
        (name) => ({ name }),
      ],
    ];
    for (const [query, variables] of lookups) {
      const answer = await sameAsMissing(query, variables);
      // The owner does get an answer: the prober's empty one is the access check at work.
      expect(JSON.stringify(await gql(owner, query, variables(HIDDEN)))).not.toBe(JSON.stringify(answer));
      expect(answer.errors).toBeUndefined();
    }
    // The deleted hidden model too ("the most recently deleted one" is never a hidden one).
    const deleted = await gql(owner, `{ registeredModel(name: "${HIDDEN_DELETED}") { deleted } }`);
    expect(deleted.data.registeredModel).toEqual({ deleted: true });
    expect(
      await probe(`query($n: String!) { registeredModel(name: $n) { ${MODEL_FIELDS} } }`, {
        n: HIDDEN_DELETED,
      }),
    ).toEqual({ data: { registeredModel: null } });
    expect(
      await probe(`query($n: String!) { history(name: $n) { nodes { type } } }`, { n: HIDDEN_DELETED }),
    ).toEqual({ data: { history: { nodes: [] } } });
  });

  it("answers node and nodes with null for the global ids of hidden models, versions and events", async () => {
    const ids = [hidden.globalId, ...hidden.versionIds, ...hidden.eventIds, hiddenDeleted.globalId];
    const fake = (id: string) => {
      const decoded = Buffer.from(id, "base64").toString();
      const type = decoded.slice(0, decoded.indexOf(":"));
      const rest = decoded.slice(type.length + 1);
      const other = /^\d+$/.test(rest) ? "999999999" : randomUUID();
      return Buffer.from(`${type}:${other}`).toString("base64");
    };
    const NODE = `query($id: ID!) { node(id: $id) { __typename id
      ... on RegisteredModel { name } ... on ModelVersion { version } ... on RegistryEvent { type data } } }`;
    for (const id of ids) {
      expect((await gql(admin, NODE, { id })).data.node).not.toBeNull();
      const answer = await probe(NODE, { id });
      expect(answer).toEqual({ data: { node: null } });
      expect(await probe(NODE, { id: fake(id) })).toEqual(answer);
    }
    const NODES = `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`;
    // Its own model and one granted to it come back; the hidden ones are null, as missing ones.
    const readable = [visible.globalId, shared.globalId];
    const seen = await probe(NODES, { ids: [...readable, ...ids] });
    expect(seen).toEqual({
      data: {
        nodes: [...readable.map((id) => ({ __typename: "RegisteredModel", id })), ...ids.map(() => null)],
      },
    });
    expect(await probe(NODES, { ids: [...readable, ...ids.map(fake)] })).toEqual(seen);
  });

  it("answers artifact URLs by number, alias and stage (GET, HEAD, PUT) with the 404 of a missing model", async () => {
    const selectors = ["1", "@champion", "production", "PRODUCTION", "2"];
    for (const selector of selectors) {
      const path = (name: string) => artifactPath(name, selector);
      if (selector !== "2") expect((await http(owner, "GET", path(HIDDEN))).status).toBe(200);
      for (const method of ["GET", "HEAD"]) {
        const aboutHidden = await http(prober, method, path(HIDDEN));
        const aboutMissing = await http(prober, method, path(MISSING));
        expect(aboutHidden.status, `${method} ${path(HIDDEN)}`).toBe(404);
        expect({ ...aboutHidden, text: aboutHidden.text.replaceAll(HIDDEN, MISSING) }).toEqual(aboutMissing);
        expectNoLeak(path(HIDDEN), aboutHidden);
      }
    }
    for (const selector of ["1", "2", "9"]) {
      const path = (name: string) => artifactPath(name, selector, "extra.bin");
      const aboutHidden = await http(prober, "PUT", path(HIDDEN), "sneaky bytes");
      const aboutMissing = await http(prober, "PUT", path(MISSING), "sneaky bytes");
      expect(aboutHidden.status).toBe(404);
      expect(JSON.parse(aboutHidden.text)).toMatchObject({
        error: { type: "NotFoundError", resource: "RegisteredModel", key: HIDDEN },
      });
      expect({ ...aboutHidden, text: aboutHidden.text.replaceAll(HIDDEN, MISSING) }).toEqual(aboutMissing);
    }
    // The deleted hidden model's artifact, as a deleted model's: not found.
    const deleted = await http(prober, "GET", artifactPath(HIDDEN_DELETED, "1"));
    expect(deleted.status).toBe(404);
    expect(JSON.parse(deleted.text).error).toMatchObject({
      resource: "RegisteredModel",
      key: HIDDEN_DELETED,
    });
  });

  it("answers every mutation naming the hidden model with the NotFoundError of a missing model, changing nothing", async () => {
    const revision = async () =>
      (await gql(admin, `{ registeredModel(name: "${HIDDEN}") { revision } }`)).data.registeredModel.revision;
    const before = await revision();
    const attempts: [string, (name: string) => Record<string, unknown>][] = [
      ["updateRegisteredModel", (name) => ({ name, description: "mine now" })],
      ["updateRegisteredModel", (name) => ({ name, description: "mine now", expectedRevision: 1 })],
      ["renameRegisteredModel", (name) => ({ name, newName: "taken-over" })],
      ["deleteRegisteredModel", (name) => ({ name })],
      ["restoreRegisteredModel", (name) => ({ name })],
      ["setRegisteredModelTag", (name) => ({ name, key: "team", value: "mine" })],
      ["setRegisteredModelTag", (name) => ({ name, key: "__proto__", value: "invalid key" })],
      ["deleteRegisteredModelTag", (name) => ({ name, key: "team" })],
      ["setRegisteredModelAlias", (name) => ({ name, alias: "champion", version: 2 })],
      ["setRegisteredModelAlias", (name) => ({ name, alias: "champion", version: 1, overrideReason: "x" })],
      ["deleteRegisteredModelAlias", (name) => ({ name, alias: "champion" })],
      ["createModelVersion", (name) => ({ name, source: "s3://mine" })],
      ["updateModelVersion", (name) => ({ name, version: 1, description: "mine" })],
      ["setModelVersionTag", (name) => ({ name, version: 1, key: "note", value: "mine" })],
      ["deleteModelVersionTag", (name) => ({ name, version: 1, key: "note" })],
      ["logModelVersionMetrics", (name) => ({ name, version: 1, metrics: [{ key: "auc", value: 1 }] })],
      ["transitionModelVersionStage", (name) => ({ name, version: 2, stage: "PRODUCTION" })],
      ["transitionModelVersionStage", (name) => ({ name, version: 99, stage: "STAGING" })],
      ["deleteModelVersion", (name) => ({ name, version: 1 })],
      ["restoreModelVersion", (name) => ({ name, version: 1 })],
      ["finalizeModelVersion", (name) => ({ name, version: 1 })],
      ["failModelVersionRegistration", (name) => ({ name, version: 1, reason: "mine" })],
      [
        "setModelVersionSignature",
        (name) => ({ name, version: 1, signature: { inputs: [{ name: "x" }], outputs: [] } }),
      ],
      ["inspectModelVersionArtifacts", (name) => ({ name, version: 1 })],
      ["grantModelPermission", (name) => ({ name, principalId: prober.id, permission: "MANAGE" })],
      ["grantModelPermission", (name) => ({ name, teamId, permission: "READ" })],
      ["revokeModelPermission", (name) => ({ name, principalId: friend.id })],
    ];
    for (const [field, input] of attempts) {
      const query = mutation(field);
      const answer = await sameAsMissing(query, (name) => ({ input: input(name) }));
      expect(answer.errors).toBeUndefined();
      expect(answer.data[field], field).toMatchObject({
        __typename: "NotFoundError",
        resource: "RegisteredModel",
        key: HIDDEN,
      });
    }
    // The deleted hidden model cannot be restored, and says so as a missing one would.
    const restore = mutation("restoreRegisteredModel");
    const restored = await probe(restore, { input: { name: HIDDEN_DELETED } });
    expect(restored.data.restoreRegisteredModel).toMatchObject({
      __typename: "NotFoundError",
      key: HIDDEN_DELETED,
    });

    // A GraphQL multipart upload to the hidden model.
    const upload = async (name: string) => {
      const form = new FormData();
      form.set(
        "operations",
        JSON.stringify({
          query: `mutation($input: UploadModelVersionArtifactInput!) { uploadModelVersionArtifact(input: $input) {
            ${errorSelection("uploadModelVersionArtifact")} } }`,
          variables: { input: { name, version: 2, path: "extra.bin", file: null } },
        }),
      );
      form.set("map", JSON.stringify({ 0: ["variables.input.file"] }));
      form.set("0", new Blob([new Uint8Array(Buffer.from("sneaky"))]), "extra.bin");
      const response = await fetch(server.graphqlUrl, {
        method: "POST",
        body: form,
        headers: { ...prober.headers, "x-registro-csrf": "1" },
      });
      return { status: response.status, body: await response.json() };
    };
    const uploadedHidden = await upload(HIDDEN);
    expect(uploadedHidden.body.data.uploadModelVersionArtifact).toMatchObject({
      __typename: "NotFoundError",
      key: HIDDEN,
    });
    expect(JSON.stringify(uploadedHidden).replaceAll(HIDDEN, MISSING)).toBe(
      JSON.stringify(await upload(MISSING)),
    );

    expect(await revision()).toBe(before);
  });

  it("reveals a hidden name only through AlreadyExistsError: live names are unique registry-wide", async () => {
    // Known and documented (docs/access.md): names are one namespace, so taking a name someone
    // else holds is refused, whether or not the caller may read that model.
    const taken = await probe(mutation("createRegisteredModel"), { input: { name: HIDDEN } });
    expect(taken.data.createRegisteredModel).toMatchObject({
      __typename: "AlreadyExistsError",
      resource: "RegisteredModel",
      key: HIDDEN,
    });
    const renamed = await probe(mutation("renameRegisteredModel"), {
      input: { name: "page-a", newName: HIDDEN },
    });
    expect(renamed.data.renameRegisteredModel).toMatchObject({
      __typename: "AlreadyExistsError",
      key: HIDDEN,
    });
    // The name is only confirmed, never anything about the model behind it.
    expect(JSON.stringify([taken, renamed])).not.toContain(hidden.modelId);
  });

  it("lets the prober restore its own deleted model when a hidden model of that name was deleted after it", async () => {
    const mine = await must(prober, "createRegisteredModel", { name: REUSED });
    await must(prober, "deleteRegisteredModel", { name: REUSED });
    const theirs = await must(owner, "createRegisteredModel", {
      name: REUSED,
      tags: [{ key: "team", value: "s3cr3t-reused" }],
    });
    await must(owner, "deleteRegisteredModel", { name: REUSED });
    hiddenIds.add(theirs.registeredModel.modelId);
    secrets.add(theirs.registeredModel.modelId);
    secrets.add("s3cr3t-reused");

    const lookedUp = await probe(`{ registeredModel(name: "${REUSED}") { modelId deleted } }`);
    expect(lookedUp.data.registeredModel).toEqual({ modelId: mine.registeredModel.modelId, deleted: true });
    const history = await probe(`{ history(name: "${REUSED}") { nodes { modelId type } } }`);
    expect(history.data.history.nodes.map((e: Json) => e.modelId)).toEqual([
      mine.registeredModel.modelId,
      mine.registeredModel.modelId,
    ]);
    // Restoring acts on the model the caller sees as "the most recently deleted of this name".
    const restored = await probe(mutation("restoreRegisteredModel", payloadOf("restoreRegisteredModel")), {
      input: { name: REUSED },
    });
    expect(restored.data.restoreRegisteredModel).toMatchObject({
      __typename: "RegisteredModelPayload",
      registeredModel: { modelId: mine.registeredModel.modelId },
    });
  });

  const proberClient = () =>
    wsClient(wsUrl, { connectionParams: { authorization: prober.headers.authorization } });

  // Each test's subscriptions are the server's only ones, and are gone before the next test.
  const subscribers = (count: number) =>
    eventually(
      () => server.registro.liveEvents.hub.subscriberCount === count,
      10_000,
      `${count} subscriptions on the server`,
    );

  /** Positions of a list of notifications (graphql-ws data or SSE results), and their models. */
  const notified = (items: Json[]) =>
    items.map((item) => {
      const value = Object.values((item.data ?? item) as object)[0];
      return {
        position: (value.position ?? value.event.position) as number,
        modelId: value.modelId as string,
      };
    });

  it("delivers no event of a hidden model over graphql-ws or SSE, filtered, unfiltered or resumed", async () => {
    // What each subscription waits for: the position of its last notification, for the
    // administrator and for the prober (null: the prober should receive nothing at all).
    type Last = "hiddenTag" | "hiddenStage" | "hiddenAlias" | "visibleStage" | "visibleAlias" | "end";
    const cases: [string, string, Record<string, unknown>, Last, Last | null][] = [
      ["all events", EVENTS, {}, "end", "end"],
      ["events by names", EVENTS, { filter: { models: [HIDDEN, VISIBLE] } }, "end", "end"],
      ["events by ids", EVENTS, { filter: { modelIds: [hidden.modelId, visible.modelId] } }, "end", "end"],
      ["events after the owner's cursor", EVENTS, { after: hidden.firstCursor }, "end", "end"],
      ["events of one name", EVENTS, { filter: { models: [HIDDEN] } }, "hiddenTag", null],
      ["events of one id", EVENTS, { filter: { modelIds: [hidden.modelId] } }, "hiddenTag", null],
      [
        "tag events of one name",
        EVENTS,
        { filter: { models: [HIDDEN], types: ["RegisteredModelTagSet"] } },
        "hiddenTag",
        null,
      ],
      ["stage changes", STAGE_CHANGES, {}, "visibleStage", "visibleStage"],
      ["stage changes of one name", STAGE_CHANGES, { name: HIDDEN }, "hiddenStage", null],
      ["alias changes", ALIAS_CHANGES, {}, "visibleAlias", "visibleAlias"],
      ["alias changes of one name", ALIAS_CHANGES, { name: HIDDEN }, "hiddenAlias", null],
    ];
    const sseCases = cases.slice(0, 4);
    // Two connections a side: no socket carries more than ten subscriptions.
    const adminClients = [wsClient(wsUrl), wsClient(wsUrl)];
    const proberClients = [proberClient(), proberClient()];
    const streams = await Promise.all(
      sseCases.map(([, query, variables]) =>
        sseSubscribe(server.graphqlUrl, query, variables, prober.headers),
      ),
    );
    try {
      const watched = cases.map(([what, query, variables, adminLast, proberLast], i) => ({
        what,
        adminLast,
        proberLast,
        admin: record(adminClients[i % 2]!, query, variables),
        prober: record(proberClients[i % 2]!, query, variables),
      }));
      await subscribers(2 * cases.length + streams.length);

      // Visible, hidden, visible: hidden changes fall between delivered ones.
      const tag = (who: Persona, name: string, value: string) =>
        must(who, "setRegisteredModelTag", { name, key: "round", value });
      const at = (payload: Json) => payload.events[0].position as number;
      await tag(prober, VISIBLE, "start");
      const positions: Record<Last, number> = {
        hiddenTag: at(await tag(owner, HIDDEN, "s3cr3t-fraud-round")),
        hiddenStage: at(
          await must(owner, "transitionModelVersionStage", { name: HIDDEN, version: 2, stage: "STAGING" }),
        ),
        hiddenAlias: at(
          await must(owner, "setRegisteredModelAlias", { name: HIDDEN, alias: "champion", version: 2 }),
        ),
        visibleStage: at(
          await must(prober, "transitionModelVersionStage", { name: VISIBLE, version: 2, stage: "STAGING" }),
        ),
        visibleAlias: at(
          await must(prober, "setRegisteredModelAlias", { name: VISIBLE, alias: "champion", version: 2 }),
        ),
        end: 0,
      };
      positions.hiddenTag = at(await tag(owner, HIDDEN, "end"));
      positions.end = at(await tag(prober, VISIBLE, "end"));

      const reached = (items: () => Json[], last: Last) => () =>
        notified(items()).some((n) => n.position === positions[last]);
      await eventually(
        () =>
          watched.every(
            (w) =>
              reached(() => w.admin.data, w.adminLast)() &&
              (w.proberLast === null || reached(() => w.prober.data, w.proberLast)()),
          ) && streams.every((s) => reached(() => s.next(), "end")()),
        10_000,
        "every subscription's last notification",
      );
      // One hub sends each event to every subscriber in log order: give the subscriptions that
      // should stay silent a moment to show anything they would (wrongly) deliver.
      await new Promise((resolve) => setTimeout(resolve, 300));

      for (const { what, admin: everything, prober: seen } of watched) {
        const all = notified(everything.data);
        expect(all.filter((n) => hiddenIds.has(n.modelId)).length, what).toBeGreaterThan(0);
        expect(notified(seen.data), what).toEqual(all.filter((n) => !hiddenIds.has(n.modelId)));
        expect(
          seen.results.filter((r) => r.errors !== undefined),
          what,
        ).toEqual([]);
        expectNoLeak(what, seen.results);
      }
      for (const [i, stream] of streams.entries()) {
        expect(notified(stream.next()), `SSE: ${sseCases[i]![0]}`).toEqual(notified(watched[i]!.prober.data));
        expectNoLeak("SSE", stream.events);
      }
    } finally {
      await Promise.all(streams.map((s) => s.close()));
      for (const client of [...adminClients, ...proberClients]) await client.dispose();
      await subscribers(0);
    }
  });

  /** What the prober can tell about the hidden model, in a comparable form. */
  async function view() {
    const model = await probe(`{ registeredModel(name: "${HIDDEN}") { name myPermission } }`);
    const listed = await probe(MODELS, { filter: { nameContains: HIDDEN } });
    const versions = await probe(VERSIONS, { filter: { name: HIDDEN } });
    const history = await probe(`{ history(name: "${HIDDEN}", first: 1) { nodes { type } } }`);
    const node = await probe(`query($id: ID!) { node(id: $id) { id } }`, { id: hidden.globalId });
    const artifact = await http(prober, "GET", artifactPath(HIDDEN, "1"));
    return {
      model: model.data.registeredModel,
      listed: listed.data.registeredModels.edges.length as number,
      versions: versions.data.modelVersions.edges.length > 0,
      history: history.data.history.nodes.length as number,
      node: node.data.node !== null,
      artifact: artifact.status,
    };
  }
  const HIDDEN_VIEW = { model: null, listed: 0, versions: false, history: 0, node: false, artifact: 404 };
  const READ_VIEW = {
    model: { name: HIDDEN, myPermission: "READ" },
    listed: 1,
    versions: true,
    history: 1,
    node: true,
    artifact: 200,
  };

  const positionOf = (payload: Json) => payload.events[0].position as number;
  const arrived = (what: string, lists: (() => Json[])[], position: number) =>
    eventually(
      () => lists.every((list) => notified(list()).some((n) => n.position === position)),
      10_000,
      what,
    );
  const ofHidden = (items: Json[]) =>
    notified(items)
      .filter((n) => n.modelId === hidden.modelId)
      .map((n) => n.position);
  const tagHidden = (value: string) =>
    must(owner, "setRegisteredModelTag", { name: HIDDEN, key: "phase", value });

  it("shows the model everywhere from a READ grant on, and hides it again from its revocation on", async () => {
    const client = proberClient();
    const all = record(client, EVENTS, {});
    const byName = record(client, EVENTS, { filter: { models: [HIDDEN] } });
    const stages = record(client, STAGE_CHANGES, { name: HIDDEN });
    const sse = await sseSubscribe(server.graphqlUrl, EVENTS, {}, prober.headers);
    try {
      await subscribers(4);
      const stage = (version: number) =>
        must(owner, "transitionModelVersionStage", { name: HIDDEN, version, stage: "STAGING" });

      const beforeGrant = await tagHidden("before-grant");
      expect(await view()).toEqual(HIDDEN_VIEW);
      granted = true;
      const grant = await must(owner, "grantModelPermission", {
        name: HIDDEN,
        principalId: prober.id,
        permission: "READ",
      });
      expect(await view()).toEqual(READ_VIEW);
      // Readable now, so a change it may not make is refused as such.
      const refused = await probe(mutation("setRegisteredModelTag"), {
        input: { name: HIDDEN, key: "k", value: "v" },
      });
      expect(refused.data.setRegisteredModelTag).toMatchObject({
        __typename: "PermissionDeniedError",
        operation: "SetRegisteredModelTag",
      });
      const during = await tagHidden("granted");
      const version = await must(owner, "createModelVersion", { name: HIDDEN, source: "s3://during" });
      const staged = await stage(version.modelVersion.version);
      // The stage subscription's payload reads the version as it is now (`modelVersion`): resolved
      // after the revocation, on a loaded machine, it is refused, as it should be. So the grant
      // holds until the transition has been delivered.
      await arrived("the transition", [() => stages.data, () => byName.data], positionOf(staged));
      const revoke = await must(owner, "revokeModelPermission", { name: HIDDEN, principalId: prober.id });
      granted = false;
      expect(await view()).toEqual(HIDDEN_VIEW);
      await tagHidden("after-revoke");
      const later = await must(owner, "createModelVersion", { name: HIDDEN, source: "s3://s3cr3t-later" });
      await stage(later.modelVersion.version);
      const sentinel = await must(prober, "setRegisteredModelTag", {
        name: VISIBLE,
        key: "round",
        value: "grant",
      });

      await arrived("the sentinel", [() => all.data, () => sse.next()], positionOf(sentinel));
      const expected = [positionOf(grant), positionOf(during), positionOf(version), positionOf(staged)];
      expect(ofHidden(all.data)).toEqual(expected);
      expect(ofHidden(sse.next())).toEqual(expected);
      expect(positionOf(revoke)).toBeGreaterThan(positionOf(staged));
      // Subscriptions to the name, opened while it named nothing the prober could read, follow
      // the model while the grant holds.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(ofHidden(byName.data)).toEqual(expected);
      expect(ofHidden(stages.data)).toEqual([positionOf(staged)]);
      // Resumed after the revocation from a cursor of the time it held the grant, a subscription
      // replays nothing of the model: it is as missing to it as to history().
      const replay = record(client, EVENTS, { after: beforeGrant.events[0].cursor });
      await arrived("the replay", [() => replay.data], positionOf(sentinel));
      expect(ofHidden(replay.data)).toEqual([]);
      expectNoLeak("a replay after the revocation", replay.results);
    } finally {
      granted = false;
      await sse.close();
      await client.dispose();
      await subscribers(0);
    }
  });

  it("shows the model to members of a team it is granted to, as long as any grant holds", async () => {
    const client = proberClient();
    const all = record(client, EVENTS, {});
    try {
      await subscribers(1);
      granted = true;
      const toTeam = await must(owner, "grantModelPermission", { name: HIDDEN, teamId, permission: "READ" });
      expect(await view()).toEqual(READ_VIEW);
      const toProber = await must(owner, "grantModelPermission", {
        name: HIDDEN,
        principalId: prober.id,
        permission: "READ",
      });
      const fromProber = await must(owner, "revokeModelPermission", { name: HIDDEN, principalId: prober.id });
      // Still a member of a team holding READ.
      expect(await view()).toEqual(READ_VIEW);
      const teamOnly = await tagHidden("team-only");
      const fromTeam = await must(owner, "revokeModelPermission", { name: HIDDEN, teamId });
      granted = false;
      expect(await view()).toEqual(HIDDEN_VIEW);
      await tagHidden("s3cr3t-after-team");
      const sentinel = await must(prober, "setRegisteredModelTag", {
        name: VISIBLE,
        key: "round",
        value: "team",
      });

      await arrived("the sentinel", [() => all.data], positionOf(sentinel));
      expect(ofHidden(all.data)).toEqual([
        positionOf(toTeam),
        positionOf(toProber),
        positionOf(fromProber),
        positionOf(teamOnly),
      ]);
      expect(positionOf(fromTeam)).toBeGreaterThan(positionOf(teamOnly));
    } finally {
      granted = false;
      await client.dispose();
      await subscribers(0);
    }
  });
});
