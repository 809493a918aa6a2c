// Issue 11: the audit log. `auditLog` and GET /audit/export over a server whose models are private
// to their grantees (no default permission): the local administrator sees every model's events, a
// MEMBER only those of models it may read; every filter, both orders, keyset pages while events are
// appended, hostile arguments, the export's NDJSON and CSV equal to the query's answer, a client
// leaving mid-export, and the exported NDJSON verified (and a tampered line caught) by the CLI.
import { hashOf } from "../../src/store/eventCodec.ts";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "csv-stringify/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CSV_COLUMNS } from "../../src/audit/exportRecord.ts";
import { runVerifyAuditExport } from "../../src/audit/cli/verifyExport.ts";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { eventually, sseSubscribe } from "../subscriptions/support.ts";

type Json = any;

interface Persona {
  readonly id: string;
  readonly headers: Record<string, string>;
}

const EVENT = `position modelId revision type schemaVersion occurredAt correlationId causationId data hash previousHash
  actor { id displayName }`;
const AUDIT_LOG = `query($filter: AuditLogFilter, $first: Int, $after: String, $order: AuditLogOrder) {
  auditLog(filter: $filter, first: $first, after: $after, order: $order) {
    __typename
    ... on RegistryEventConnection { totalCount edges { cursor node { ${EVENT} } }
      pageInfo { hasNextPage endCursor } }
    ... on ValidationError { code field message } } }`;

describe.each(await providers())("the audit log (%s)", (provider) => {
  let server: TestServer;
  const admin: Persona = { id: "", headers: {} };
  let owner: Persona;
  let prober: Persona;

  const gql = (who: Persona, query: string, variables: Record<string, unknown> = {}) =>
    server.gql<Json>(query, variables, who.headers);

  async function must(who: Persona, mutation: string, input: Record<string, unknown>) {
    const type = `${mutation.charAt(0).toUpperCase()}${mutation.slice(1)}Input`;
    const body = await gql(
      who,
      `mutation($input: ${type}!) { ${mutation}(input: $input) { __typename ... on Error { message } } }`,
      { input },
    );
    expect(body.errors, JSON.stringify(body)).toBeUndefined();
    expect(body.data[mutation].message, JSON.stringify(body)).toBeUndefined();
  }

  async function persona(displayName: string): Promise<Persona> {
    const created = await gql(
      admin,
      `mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) {
        ... on PrincipalPayload { principal { id } } } }`,
      { input: { displayName, role: "MEMBER" } },
    );
    const id = created.data.createServiceAccount.principal.id as string;
    const token = await gql(
      admin,
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
        ... on CreateApiTokenPayload { secret } } }`,
      { input: { principalId: id, name: `${displayName}-token`, scopes: ["READ", "WRITE"] } },
    );
    return { id, headers: { authorization: `Bearer ${token.data.createApiToken.secret as string}` } };
  }

  /** One page of the audit log; fails unless it is a page. */
  async function page(who: Persona, variables: Record<string, unknown>) {
    const body = await gql(who, AUDIT_LOG, variables);
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    expect(body.data.auditLog.__typename, JSON.stringify(body.data)).toBe("RegistryEventConnection");
    return body.data.auditLog as {
      totalCount: number;
      edges: { cursor: string; node: Json }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  }

  /** Every event the filter selects, one page of `first` after another. */
  async function all(who: Persona, variables: Record<string, unknown> = {}, first = 500) {
    const nodes: Json[] = [];
    let after: string | null = null;
    for (;;) {
      const p = await page(who, { ...variables, first, after });
      nodes.push(...p.edges.map((e) => e.node));
      if (!p.pageInfo.hasNextPage) return nodes;
      after = p.pageInfo.endCursor;
    }
  }

  const modelStreamEvents = async () =>
    (
      await server.registro.db.reader.event.findMany({
        where: { NOT: { streamId: { contains: ":" } } },
        include: { eventType: true },
        orderBy: { position: "asc" },
      })
    ).map(({ eventType, ...e }) => ({ ...e, type: eventType.name, hash: hashOf(e.hash) }));

  const idOf = async (name: string) =>
    (
      await server.registro.db.reader.registeredModel.findFirstOrThrow({
        where: { name },
        orderBy: { deleted: "asc" },
      })
    ).id;

  let readQueries = 0;
  let renamedAlpha: string;
  let newAlpha: string;
  let gamma: string;

  beforeAll(async () => {
    server = await startTestServer(provider, {
      auth: { mode: "local", defaultModelPermission: null },
      auditExport: { pageSize: 7, stallMs: 2_000 },
      onReadQuery: () => (readQueries += 1),
    });
    owner = await persona("owner");
    prober = await persona("prober");
    await must(admin, "createRegisteredModel", { name: "alpha" });
    for (const key of ["a", "b", "c"])
      await must(admin, "setRegisteredModelTag", { name: "alpha", key, value: `v,"${key}"` });
    await must(admin, "renameRegisteredModel", { name: "alpha", newName: "alpha2" });
    await must(admin, "createRegisteredModel", { name: "alpha" });
    await must(admin, "createRegisteredModel", { name: "beta" });
    await must(admin, "deleteRegisteredModel", { name: "beta" });
    await must(owner, "createRegisteredModel", { name: "gamma" });
    await must(owner, "setRegisteredModelTag", { name: "gamma", key: "k", value: "v" });
    renamedAlpha = await idOf("alpha2");
    newAlpha = await idOf("alpha");
    gamma = await idOf("gamma");
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  it("shows an ADMIN every model's events (deleted and renamed models too), with their chain hashes", async () => {
    const nodes = await all(admin, {}, 4);
    const stored = await modelStreamEvents();
    expect(nodes.map((n) => n.position)).toEqual(stored.map((e) => e.position));
    expect(nodes.map((n) => n.hash)).toEqual(stored.map((e) => e.hash));
    const first = await page(admin, { first: 1 });
    expect(first.totalCount).toBe(stored.length);
    // previousHash is the hash of the stream's previous revision, null at revision 1.
    const byRevision = new Map(nodes.map((n) => [`${n.modelId}:${n.revision}`, n]));
    for (const n of nodes)
      expect(n.previousHash).toBe(
        n.revision === 1 ? null : byRevision.get(`${n.modelId}:${n.revision - 1}`).hash,
      );
  });

  it("reads previousHash for a page of history in a bounded number of queries (no N+1)", async () => {
    const count = async (first: number) => {
      readQueries = 0;
      const body = await gql(
        admin,
        `{ history(name: "alpha2", first: ${first}) { nodes { revision hash previousHash } } }`,
      );
      expect(body.errors).toBeUndefined();
      const nodes = body.data.history.nodes as {
        revision: number;
        hash: string;
        previousHash: string | null;
      }[];
      expect(nodes.length).toBe(first);
      for (const [i, n] of nodes.entries()) expect(n.previousHash).toBe(i === 0 ? null : nodes[i - 1]?.hash);
      return readQueries;
    };
    expect(await count(5)).toBe(await count(2));
  });

  it("gives events delivered live (subscriptions) their hash and previousHash too", async () => {
    const subscription = await sseSubscribe(
      server.graphqlUrl,
      `subscription { registryEvents(filter: { models: ["alpha2"] }) { modelId revision hash previousHash } }`,
    );
    try {
      await must(admin, "setRegisteredModelTag", { name: "alpha2", key: "live", value: "yes" });
      await eventually(() => subscription.next().length > 0, 10_000, "the live event");
      const [live] = subscription.next();
      expect(live.errors).toBeUndefined();
      const stored = await server.registro.db.reader.event.findMany({
        where: { streamId: renamedAlpha },
        orderBy: { revision: "desc" },
        take: 2,
      });
      expect(live.data.registryEvents).toEqual({
        modelId: renamedAlpha,
        revision: stored[0]?.revision,
        hash: hashOf(stored[0]?.hash),
        previousHash: hashOf(stored[1]?.hash),
      });
    } finally {
      await subscription.close();
    }
  });

  it("shows a version's creation as stored, its defaults left out, live and in the log alike, and the export verifies", async () => {
    await must(admin, "createRegisteredModel", { name: "delta" });
    const subscription = await sseSubscribe(
      server.graphqlUrl,
      `subscription { registryEvents(filter: { models: ["delta"], types: [ModelVersionCreated] }) {
        position schemaVersion data hash } }`,
    );
    try {
      await must(admin, "createModelVersion", { name: "delta", source: "s3://b/1" });
      await must(admin, "createModelVersion", {
        name: "delta",
        source: "s3://b/2",
        runId: "run-2",
        description: "second",
        tags: [{ key: "team", value: "risk" }],
        params: { lr: 0.1 },
        metrics: [{ key: "auc", value: 0.5 }],
        pendingArtifacts: true,
      });
      await eventually(() => subscription.next().length >= 2, 10_000, "the live events");
      const live = subscription.next().map((m) => {
        expect(m.errors).toBeUndefined();
        return m.data.registryEvents;
      });
      const logged = (
        await all(admin, { filter: { models: ["delta"], eventTypes: ["ModelVersionCreated"] } })
      ).map((n) => ({ position: n.position, schemaVersion: n.schemaVersion, data: n.data, hash: n.hash }));
      expect(live).toEqual(logged);
      expect(logged.map((n) => [n.schemaVersion, n.data])).toEqual([
        [3, { version: 1, source: "s3://b/1" }],
        [
          3,
          {
            version: 2,
            source: "s3://b/2",
            runId: "run-2",
            description: "second",
            tags: { team: "risk" },
            params: { lr: 0.1 },
            metrics: { auc: 0.5 },
            status: "PENDING_REGISTRATION",
          },
        ],
      ]);
    } finally {
      await subscription.close();
    }
    // The versions themselves read whole.
    const versions = await gql(
      admin,
      `{ a: modelVersion(name: "delta", version: 1) { ... on ModelVersion { description runId status tags { key } metrics { key } } }
         b: modelVersion(name: "delta", version: 2) { ... on ModelVersion { description runId status tags { key } metrics { key } } } }`,
    );
    expect(versions.errors).toBeUndefined();
    expect(versions.data).toEqual({
      a: { description: "", runId: null, status: "READY", tags: [], metrics: [] },
      b: {
        description: "second",
        runId: "run-2",
        status: "PENDING_REGISTRATION",
        tags: [{ key: "team" }],
        metrics: [{ key: "auc" }],
      },
    });
    const dir = mkdtempSync(path.join(tmpdir(), "registro-audit-"));
    const file = path.join(dir, "delta.ndjson");
    writeFileSync(file, (await ndjson(admin, [["models", "delta"]])).text);
    const lines: string[] = [];
    expect(await runVerifyAuditExport([file], {}, (line) => lines.push(line))).toBe(0);
    expect(lines.at(-1)).toMatch(/^OK: 3 events, 2 chain links/);
  });

  it("shows a MEMBER nothing of a model it cannot read, and that model's events once granted READ", async () => {
    const before = await all(prober);
    expect(before).toEqual([]);
    const exported = await fetch(`${server.url}/audit/export?models=gamma`, { headers: prober.headers });
    expect(exported.status).toBe(200);
    expect(await exported.text()).toBe("");
    expect((await page(prober, { filter: { models: ["gamma"] } })).totalCount).toBe(0);
    const own = await all(owner);
    expect(new Set(own.map((n) => n.modelId))).toEqual(new Set([gamma]));
    await must(owner, "grantModelPermission", { name: "gamma", principalId: prober.id, permission: "READ" });
    const after = await all(prober);
    expect(new Set(after.map((n) => n.modelId))).toEqual(new Set([gamma]));
    expect(after.map((n) => n.position)).toEqual(
      (await all(admin, { filter: { models: ["gamma"] } })).map((n) => n.position),
    );
  });

  it("filters by model name: every stream that ever carried the name", async () => {
    const alpha = await all(admin, { filter: { models: ["alpha"] } });
    expect(new Set(alpha.map((n) => n.modelId))).toEqual(new Set([renamedAlpha, newAlpha]));
    const alpha2 = await all(admin, { filter: { models: ["alpha2"] } });
    expect(new Set(alpha2.map((n) => n.modelId))).toEqual(new Set([renamedAlpha]));
    const beta = await all(admin, { filter: { models: ["beta"] } });
    expect(beta.map((n) => n.type)).toEqual(["RegisteredModelCreated", "RegisteredModelDeleted"]);
    expect(await all(admin, { filter: { models: ["never-there"] } })).toEqual([]);
  });

  it("filters by event type and by actor", async () => {
    const tags = await all(admin, { filter: { eventTypes: ["RegisteredModelTagSet"] } });
    expect(tags.map((n) => n.position)).toEqual(
      (await modelStreamEvents()).filter((e) => e.type === "RegisteredModelTagSet").map((e) => e.position),
    );
    expect(tags.length).toBeGreaterThanOrEqual(4);
    expect(new Set(tags.map((n) => n.type))).toEqual(new Set(["RegisteredModelTagSet"]));
    const byOwner = await all(admin, { filter: { actors: [owner.id] } });
    expect(byOwner.length).toBeGreaterThanOrEqual(3);
    expect(new Set(byOwner.map((n) => n.actor.id))).toEqual(new Set([owner.id]));
    const both = await all(admin, { filter: { actors: [owner.id], eventTypes: ["RegisteredModelTagSet"] } });
    expect(both.map((n) => n.modelId)).toEqual([gamma]);
  });

  it("filters by a window: from inclusive, to exclusive", async () => {
    const everything = await all(admin);
    const middle = everything[Math.floor(everything.length / 2)].occurredAt as string;
    const from = await all(admin, { filter: { from: middle } });
    const to = await all(admin, { filter: { to: middle } });
    expect(from.every((n) => n.occurredAt >= middle)).toBe(true);
    expect(to.every((n) => n.occurredAt < middle)).toBe(true);
    expect(from.some((n) => n.occurredAt === middle)).toBe(true);
    expect([...to, ...from].map((n) => n.position).sort((a, b) => a - b)).toEqual(
      everything.map((n) => n.position),
    );
  });

  it("answers newest first as the reverse of oldest first", async () => {
    const oldest = await all(admin, {}, 3);
    const newest = await all(admin, { order: "NEWEST_FIRST" }, 3);
    expect(newest.map((n) => n.position)).toEqual(oldest.map((n) => n.position).reverse());
  });

  it("pages without duplicates or gaps while events are appended", async () => {
    for (const order of ["OLDEST_FIRST", "NEWEST_FIRST"] as const) {
      const seen: number[] = [];
      let after: string | null = null;
      let head: number | null = null;
      for (let i = 0; i < 200; i++) {
        const p = await page(admin, { first: 4, after, order });
        seen.push(...p.edges.map((e) => e.node.position as number));
        head ??= seen[0] ?? null;
        if (!p.pageInfo.hasNextPage) break;
        after = p.pageInfo.endCursor;
        // Appends to two models (concurrently) between the first pages.
        if (i < 6)
          await Promise.all([
            must(admin, "setRegisteredModelTag", { name: "alpha", key: `page${i}`, value: order }),
            must(owner, "setRegisteredModelTag", { name: "gamma", key: `page${i}`, value: order }),
          ]);
      }
      expect(new Set(seen).size).toBe(seen.length);
      const stored = (await modelStreamEvents()).map((e) => e.position);
      // Oldest first reaches the appended events too; newest first covers what was there when it started.
      expect(seen).toEqual(
        order === "OLDEST_FIRST" ? stored : stored.filter((p) => p <= (head ?? 0)).reverse(),
      );
    }
  }, 60_000);

  it("refuses hostile arguments with typed errors", async () => {
    const refused = async (variables: Record<string, unknown>, field: string) => {
      const body = await gql(admin, AUDIT_LOG, variables);
      expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
      expect(body.data.auditLog).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", field });
    };
    await refused({ first: 2_000_000_000 }, "first");
    await refused({ first: -1 }, "first");
    await refused({ filter: { models: Array.from({ length: 101 }, (_, i) => `m${i}`) } }, "filter.models");
    await refused({ filter: { actors: Array.from({ length: 101 }, (_, i) => `a${i}`) } }, "filter.actors");
    await refused({ filter: { models: ["x".repeat(251)] } }, "filter.models.0");
    // Text no database can hold is refused by the schema's argument guard, before the resolver.
    for (const [filter, field] of [
      [{ models: ["ok", "a\u0000b"] }, "filter.models.1"],
      [{ actors: ["\ud800"] }, "filter.actors.0"],
    ] as const) {
      const body = (await gql(admin, AUDIT_LOG, { filter })) as { errors?: { extensions?: unknown }[] };
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION", field });
    }
    await refused({ filter: { from: "2026-12-02T10:00:00Z", to: "2026-12-02T10:00:00Z" } }, "filter.to");
    await refused({ after: "not-a-cursor" }, "after");
    await refused({ after: Buffer.from("registro:log:v1:5:1").toString("base64url") }, "after");
    // Values the schema itself refuses are GraphQL input errors with a code, never a server error.
    for (const variables of [
      { filter: { from: "2026-13-45T99:00:00Z" } },
      { filter: { eventTypes: ["NoSuchEvent"] } },
      { first: 1e12 },
    ]) {
      const response = await fetch(server.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: AUDIT_LOG, variables }),
      });
      expect(response.status).toBeLessThan(500);
      const body = await response.json();
      expect(body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
    }
  });

  // ---- Export ----------------------------------------------------------------------------------

  const exportUrl = (params: [string, string][]) =>
    `${server.url}/audit/export?${new URLSearchParams(params)}`;

  /** The GraphQL answer as export records (the fields both carry). */
  const comparable = (n: Json) => ({
    position: n.position,
    streamId: n.modelId,
    revision: n.revision,
    type: n.type,
    schemaVersion: n.schemaVersion,
    occurredAt: n.occurredAt,
    actor: { name: n.actor.displayName, id: n.actor.id },
    correlationId: n.correlationId,
    causationId: n.causationId,
    data: n.data,
    hash: n.hash,
    previousHash: n.previousHash,
  });

  async function ndjson(who: Persona, params: [string, string][]) {
    const response = await fetch(exportUrl([["format", "ndjson"], ...params]), { headers: who.headers });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    expect(response.headers.get("content-disposition")).toMatch(
      /^attachment; filename="registro-audit-.*\.ndjson"$/,
    );
    const text = await response.text();
    return {
      text,
      records: text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l)),
    };
  }

  it("exports as NDJSON exactly what auditLog answers, with the same filters and permissions", async () => {
    const cases: { params: [string, string][]; variables: Record<string, unknown>; who: Persona }[] = [
      { who: admin, params: [], variables: {} },
      { who: admin, params: [["order", "NEWEST_FIRST"]], variables: { order: "NEWEST_FIRST" } },
      {
        who: admin,
        params: [
          ["models", "alpha"],
          ["models", "beta"],
          ["eventTypes", "RegisteredModelCreated"],
          ["eventTypes", "RegisteredModelTagSet"],
        ],
        variables: {
          filter: {
            models: ["alpha", "beta"],
            eventTypes: ["RegisteredModelCreated", "RegisteredModelTagSet"],
          },
        },
      },
      { who: admin, params: [["actors", owner.id]], variables: { filter: { actors: [owner.id] } } },
      { who: prober, params: [], variables: {} },
    ];
    for (const { who, params, variables } of cases) {
      const expected = await all(who, variables);
      const { records } = await ndjson(who, params);
      expect(records.length).toBeGreaterThan(0);
      expect(
        records.map(({ modelName: _n, actor: { name, id }, ...rest }) => ({ ...rest, actor: { name, id } })),
      ).toEqual(expected.map(comparable));
    }
    const { records } = await ndjson(admin, [["models", "alpha2"]]);
    expect(new Set(records.map((r) => r.modelName))).toEqual(new Set(["alpha2"]));
  });

  it("exports as RFC 4180 CSV the same events as NDJSON", async () => {
    const response = await fetch(
      exportUrl([
        ["format", "csv"],
        ["models", "alpha"],
      ]),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(response.headers.get("content-disposition")).toMatch(/\.csv"$/);
    const text = await response.text();
    // NDJSON equals the GraphQL answer (above); CSV holds the same records, cell by cell.
    const { records } = await ndjson(admin, [["models", "alpha"]]);
    expect(records.length).toBe((await all(admin, { filter: { models: ["alpha"] } })).length);
    const json = (value: unknown) => (value === null ? null : JSON.stringify(value));
    const expected = stringify(
      records.map((r) => [
        r.position,
        r.streamId,
        r.modelName,
        r.revision,
        r.type,
        r.schemaVersion,
        r.occurredAt,
        r.actor.name,
        r.actor.id,
        r.actor.kind,
        json(r.actor.credential),
        r.correlationId,
        r.causationId,
        json(r.data),
        r.hash,
        r.previousHash,
      ]),
      { header: true, columns: [...CSV_COLUMNS], record_delimiter: "windows" },
    );
    expect(text).toBe(expected);
    const lines = text.split("\r\n");
    expect(lines[0]).toBe(CSV_COLUMNS.join(","));
    expect(lines.length - 2).toBe(records.length);
    // A tag value with a comma and quotes: the cell is quoted and its quotes doubled.
    expect(text).toContain('""value"":""v,\\""a\\""""}"');
  });

  it("authenticates and validates like /graphql, with typed JSON errors", async () => {
    const refused = async (params: [string, string][], status: number, code: string, headers = {}) => {
      const response = await fetch(exportUrl(params), { headers });
      expect(response.status).toBe(status);
      expect((await response.json()).error.code).toBe(code);
    };
    const badToken = { authorization: "Bearer rgo_not-a-token" };
    const graphql = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { ...badToken, "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(graphql.status).toBe(401);
    const code = ((await graphql.json()).errors?.[0]?.extensions?.code ?? "UNAUTHENTICATED") as string;
    await refused([], 401, code, badToken);
    await refused([["from", "yesterday"]], 400, "VALIDATION");
    await refused(
      [
        ["to", "2026-02-30T00:00:00Z"],
        ["from", "2026-03-01T00:00:00Z"],
      ],
      400,
      "VALIDATION",
    );
    await refused([["format", "xml"]], 400, "VALIDATION");
    await refused([["model", "alpha"]], 400, "VALIDATION");
    await refused(
      [
        ["order", "OLDEST_FIRST"],
        ["order", "NEWEST_FIRST"],
      ],
      400,
      "VALIDATION",
    );
    await refused([["eventTypes", "NoSuchEvent"]], 400, "VALIDATION");
    // Text no database can hold never reaches a query (PostgreSQL would fail the statement).
    // (A lone surrogate cannot travel in a URL: percent-decoding turns it into U+FFFD.)
    for (const text of ["a\u0000b", "\u0000"]) {
      await refused([["models", text]], 400, "VALIDATION");
      await refused([["actors", text]], 400, "VALIDATION");
    }
    await refused(
      Array.from({ length: 101 }, (_, i) => ["models", `m${i}`] as [string, string]),
      400,
      "VALIDATION",
    );
    for (const method of ["POST", "PUT", "DELETE"]) {
      const refusedMethod = await fetch(exportUrl([]), { method });
      expect(refusedMethod.status, method).toBe(405);
      expect(refusedMethod.headers.get("allow"), method).toBe("GET, HEAD");
      expect((await refusedMethod.json()).error.code, method).toBe("METHOD_NOT_ALLOWED");
    }
  });

  it("answers HEAD with the headers GET sends and no body, refusing what GET refuses", async () => {
    const headersOf = (response: Response) => ({
      status: response.status,
      type: response.headers.get("content-type"),
      disposition: response.headers.get("content-disposition")?.replace(/\d{4}-[\d-T]+Z/, "<time>"),
      cache: response.headers.get("cache-control"),
    });
    for (const format of ["ndjson", "csv"]) {
      const params: [string, string][] = [
        ["format", format],
        ["models", "alpha"],
      ];
      const head = await fetch(exportUrl(params), { method: "HEAD", headers: admin.headers });
      const get = await fetch(exportUrl(params), { headers: admin.headers });
      expect(headersOf(head)).toEqual(headersOf(get));
      expect(headersOf(head)).toMatchObject({ status: 200, cache: "no-store" });
      expect(await head.text()).toBe("");
      expect((await get.text()).length).toBeGreaterThan(0);
    }
    // A filter that matches nothing is an empty export for GET, so a 200 for HEAD too.
    expect((await fetch(exportUrl([["models", "no-such-model"]]), { method: "HEAD" })).status).toBe(200);
    for (const param of [
      ["format", "xml"],
      ["from", "yesterday"],
    ] as [string, string][]) {
      const head = await fetch(exportUrl([param]), { method: "HEAD" });
      expect(head.status).toBe(400);
      expect(await head.text()).toBe("");
    }
    const unauthenticated = await fetch(exportUrl([]), {
      method: "HEAD",
      headers: { authorization: "Bearer rgo_not-a-token" },
    });
    expect(unauthenticated.status).toBe(401);
    expect(server.registro.auditExport.running()).toBe(0);
  });

  it("stops an export whose client goes away", async () => {
    // Many small pages (7 events each): the client reads one chunk and leaves.
    const controller = new AbortController();
    const response = await fetch(exportUrl([]), { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await eventually(() => server.registro.auditExport.running() === 0, 10_000, "the export to stop");
    expect((await fetch(`${server.url}/audit/export?models=gamma`)).status).toBe(200);
  });

  it("exports NDJSON that the CLI verifies on its own, and catches a tampered line", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "registro-audit-"));
    const lines: string[] = [];
    const print = (line: string) => lines.push(line);
    for (const order of ["OLDEST_FIRST", "NEWEST_FIRST"]) {
      const file = path.join(dir, `${order}.ndjson`);
      writeFileSync(file, (await ndjson(admin, [["order", order]])).text);
      lines.length = 0;
      expect(await runVerifyAuditExport([file], {}, print)).toBe(0);
      expect(lines.at(-1)).toMatch(/^OK: \d+ events, [1-9]\d* chain links/);
    }
    const file = path.join(dir, "OLDEST_FIRST.ndjson");
    const text = readFileSync(file, "utf8").split("\n");
    const index = text.findIndex((l) => l.includes('"RegisteredModelTagSet"'));
    const tampered = JSON.parse(text[index] ?? "");
    tampered.data.value = "forged";
    text[index] = JSON.stringify(tampered);
    writeFileSync(file, text.join("\n"));
    lines.length = 0;
    expect(await runVerifyAuditExport([file], {}, print)).toBe(1);
    expect(lines.join("\n")).toContain(
      `line ${index + 1}: stream ${tampered.streamId as string} revision ${tampered.revision as number}`,
    );
    expect(lines.at(-1)).toMatch(/^FAILED/);
    // A line rehashed by a forger still breaks the link to the next revision.
    const { eventHash } = await import("../../src/audit/eventHash.ts");
    const { hashedFieldsOf } = await import("../../src/audit/exportRecord.ts");
    tampered.hash = eventHash(hashedFieldsOf(tampered), tampered.previousHash);
    text[index] = JSON.stringify(tampered);
    writeFileSync(file, text.join("\n"));
    lines.length = 0;
    expect(await runVerifyAuditExport([file], {}, print)).toBe(1);
    expect(lines.join("\n")).toMatch(/previousHash is not the hash of revision/);
  });

  // Exports altered without breaking a hash or a link: each must fail verification.
  async function verify(text: string) {
    const dir = mkdtempSync(path.join(tmpdir(), "registro-audit-"));
    const file = path.join(dir, "audit.ndjson");
    writeFileSync(file, text);
    const lines: string[] = [];
    const code = await runVerifyAuditExport([file], {}, (line) => lines.push(line));
    return { code, output: lines.join("\n"), verdict: lines.at(-1) ?? "" };
  }

  /** A genuine export (verified) and its lines, with one RegisteredModelTagSet line to rewrite. */
  async function genuine(order = "OLDEST_FIRST") {
    const text = (await ndjson(admin, [["order", order]])).text;
    expect((await verify(text)).code).toBe(0);
    const lines = text.split("\n").filter((l) => l !== "");
    const at = lines.findIndex((l) => l.includes('"RegisteredModelTagSet"'));
    const rewritten = (line: string) =>
      `${[...lines.slice(0, at), line, ...lines.slice(at + 1)].join("\n")}\n`;
    return { text, lines, at, line: lines[at]!, record: JSON.parse(lines[at]!), rewritten };
  }

  it("refuses an export with a line repeated or moved, in either order", async () => {
    expect((await verify((await ndjson(admin, [["eventTypes", "RegisteredModelTagSet"]])).text)).code).toBe(
      0,
    );
    // One model's export (a single stream of several events) twice over.
    const alpha2 = (await ndjson(admin, [["models", "alpha2"]])).text;
    expect(alpha2.split("\n").length).toBeGreaterThan(3);
    const alpha2Twice = await verify(alpha2 + alpha2);
    expect(alpha2Twice.code).toBe(1);
    expect(alpha2Twice.output).toMatch(/a line repeated or moved/);
    for (const order of ["OLDEST_FIRST", "NEWEST_FIRST"]) {
      const { text, lines } = await genuine(order);
      const events = lines.length;
      const appended = await verify(`${text}${lines[0]!}\n`);
      expect(appended.code).toBe(1);
      expect(appended.output).toMatch(new RegExp(`^line ${events + 1}: .*a line repeated or moved`));
      const moved = await verify([...lines.slice(0, 3), lines[0]!, ...lines.slice(3)].join("\n"));
      expect(moved.code).toBe(1);
      expect(moved.output).toMatch(/^line 4: /);
      const twice = await verify(text + text);
      expect(twice.code).toBe(1);
      expect(twice.output).toContain(`line ${events + 1}: `);
      expect(twice.output).toMatch(/a line repeated or moved/);
      expect(twice.verdict).toMatch(new RegExp(`^FAILED: ${2 * events} events`));
    }
  });

  it("refuses an export line with a key the export does not write", async () => {
    const { line, record, at, rewritten } = await genuine();
    for (const added of [
      JSON.stringify({ ...record, approvedBy: "CEO" }),
      JSON.stringify({ ...record, actor: { ...record.actor, role: "CEO" } }),
      `{"__proto__":{"approvedBy":"CEO"},${line.slice(1)}`,
    ]) {
      const result = await verify(rewritten(added));
      expect(result.code, added).toBe(1);
      expect(result.output).toMatch(new RegExp(`^line ${at + 1}: not an export record: .*nrecognized key`));
    }
  });

  it("refuses an export line with a key repeated or not written as the export writes it", async () => {
    const { line, record, at, rewritten } = await genuine();
    // JSON.parse keeps the last of a repeated key, other readers the first.
    for (const changed of [`{"type":"ModelDeleted",${line.slice(1)}`, JSON.stringify(record, null, 1)]) {
      const result = await verify(rewritten(changed.replaceAll("\n", "")));
      expect(result.code, changed).toBe(1);
      expect(result.output).toMatch(new RegExp(`^line ${at + 1}: not written as the export writes it`));
    }
  });

  it("refuses an export line whose occurredAt is not the text the hash covers", async () => {
    const { record, at, rewritten } = await genuine();
    const instant = new Date(record.occurredAt as string);
    const [day, date, month, year, time] = instant.toUTCString().replace(",", "").split(" ");
    const ms = String(instant.getUTCMilliseconds()).padStart(3, "0");
    for (const occurredAt of [
      `${day} ${month} ${date} ${year} ${time}.${ms} GMT+0000 (approved by CEO)`,
      (record.occurredAt as string).replace("Z", "+00:00"),
    ]) {
      expect(Date.parse(occurredAt)).toBe(instant.getTime());
      const result = await verify(rewritten(JSON.stringify({ ...record, occurredAt })));
      expect(result.code, occurredAt).toBe(1);
      expect(result.output).toMatch(new RegExp(`^line ${at + 1}: not an export record: occurredAt`));
    }
  });

  it("refuses an export line nested deeper than Registro writes, naming it, without overflowing", async () => {
    const { MAX_EVENT_JSON_DEPTH } = await import("../../src/audit/eventHash.ts");
    const { record, at, rewritten } = await genuine();
    // Written by hand: JSON.stringify would overflow on arrays nested 5,000 deep.
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    for (const [field, line] of [
      ["data", JSON.stringify({ ...record, data: "DEEP" })],
      ["actor.credential", JSON.stringify({ ...record, actor: { ...record.actor, credential: "DEEP" } })],
    ] as const) {
      const result = await verify(rewritten(line.replace('"DEEP"', deep)));
      expect(result.code, field).toBe(1);
      expect(result.output).toMatch(
        new RegExp(
          `^line ${at + 1}: not an export record: ${field} nests objects and arrays more than ${MAX_EVENT_JSON_DEPTH} levels deep`,
        ),
      );
      expect(result.verdict).toMatch(/^FAILED/);
    }
  });

  it("refuses an empty export, as a failed download leaves", async () => {
    for (const text of ["", "\n", "\n  \n\n"]) {
      const result = await verify(text);
      expect(result.code).toBe(1);
      expect(result.output).toMatch(/^no events: not an export/);
      expect(result.verdict).toMatch(/^FAILED: 0 events/);
    }
  });
});

/** A GET on a raw socket, its response bytes read only as `read` is called. */
function rawGet(url: string, path: string) {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port) });
  socket.pause();
  socket.write(`GET ${path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\nconnection: close\r\n\r\n`);
  const received: Buffer[] = [];
  let ended = false;
  socket.on("end", () => (ended = true));
  socket.on("error", () => (ended = true));
  return {
    /** Takes at most `bytes` of what has arrived. */
    read(bytes: number) {
      while (bytes > 0 && socket.readableLength > 0) {
        const chunk = socket.read(Math.min(bytes, socket.readableLength)) as Buffer | null;
        if (chunk === null) break;
        received.push(chunk);
        bytes -= chunk.length;
      }
      if (socket.readableLength === 0) socket.read(0); // lets 'end' fire once everything was read
    },
    get ended() {
      return ended;
    },
    /** The response so far: its head, its chunked body decoded, and whether the body was whole. */
    response() {
      const raw = Buffer.concat(received);
      const split = raw.indexOf("\r\n\r\n");
      const head = raw.subarray(0, split).toString("latin1");
      const chunks: Buffer[] = [];
      let at = split + 4;
      let complete = false;
      for (;;) {
        const line = raw.indexOf("\r\n", at);
        if (line < 0) break;
        const size = Number.parseInt(raw.subarray(at, line).toString("latin1"), 16);
        if (size === 0) {
          complete = raw.subarray(line, line + 4).toString("latin1") === "\r\n\r\n";
          break;
        }
        if (line + 2 + size > raw.length) break;
        chunks.push(raw.subarray(line + 2, line + 2 + size));
        at = line + 2 + size + 2;
      }
      return { head, body: Buffer.concat(chunks).toString("utf8"), complete };
    },
    destroy: () => socket.destroy(),
  };
}

// The export writes a page in slices, each with its own deadline: a deadline on the whole page
// (here 16 MB in one page) measured how fast the client read, and cut clients that never paused.
describe.each(await providers())("the audit export to slow readers (%s)", (provider) => {
  const STALL_MS = 4_000;
  const EVENTS = 250;
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(provider, { auditExport: { pageSize: 1000, stallMs: STALL_MS } });
    const mutation = `mutation($input: UpdateRegisteredModelInput!) { updateRegisteredModel(input: $input) {
      __typename } }`;
    await server.gql(`mutation { createRegisteredModel(input: { name: "big" }) { __typename } }`);
    for (let i = 0; i < EVENTS; i++) {
      const body = await server.gql(mutation, {
        input: { name: "big", description: `${i}`.padEnd(65_536, "abcdefghij") },
      });
      expect(body.data.updateRegisteredModel.__typename).toBe("RegisteredModelPayload");
    }
  }, 120_000);

  afterAll(async () => {
    await server?.close();
  });

  it("sends the whole export to a client that reads steadily, however long each page takes", async () => {
    const whole = await (await fetch(`${server.url}/audit/export`)).text();
    expect(whole.length).toBeGreaterThan(EVENTS * 65_536);
    // The reader's pace (16 KiB every 10 ms, never a pause near STALL_MS) is input, not a measure.
    const client = rawGet(server.url, "/audit/export");
    const reading = setInterval(() => client.read(16 * 1024), 10);
    try {
      await eventually(() => client.ended, 120_000, "the export to end");
    } finally {
      clearInterval(reading);
      client.destroy();
    }
    const { head, body, complete } = client.response();
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(complete, `${body.length} of ${whole.length} characters, then cut`).toBe(true);
    expect(body.length).toBe(whole.length);
    expect(body === whole).toBe(true);
    expect(server.registro.auditExport.running()).toBe(0);
  }, 180_000);

  it("cuts a client that stops reading, and stops its export", async () => {
    const client = rawGet(server.url, "/audit/export");
    try {
      await eventually(() => server.registro.auditExport.running() === 1, 30_000, "the export to start");
      // The client reads nothing: once the operating system's buffers are full, nothing moves.
      await eventually(() => server.registro.auditExport.running() === 0, 30_000, "the export to stop");
      const reading = setInterval(() => client.read(1024 * 1024), 5);
      try {
        await eventually(() => client.ended, 60_000, "the connection to close");
      } finally {
        clearInterval(reading);
      }
      const { head, complete } = client.response();
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      expect(complete).toBe(false);
    } finally {
      client.destroy();
    }
  }, 120_000);
});
