// Usage end to end: downloads through the artifact route are counted once their response finished,
// become visible when flushed, and answer ModelVersion.usage, consumers, RegisteredModel.usage and
// the used-since filters; serving reports are validated; a restart flushes what was pending and
// nothing is counted twice.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { createRegistro } from "../../src/registro.ts";
import { applyServingReport } from "../../src/usage/usageStore.ts";
import type { Registro } from "../../src/registro.ts";
import { createTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { errorSelection } from "../support/mutationResult.ts";

const BODY = Buffer.from("0123456789".repeat(100)); // 1000 bytes

interface Running {
  readonly registro: Registro;
  readonly url: string;
  gql(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<any>;
}

/** A registry on an existing database (so that a test can restart it), download counting flushed by hand. */
async function start(database: TestDatabase, dataDir: string): Promise<Running> {
  const registro = await createRegistro({
    database: database.config,
    dataDir,
    logger: pino({ level: "silent" }),
    auth: { osUserName: "local-admin" },
    usage: { flushIntervalMs: 3_600_000 },
  });
  const address = await registro.app.listen(0, "127.0.0.1");
  const url = `http://127.0.0.1:${address.port}`;
  return {
    registro,
    url,
    async gql(query, variables, headers) {
      const response = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return response.json();
    },
  };
}

const USAGE = `query($name: String!, $version: Int!, $from: DateTime!, $g: UsageGranularity) {
  modelVersion(name: $name, version: $version) {
    usage(from: $from, granularity: $g) {
      points { start downloads bytes requests errors latencyP50Ms latencyP99Ms metrics { name sum reports last } }
      totals { downloads bytes requests errors latencyP50Ms latencyP99Ms }
    }
  }
}`;

describe.each(await providers())("usage on %s", (provider) => {
  let database: TestDatabase;
  let dataDir: string;
  let server: Running;
  let reader: Record<string, string>;
  let readerId: string;
  const from = new Date(Date.now() - 3 * 3_600_000).toISOString();

  const ok = async (query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) => {
    const result = await server.gql(query, variables, headers);
    expect(result.errors, query).toBeUndefined();
    return result.data;
  };
  const download = (target: string, headers: Record<string, string> = {}, method = "GET") =>
    fetch(`${server.url}/artifacts/${target}`, { method, headers }).then(async (r) => ({
      status: r.status,
      body: Buffer.from(await r.arrayBuffer()),
    }));
  const usage = async (version = 1, g = "HOUR") =>
    (await ok(USAGE, { name: "usage-m", version, from, g })).modelVersion.usage;

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    dataDir = mkdtempSync(path.join(tmpdir(), "registro-usage-"));
    server = await start(database, dataDir);
    await ok(`mutation { createRegisteredModel(input: { name: "usage-m" }) { __typename } }`);
    for (const v of [1, 2]) {
      await ok(
        `mutation { createModelVersion(input: { name: "usage-m", source: "s3://b/${v}", pendingArtifacts: true }) { __typename } }`,
      );
      const put = await fetch(`${server.url}/artifacts/usage-m/${v}/model.bin`, {
        method: "PUT",
        body: BODY,
      });
      expect(put.status).toBe(201);
      await ok(`mutation { finalizeModelVersion(input: { name: "usage-m", version: ${v} }) { __typename } }`);
    }
    const created = await ok(
      `mutation { createServiceAccount(input: { displayName: "batch-scorer", role: MEMBER }) { ... on PrincipalPayload { principal { id } } } }`,
    );
    readerId = created.createServiceAccount.principal.id;
    const token = await ok(
      `mutation($p: ID) { createApiToken(input: { principalId: $p, name: "t", scopes: [READ, WRITE] }) { ... on CreateApiTokenPayload { secret } } }`,
      { p: readerId },
    );
    reader = { authorization: `Bearer ${token.createApiToken.secret}` };
  });

  afterAll(async () => {
    await server?.registro.close();
    await database?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("counts finished GET downloads (200 and 206, bytes sent), not HEAD or 304, once flushed", async () => {
    const full = await download("usage-m/1/model.bin");
    expect(full.status).toBe(200);
    const ranged = await download("usage-m/1/model.bin", { ...reader, range: "bytes=0-99" });
    expect(ranged.status).toBe(206);
    expect((await download("usage-m/1/model.bin", {}, "HEAD")).status).toBe(200);
    const etag = (await fetch(`${server.url}/artifacts/usage-m/1/model.bin`, { method: "HEAD" })).headers.get(
      "etag",
    )!;
    expect((await download("usage-m/1/model.bin", { "if-none-match": etag })).status).toBe(304);
    // Counted in memory only: not visible before the flush (docs/usage.md).
    expect((await usage()).totals.downloads).toBe(0);
    await server.registro.usage.flush();
    const hourly = await usage();
    expect(hourly.totals).toMatchObject({ downloads: 2, bytes: 1100, requests: 0, latencyP50Ms: null });
    expect(hourly.points).toHaveLength(1);
    expect((await usage(1, "DAY")).totals).toMatchObject({ downloads: 2, bytes: 1100 });
    expect((await usage(2)).totals.downloads).toBe(0);
  });

  it("lists consumers to those who manage the model, and refuses others", async () => {
    const query = `query { modelVersion(name: "usage-m", version: 1) {
      consumers(orderBy: DOWNLOADS) { totalCount hasNextPage nodes { principalId principal { displayName kind } downloads bytes lastSeenAt } } } }`;
    const { consumers } = (await ok(query)).modelVersion;
    expect(consumers.totalCount).toBe(2);
    expect(consumers.hasNextPage).toBe(false);
    expect(consumers.nodes.map((c: any) => [c.principal?.displayName, c.downloads, c.bytes]).sort()).toEqual([
      ["batch-scorer", 1, 100],
      ["local-admin", 1, 1000],
    ]);
    const page = (await ok(query.replace("orderBy: DOWNLOADS", "first: 1"))).modelVersion.consumers;
    expect([page.nodes.length, page.hasNextPage]).toEqual([1, true]);
    // The service account may read the model (default READ), not its consumers.
    const denied = await server.gql(query, {}, reader);
    expect(denied.errors?.[0]?.extensions?.code).toBe("PERMISSION_DENIED");
    // Usage itself is visible to any reader.
    expect(
      (await server.gql(USAGE, { name: "usage-m", version: 1, from, g: "HOUR" }, reader)).errors,
    ).toBeUndefined();
  });

  it("answers a model's usage with each version's share, and the used-since filters", async () => {
    await download("usage-m/2/model.bin");
    await server.registro.usage.flush();
    const model = await ok(
      `query($from: DateTime!) { registeredModel(name: "usage-m") { usage(from: $from) {
        totals { downloads bytes } versions { version downloads bytes modelVersion { version } } } } }`,
      { from },
    );
    expect(model.registeredModel.usage.totals).toEqual({ downloads: 3, bytes: 2100 });
    expect(model.registeredModel.usage.versions).toEqual([
      { version: 1, downloads: 2, bytes: 1100, modelVersion: { version: 1 } },
      { version: 2, downloads: 1, bytes: 1000, modelVersion: { version: 2 } },
    ]);
    await ok(
      `mutation { transitionModelVersionStage(input: { name: "usage-m", version: 1, stage: ARCHIVED }) { __typename } }`,
    );
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const archivedInUse = await ok(
      `query($since: DateTime!) { modelVersions(filter: { name: "usage-m", stage: ARCHIVED, usedSince: $since, usage: DOWNLOADS }) { totalCount nodes { version } } }`,
      { since },
    );
    expect(archivedInUse.modelVersions).toEqual({ totalCount: 1, nodes: [{ version: 1 }] });
    const unused = await ok(
      `query($since: DateTime!) { modelVersions(filter: { name: "usage-m", notUsedSince: $since }) { nodes { version } } }`,
      { since: new Date(Date.now() + 60_000).toISOString() },
    );
    expect(unused.modelVersions.nodes.map((v: any) => v.version).sort()).toEqual([1, 2]);
    const used = await ok(
      `query($since: DateTime!) { modelVersions(filter: { name: "usage-m", usedSince: $since, usage: SERVING }) { totalCount } }`,
      { since },
    );
    expect(used.modelVersions.totalCount).toBe(0);
  });

  const REPORT = `mutation($input: ReportModelServingInput!) { reportModelServing(input: $input) {
    __typename ... on ReportModelServingPayload { applied modelVersion { version } } ${errorSelection("reportModelServing")} } }`;
  const report = (over: Record<string, unknown> = {}) => ({
    name: "usage-m",
    version: 2,
    environment: "prod-eu",
    windowStart: new Date(Date.now() - 10 * 60_000).toISOString(),
    windowEnd: new Date(Date.now() - 5 * 60_000).toISOString(),
    requests: 100,
    errors: 2,
    latencyP50Ms: 12.5,
    latencyP99Ms: 80,
    metrics: [{ name: "gpu_util", value: 0.75 }],
    ...over,
  });

  it("records serving reports once per client report id, and shows them in usage", async () => {
    const first = await ok(REPORT, { input: report({ clientReportId: "r-1" }) }, reader);
    // The service account holds no EDIT grant: a serving system needs one.
    expect(first.reportModelServing.__typename).toBe("PermissionDeniedError");
    await ok(
      `mutation($p: ID!) { grantModelPermission(input: { name: "usage-m", principalId: $p, permission: EDIT }) { __typename } }`,
      { p: readerId },
    );
    const applied = await ok(REPORT, { input: report({ clientReportId: "r-1" }) }, reader);
    expect(applied.reportModelServing).toEqual({
      __typename: "ReportModelServingPayload",
      applied: true,
      modelVersion: { version: 2 },
    });
    const again = await ok(REPORT, { input: report({ clientReportId: "r-1" }) }, reader);
    expect(again.reportModelServing.applied).toBe(false);
    await ok(REPORT, {
      input: report({
        environment: "staging",
        requests: 300,
        errors: 0,
        latencyP50Ms: 20,
        latencyP99Ms: 50,
        metrics: [],
      }),
    });
    const all = await usage(2);
    expect(all.totals).toMatchObject({ requests: 400, errors: 2, latencyP99Ms: 80 });
    expect(all.totals.latencyP50Ms).toBeCloseTo((12.5 * 100 + 20 * 300) / 400);
    const prod = await ok(
      `query($from: DateTime!) { modelVersion(name: "usage-m", version: 2) { usage(from: $from, granularity: HOUR, environment: "prod-eu") {
        totals { requests errors downloads } points { metrics { name sum reports last } } } } }`,
      { from },
    );
    expect(prod.modelVersion.usage.totals).toEqual({ requests: 100, errors: 2, downloads: 1 });
    expect(prod.modelVersion.usage.points.flatMap((p: any) => p.metrics)).toEqual([
      { name: "gpu_util", sum: 0.75, reports: 1, last: 0.75 },
    ]);
  });

  it("refuses hostile serving reports with typed errors naming the field", async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const cases: [Record<string, unknown>, string, string][] = [
      [{ requests: -1 }, "ValidationError", "requests"],
      [{ errors: 101 }, "ValidationError", "errors"],
      [{ latencyP50Ms: 90 }, "ValidationError", "latencyP50Ms"],
      [{ windowEnd: new Date(Date.now() - 20 * 60_000).toISOString() }, "ValidationError", "windowEnd"],
      [{ windowStart: new Date(Date.now() - 3 * 3_600_000).toISOString() }, "ValidationError", "windowEnd"],
      [
        { windowEnd: future, windowStart: new Date(Date.now() + 30 * 60_000).toISOString() },
        "ValidationError",
        "windowEnd",
      ],
      [
        { windowStart: "2020-01-01T00:00:00Z", windowEnd: "2020-01-01T00:05:00Z" },
        "ValidationError",
        "windowStart",
      ],
      [
        { metrics: Array.from({ length: 21 }, (_, i) => ({ name: `m${i}`, value: 1 })) },
        "ValidationError",
        "metrics",
      ],
      [{ metrics: [{ name: "bad name", value: 1 }] }, "ValidationError", "metrics.0.name"],
      [{ metrics: [{ name: "x", value: 1e300 }] }, "ValidationError", "metrics.0.value"],
      [{ environment: "x".repeat(65) }, "ValidationError", "environment"],
      [{ requests: 0, errors: 0 }, "ValidationError", "latencyP50Ms"],
      [{ version: 99 }, "NotFoundError", ""],
      [{ name: "missing-model" }, "NotFoundError", ""],
    ];
    for (const [over, typename, field] of cases) {
      const result = await ok(REPORT, { input: report(over) });
      expect(
        [result.reportModelServing.__typename, result.reportModelServing.field ?? ""],
        JSON.stringify(over),
      ).toEqual([typename, field]);
    }
    // Infinity reaches the resolver as a Float literal (JSON cannot carry it).
    const infinite = await server.gql(`mutation { reportModelServing(input: {
      name: "usage-m", version: 2, environment: "prod-eu", windowStart: "${report().windowStart}", windowEnd: "${report().windowEnd}",
      requests: 1, errors: 0, latencyP50Ms: 1e999, latencyP99Ms: 1e999 }) { __typename ${errorSelection("reportModelServing")} } }`);
    expect(infinite.data?.reportModelServing).toMatchObject({
      __typename: "ValidationError",
      field: "latencyP50Ms",
    });
  });

  it("answers the usage of an environment of 64 characters, as reports and deployments accept it", async () => {
    const environment = `e${"x".repeat(63)}`;
    const applied = await ok(REPORT, { input: report({ environment, requests: 7, errors: 0, metrics: [] }) });
    expect(applied.reportModelServing.__typename).toBe("ReportModelServingPayload");
    const result = await ok(
      `query($from: DateTime!, $e: String) { modelVersion(name: "usage-m", version: 2) {
        usage(from: $from, granularity: HOUR, environment: $e) { totals { requests } } } }`,
      { from, e: environment },
    );
    expect(result.modelVersion.usage.totals.requests).toBe(7);
  });

  it("saturates counts added up past 2^53 - 1 instead of failing every usage query of the model", async () => {
    const created = await ok(`mutation {
      createRegisteredModel(input: { name: "usage-big" }) { ... on RegisteredModelPayload { registeredModel { modelId } } }
      createModelVersion(input: { name: "usage-big", source: "s3://b/1" }) { __typename } }`);
    const modelId: string = created.createRegisteredModel.registeredModel.modelId;
    // A report may say 10^12 requests and reports are not limited in number: about 9,008 of them in
    // one day pass 2^53 (confirmed through the API: 9,060 took 23 s). The store is given the sum at
    // once here; a real report on top of it goes through the API.
    const record = {
      batchId: null,
      modelId,
      version: 1,
      environment: "prod-eu",
      windowStart: new Date(Date.now() - 10 * 60_000),
      windowEnd: new Date(Date.now() - 5 * 60_000),
      requests: 6e15,
      errors: 6e15,
      latencyP50Ms: 1,
      latencyP99Ms: 2,
      metrics: [],
    };
    await applyServingReport(server.registro.db, record, new Date());
    await applyServingReport(server.registro.db, record, new Date());
    // In the same hour as the rows above.
    const onTop = report({
      name: "usage-big",
      version: 1,
      environment: "prod-us",
      windowStart: record.windowStart.toISOString(),
      windowEnd: record.windowEnd.toISOString(),
      requests: 1e12,
      errors: 1e12,
      latencyP50Ms: 1,
      latencyP99Ms: 2,
    });
    expect((await ok(REPORT, { input: onTop })).reportModelServing.__typename).toBe(
      "ReportModelServingPayload",
    );
    for (const g of ["HOUR", "DAY"]) {
      const result = await server.gql(
        `query($from: DateTime!, $g: UsageGranularity) {
          modelVersion(name: "usage-big", version: 1) { usage(from: $from, granularity: $g) {
            points { requests errors } totals { requests errors } } }
          registeredModel(name: "usage-big") { usage(from: $from, granularity: $g) { versions { requests errors } } } }`,
        { from, g },
      );
      expect(result.errors, g).toBeUndefined();
      const max = Number.MAX_SAFE_INTEGER;
      expect(result.data.modelVersion.usage.points).toEqual([{ requests: max, errors: max }]);
      expect(result.data.modelVersion.usage.totals).toEqual({ requests: max, errors: max });
      expect(result.data.registeredModel.usage.versions).toEqual([{ requests: max, errors: max }]);
    }
  });

  it("bounds the environments and metric names a model's reports use in a day", async () => {
    await ok(`mutation { createRegisteredModel(input: { name: "usage-labels" }) { __typename }
      createModelVersion(input: { name: "usage-labels", source: "s3://b/1" }) { __typename } }`);
    const windowStart = new Date(Date.now() - 10 * 60_000).toISOString();
    const windowEnd = new Date(Date.now() - 5 * 60_000).toISOString();
    const labelled = (environment: string, names: string[]) =>
      report({
        name: "usage-labels",
        version: 1,
        environment,
        windowStart,
        windowEnd,
        metrics: names.map((n) => ({ name: n, value: 1 })),
      });
    const names = (from: number) => Array.from({ length: 20 }, (_, i) => `m${from + i}`);
    const send = async (input: Record<string, unknown>) =>
      (await ok(REPORT, { input })).reportModelServing as { __typename: string; field?: string };
    // Fresh names in every report: each one made every usage answer of the model longer, without bound.
    for (let i = 0; i < 5; i++)
      expect((await send(labelled("prod", names(i * 20)))).__typename).toBe("ReportModelServingPayload");
    expect(await send(labelled("prod", [...names(0).slice(0, 19), "m-new"]))).toMatchObject({
      __typename: "ValidationError",
      field: "metrics.19.name",
    });
    expect((await send(labelled("prod", names(40)))).__typename).toBe("ReportModelServingPayload");
    const aliases = (from: number, count: number) =>
      Array.from(
        { length: count },
        (
          _,
          i,
        ) => `e${from + i}: reportModelServing(input: { name: "usage-labels", version: 1, environment: "env-${from + i}",
          windowStart: "${windowStart}", windowEnd: "${windowEnd}", requests: 0, errors: 0 }) { __typename }`,
      ).join("\n");
    // 99 environments besides "prod" make 100.
    for (let from = 0; from < 99; from += 30) {
      const batch = await ok(`mutation { ${aliases(from, Math.min(30, 99 - from))} }`);
      expect(Object.values(batch).every((r: any) => r.__typename === "ReportModelServingPayload")).toBe(true);
    }
    expect(await send(labelled("env-extra", []))).toMatchObject({
      __typename: "ValidationError",
      field: "environment",
    });
    expect((await send(labelled("env-0", []))).__typename).toBe("ReportModelServingPayload");
    const result = await ok(
      `query($from: DateTime!) { modelVersion(name: "usage-labels", version: 1) { usage(from: $from) { points { metrics { name } } } } }`,
      { from },
    );
    expect(result.modelVersion.usage.points[0].metrics).toHaveLength(100);
  });

  it("refuses usage ranges that are too long or reversed", async () => {
    const long = await server.gql(USAGE, {
      name: "usage-m",
      version: 1,
      from: "2020-01-01T00:00:00Z",
      g: "HOUR",
    });
    expect(long.errors?.[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "from" } });
    const reversed = await server.gql(
      `{ modelVersion(name: "usage-m", version: 1) { usage(from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z") { totals { downloads } } } }`,
    );
    expect(reversed.errors?.[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "to" } });
  });

  it("keeps usage, and the filters over it, through an online projection rebuild", async () => {
    const before = await usage();
    await rebuildProjections(server.registro.db, { connection: database.config });
    expect(await usage()).toEqual(before);
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const used = await ok(
      `query($since: DateTime!) { modelVersions(filter: { name: "usage-m", usedSince: $since, usage: DOWNLOADS }) { nodes { version } } }`,
      { since },
    );
    expect(used.modelVersions.nodes.map((v: any) => v.version).sort()).toEqual([1, 2]);
  });

  it("flushes pending counts when it stops, and counts nothing twice across restarts", async () => {
    const before = (await usage()).totals.downloads;
    await download("usage-m/1/model.bin");
    await download("usage-m/1/model.bin");
    expect(server.registro.usage.counter?.pendingKeys).toBe(1);
    await server.registro.close();
    server = await start(database, dataDir);
    expect((await usage()).totals.downloads).toBe(before + 2);
    await server.registro.close();
    server = await start(database, dataDir);
    expect((await usage()).totals.downloads).toBe(before + 2);
  });
});
