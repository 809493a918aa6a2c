// Issue #9 benchmark: what authentication and per-model permissions cost. Two Registro servers on
// SQLite run side by side in the same run, on identical data:
//
//   A  AUTH=local, no credentials: the local administrator, who reads and manages every model
//      without any filter (the cheapest caller there is).
//   B  AUTH=required with DEFAULT_MODEL_PERMISSION=NONE (private models), called with the API token
//      of a MEMBER service account: every request verifies the token (a lookup by hash, with the
//      principal's team memberships), every read goes through the caller-scoped reader that filters
//      by grants, and every command checks the model's grants.
//
// Both hold 303 models `m-000`…`m-302` (3 versions each, version 2 in Staging) plus a `throughput`
// model. B's principal holds EDIT grants on every third model (101 of them: 50 directly, 25 through
// one team and 26 through the other) and directly on `throughput`: 102 grants. A lists m-000…m-099,
// B the first 100 models it holds a grant on; both get 100 models of the same shape, and B's query
// also filters 303 models down to its grants. The list fetches one row more than it returns (to
// know whether there is a next page) and loads every version of every fetched row (`latestVersions`
// picks one per stage after loading), so `throughput`, whose versions grow during the run, is kept
// out of both lists' 101 rows.
//
// Measured in alternating rounds (A first in even rounds, B first in odd ones, as bench/core.ts does
// with its baseline): createModelVersion throughput with 8 clients on `throughput`, and the p50 / p99
// latency of one client listing 100 models with their latest versions.
import { mkdtempSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { closedLoop, combine, compare, percentile, postJson, round, spawnServer } from "./support.ts";
import type { ChildServer, Figure, LoadResult } from "./support.ts";

const MODELS = 303;
const VERSIONS_PER_MODEL = 3;
/** Every third model is granted to B's principal: 101 of the 303. */
const granted = (i: number) => i % 3 === 0;
const modelName = (i: number) => `m-${String(i).padStart(3, "0")}`;

const LIST = `{ registeredModels(first: 100) { nodes { name latestVersions { version stage } } } }`;
const CREATE_VERSION = `mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { __typename ... on ModelVersionPayload { modelVersion { version } } }
}`;

type Headers = Record<string, string>;

/** Runs one GraphQL operation and returns `data`, failing loudly on anything unexpected. */
async function graphql(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Headers = {},
): Promise<Record<string, unknown>> {
  const { status, text } = await postJson(`${url}/graphql`, { query, variables }, headers);
  const body = JSON.parse(text) as { data?: Record<string, unknown>; errors?: unknown };
  if (status !== 200 || body.errors !== undefined || body.data === undefined)
    throw new Error(`GraphQL request failed: ${status} ${text}`);
  return body.data;
}

/** A mutation whose result union must be `typename`; returns that result object. */
async function mutate(
  url: string,
  field: string,
  input: Record<string, unknown>,
  typename: string,
  selection: string,
  headers: Headers = {},
): Promise<Record<string, unknown>> {
  const data = await graphql(
    url,
    `mutation($input: ${field.charAt(0).toUpperCase()}${field.slice(1)}Input!) {
      result: ${field}(input: $input) { __typename ... on ${typename} { ${selection} } }
    }`,
    { input },
    headers,
  );
  const result = data.result as Record<string, unknown>;
  if (result.__typename !== typename)
    throw new Error(`${field} returned ${JSON.stringify(result)}, expected ${typename}`);
  return result;
}

/** Runs `work` for 0..count-1 with `concurrency` workers. */
async function inParallel(count: number, concurrency: number, work: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/**
 * Fills a database through a local-mode server (the local administrator creates everything) and
 * returns the secret of B's principal's token. Run on both data directories so A and B hold the
 * same data.
 */
async function populate(url: string): Promise<string> {
  const member = await mutate(
    url,
    "createServiceAccount",
    { displayName: "bench member", role: "MEMBER" },
    "PrincipalPayload",
    "principal { id }",
  );
  const principalId = (member.principal as { id: string }).id;
  const teamIds: string[] = [];
  for (const name of ["bench-team-a", "bench-team-b"]) {
    const team = await mutate(url, "createTeam", { name }, "TeamPayload", "team { id }");
    const teamId = (team.team as { id: string }).id;
    await mutate(url, "addTeamMember", { teamId, principalId }, "TeamPayload", "team { id }");
    teamIds.push(teamId);
  }
  const token = await mutate(
    url,
    "createApiToken",
    { principalId, name: "bench", scopes: ["READ", "WRITE"] },
    "CreateApiTokenPayload",
    "secret",
  );
  const grant = (name: string, grantee: { principalId: string } | { teamId: string }) =>
    mutate(
      url,
      "grantModelPermission",
      { name, ...grantee, permission: "EDIT" },
      "RegisteredModelPayload",
      "registeredModel { name }",
    );
  const createModel = (name: string) =>
    mutate(url, "createRegisteredModel", { name }, "RegisteredModelPayload", "registeredModel { name }");

  await inParallel(MODELS, 8, async (i) => {
    const name = modelName(i);
    await createModel(name);
    for (let v = 0; v < VERSIONS_PER_MODEL; v++)
      await mutate(
        url,
        "createModelVersion",
        { name, source: `s3://bench/${name}/${v + 1}` },
        "ModelVersionPayload",
        "modelVersion { version }",
      );
    await mutate(
      url,
      "transitionModelVersionStage",
      { name, version: 2, stage: "STAGING" },
      "ModelVersionPayload",
      "modelVersion { version }",
    );
    if (!granted(i)) return;
    const k = i / 3;
    await grant(name, k < 50 ? { principalId } : { teamId: teamIds[k < 75 ? 0 : 1]! });
  });
  await createModel("throughput");
  await grant("throughput", { principalId });
  return token.secret as string;
}

/** Both servers must be set up as described above, or the figures would measure something else. */
async function checkSetup(a: ChildServer, b: ChildServer, headers: Headers): Promise<void> {
  const listed = async (url: string, h: Headers) => {
    const data = await graphql(url, LIST, {}, h);
    return (data.registeredModels as { nodes: { name: string; latestVersions: unknown[] }[] }).nodes;
  };
  const expected = (names: string[]) => (nodes: { name: string; latestVersions: unknown[] }[]) =>
    nodes.length === names.length &&
    nodes.every((n, i) => n.name === names[i] && n.latestVersions.length === 2);
  const firstHundred = Array.from({ length: 100 }, (_, i) => modelName(i));
  const grantedHundred = Array.from({ length: MODELS }, (_, i) => i)
    .filter(granted)
    .slice(0, 100)
    .map(modelName);
  if (!expected(firstHundred)(await listed(a.url, {})))
    throw new Error("A does not list m-000..m-099 with 2 latest versions each");
  if (!expected(grantedHundred)(await listed(b.url, headers)))
    throw new Error("B does not list exactly its 100 granted models with 2 latest versions each");
  const anonymous = await postJson(`${b.url}/graphql`, { query: LIST });
  if (anonymous.status !== 401)
    throw new Error(`B answered a request without a token with ${anonymous.status}`);
  const hidden = await graphql(
    b.url,
    `
      {
        registeredModel(name: "m-001") {
          name
        }
      }
    `,
    {},
    headers,
  );
  if (hidden.registeredModel !== null) throw new Error("B's principal can read a model it holds no grant on");
}

async function createVersion(url: string, headers: Headers): Promise<void> {
  const { status, text } = await postJson(
    `${url}/graphql`,
    { query: CREATE_VERSION, variables: { input: { name: "throughput", source: "s3://bench/model" } } },
    headers,
  );
  if (status !== 200 || !text.includes("ModelVersionPayload"))
    throw new Error(`createModelVersion failed: ${status} ${text}`);
}

async function list(url: string, headers: Headers): Promise<void> {
  const { status, text } = await postJson(`${url}/graphql`, { query: LIST }, headers);
  if (status !== 200 || !text.includes('"registeredModels"'))
    throw new Error(`list failed: ${status} ${text}`);
}

/** Back-to-back requests from one client for `seconds`; returns each one's latency in ms. */
async function sampleLatencies(seconds: number, send: () => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    await send();
    latencies.push(performance.now() - t0);
  }
  return latencies;
}

const mean = (values: readonly number[]) => values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);

const latencyFigure = (sorted: readonly number[], p: number, loads: readonly number[]): Figure => ({
  value: round(percentile(sorted, p)),
  unit: "ms",
  loadAverage1m: round(mean(loads)),
});

type Side = "local" | "required";

/** Alternates the sides round by round: A first in even rounds, B first in odd ones. */
function* alternating(rounds: number): Generator<Side> {
  for (let i = 0; i < rounds; i++)
    yield* i % 2 === 0 ? (["local", "required"] as const) : (["required", "local"] as const);
}

export async function benchAccess(
  options: { seconds?: number; concurrency?: number; rounds?: number; listSeconds?: number } = {},
) {
  const seconds = options.seconds ?? 16;
  const listSeconds = options.listSeconds ?? 16;
  const concurrency = options.concurrency ?? 8;
  // Many short rounds: a burst of background load spans several of them, on both sides alike.
  const rounds = options.rounds ?? 8;
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-access-"));
  const dataDir = { local: path.join(dir, "local"), required: path.join(dir, "required") };
  const servers: ChildServer[] = [];
  try {
    const setup = await Promise.all([
      spawnServer("src/main.ts", { DATA_DIR: dataDir.local, AUTH: "local" }),
      spawnServer("src/main.ts", { DATA_DIR: dataDir.required, AUTH: "local" }),
    ]);
    servers.push(...setup);
    const [, secret] = await Promise.all(setup.map((s) => populate(s.url)));
    await Promise.all(setup.map((s) => s.stop()));
    servers.length = 0;

    const a = await spawnServer("src/main.ts", { DATA_DIR: dataDir.local, AUTH: "local" });
    servers.push(a);
    const b = await spawnServer("src/main.ts", {
      DATA_DIR: dataDir.required,
      AUTH: "required",
      DEFAULT_MODEL_PERMISSION: "NONE",
    });
    servers.push(b);
    const headers: Record<Side, Headers> = {
      local: {},
      required: { authorization: `Bearer ${secret!}` },
    };
    const url: Record<Side, string> = { local: a.url, required: b.url };
    await checkSetup(a, b, headers.required);

    const send = (side: Side) => () => createVersion(url[side], headers[side]);
    for (const side of ["local", "required"] as const) {
      await closedLoop(concurrency, 3, send(side)); // warm-up
      await sampleLatencies(2, () => list(url[side], headers[side]));
    }

    const throughputRounds: Record<Side, LoadResult[]> = { local: [], required: [] };
    const throughputLoads: Record<Side, number[]> = { local: [], required: [] };
    for (const side of alternating(rounds)) {
      throughputRounds[side].push(await closedLoop(concurrency, seconds / rounds, send(side)));
      throughputLoads[side].push(os.loadavg()[0] ?? 0);
    }

    const listLatencies: Record<Side, number[]> = { local: [], required: [] };
    const listLoads: Record<Side, number[]> = { local: [], required: [] };
    for (const side of alternating(rounds)) {
      listLatencies[side].push(
        ...(await sampleLatencies(listSeconds / rounds, () => list(url[side], headers[side]))),
      );
      listLoads[side].push(os.loadavg()[0] ?? 0);
    }

    const throughput = (side: Side) =>
      combine(
        throughputRounds[side].map((r, i) => ({
          work: r.requests,
          seconds: r.seconds,
          load: throughputLoads[side][i] ?? 0,
        })),
        "versions/s",
      );
    const sorted = (side: Side) => [...listLatencies[side]].sort((x, y) => x - y);
    const perRound = (side: Side) =>
      throughputRounds[side].map((r, i) => ({
        perSecond: round(r.throughput, 1),
        p50Ms: round(r.p50Ms),
        p99Ms: round(r.p99Ms),
        loadAverage1m: round(throughputLoads[side][i] ?? 0),
      }));
    return {
      concurrency,
      seconds,
      listSeconds,
      rounds,
      // Every ratio is B (required) / A (local).
      throughput: compare(throughput("required"), throughput("local")),
      listP50: compare(
        latencyFigure(sorted("required"), 50, listLoads.required),
        latencyFigure(sorted("local"), 50, listLoads.local),
      ),
      listP99: compare(
        latencyFigure(sorted("required"), 99, listLoads.required),
        latencyFigure(sorted("local"), 99, listLoads.local),
      ),
      listSamples: { local: listLatencies.local.length, required: listLatencies.required.length },
      requiredRounds: perRound("required"),
      localRounds: perRound("local"),
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchAccess(), null, 2));
}
