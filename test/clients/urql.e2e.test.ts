// urql with Graphcache, set up as docs/graphql.md shows (urqlSetup.ts), against a running
// Registro: queries over GET carrying the CSRF header, a typed error read through the normalized
// cache (and, as a control, lost without schema/possible-types.json), a promotion over graphql-ws
// updating what other queries read from the cache.
//
// Clients see the same GraphQL on every database, so this runs on SQLite only; the API's behaviour
// on both providers is covered by the GraphQL and subscription suites.
import { Client, fetchExchange, gql } from "@urql/core";
import type { OperationResult } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { eventually } from "../subscriptions/support.ts";
import * as documents from "./documents.ts";
import { recordingFetch, warningsDuring } from "./support.ts";
import { createRegistroClient } from "./urqlSetup.ts";

const CREATE_MODEL = gql(documents.CREATE_MODEL);

const CREATE_VERSION = gql(documents.createVersion("s3://models/urql"));

const NODES = gql(documents.NODES);

const STAGE_CHANGED = gql(documents.STAGE_CHANGED);

const PROMOTE = gql(documents.PROMOTE);

const heuristic = (warnings: string[]) => warnings.filter((w) => w.startsWith("Heuristic Fragment Matching"));

/**
 * Runs an operation of a client given possibleTypes, checking that Graphcache never had to guess a
 * fragment's type. (In development it also notes the `... on Error` fields a payload lacks when it
 * writes one: those notes are expected, and kept out of the output.)
 */
async function certain<T>(operation: () => Promise<T>): Promise<T> {
  const [result, warnings] = await warningsDuring(operation);
  expect(heuristic(warnings)).toEqual([]);
  return result;
}

describe("urql against Registro", () => {
  let server: TestServer;
  let n = 0;
  const uniqueName = (prefix: string) => `${prefix}-${++n}`;
  beforeAll(async () => {
    server = await startTestServer("sqlite");
  });
  afterAll(async () => server?.close());

  const client = (fetch?: typeof globalThis.fetch) =>
    createRegistroClient({ url: server.graphqlUrl, webSocketImpl: WebSocket, ...(fetch ? { fetch } : {}) });

  /** Creates a model and its first version through `urql`, returning their ids. */
  async function modelWithVersion(urql: Client, name: string) {
    const model = await certain(() => urql.mutation(CREATE_MODEL, { name }).toPromise());
    const version = await certain(() => urql.mutation(CREATE_VERSION, { name }).toPromise());
    expect([model.error, version.error]).toEqual([undefined, undefined]);
    return {
      modelId: model.data.createRegisteredModel.registeredModel.id as string,
      versionId: version.data.createModelVersion.modelVersion.id as string,
    };
  }

  it("sends queries as GET with the CSRF header, mutations as POST; without the header GET is refused", async () => {
    const name = uniqueName("get");
    const wire = recordingFetch();
    const urql = client(wire.fetch);
    const { modelId, versionId } = await modelWithVersion(urql, name);
    const result = await certain(() => urql.query(NODES, { ids: [modelId, versionId] }).toPromise());
    expect(result.error).toBeUndefined();
    expect(result.data).toEqual({
      nodes: [
        { __typename: "RegisteredModel", id: modelId, name },
        { __typename: "ModelVersion", id: versionId, version: 1, stage: "NONE" },
      ],
    });
    expect(wire.exchanges.map((e) => [e.method, e.status, e.headers.get("x-registro-csrf")])).toEqual([
      ["POST", 200, "1"],
      ["POST", 200, "1"],
      ["GET", 200, "1"],
    ]);

    // urql's defaults alone: the same query as GET, without the header.
    const plain = new Client({ url: server.graphqlUrl, exchanges: [fetchExchange] });
    const refused = await plain.query(NODES, { ids: [modelId] }).toPromise();
    expect(refused.data).toBeUndefined();
    expect(refused.error?.graphQLErrors.map((e) => e.extensions.code)).toEqual(["CSRF_HEADER_REQUIRED"]);
  });

  it("keeps a typed error's `... on Error` fields through Graphcache; without possibleTypes they are dropped", async () => {
    const name = uniqueName("dup");
    const urql = client();
    await modelWithVersion(urql, name);
    const duplicate = await certain(() => urql.mutation(CREATE_MODEL, { name }).toPromise());
    const typedError = {
      createRegisteredModel: {
        __typename: "AlreadyExistsError",
        code: "ALREADY_EXISTS",
        message: expect.stringContaining(name),
      },
    };
    expect(duplicate.error).toBeUndefined();
    expect(duplicate.data).toEqual(typedError);

    // Control: the server answers the same fields; Graphcache guessing without possibleTypes loses them.
    const wire = recordingFetch();
    const bare = new Client({
      url: server.graphqlUrl,
      fetch: wire.fetch,
      exchanges: [cacheExchange({}), fetchExchange],
    });
    const [lost, guessed] = await warningsDuring(() => bare.mutation(CREATE_MODEL, { name }).toPromise());
    expect(wire.exchanges.map((e) => e.answer)).toEqual([{ data: typedError }]);
    expect(lost.data).toEqual({ createRegisteredModel: { __typename: "AlreadyExistsError" } });
    expect(heuristic(guessed)).toContainEqual(expect.stringContaining("the type condition is `Error`"));
  });

  it("receives a promotion over graphql-ws and updates the version other queries read from the cache", async () => {
    const name = uniqueName("promo");
    const urql = client();
    const { versionId } = await modelWithVersion(urql, name);
    const cached = () => urql.query(NODES, { ids: [versionId] }, { requestPolicy: "cache-only" }).toPromise();
    await urql.query(NODES, { ids: [versionId] }).toPromise();
    expect((await cached()).data.nodes).toEqual([
      { __typename: "ModelVersion", id: versionId, version: 1, stage: "NONE" },
    ]);

    const hub = server.registro.liveEvents.hub;
    const before = hub.subscriberCount;
    const received: OperationResult[] = [];
    const subscription = urql
      .subscription(STAGE_CHANGED, { name })
      .subscribe((result) => void received.push(result));
    try {
      await eventually(() => hub.subscriberCount > before, 10_000, "the subscription to start");
      const promoted = await certain(() => urql.mutation(PROMOTE, { name, version: 1 }).toPromise());
      expect(promoted.data).toEqual({ transitionModelVersionStage: { __typename: "ModelVersionPayload" } });
      await eventually(() => received.length > 0, 10_000, "the promotion");
    } finally {
      subscription.unsubscribe();
    }
    expect(received.map((r) => [r.error, r.data])).toEqual([
      [
        undefined,
        {
          // Graphcache answers the selection as written: the __typename it adds for itself stays out.
          modelVersionStageChanged: {
            version: 1,
            previousStage: "NONE",
            stage: "PRODUCTION",
            modelVersion: { id: versionId, stage: "PRODUCTION" },
          },
        },
      ],
    ]);
    expect((await cached()).data.nodes).toEqual([
      { __typename: "ModelVersion", id: versionId, version: 1, stage: "PRODUCTION" },
    ]);
    await eventually(() => hub.subscriberCount === before, 10_000, "the subscription to end");
  });
});
