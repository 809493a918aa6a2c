// Apollo Client 4, set up as docs/graphql.md shows (apolloSetup.ts), against a running Registro:
// typed errors and Node fragments read back through the normalized cache (and, as a control, lost
// without schema/possible-types.json), a promotion received over graphql-ws and merged into the
// cache, and automatic persisted queries over POST and GET.
//
// Clients see the same GraphQL on every database, so this runs on SQLite only; the API's behaviour
// on both providers is covered by the GraphQL and subscription suites.
import { createHash } from "node:crypto";
import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { firstValueFrom } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { eventually } from "../subscriptions/support.ts";
import { createRegistroClient } from "./apolloSetup.ts";
import * as documents from "./documents.ts";
import { recordingFetch, warningsDuring } from "./support.ts";

const CREATE_MODEL = gql(documents.CREATE_MODEL);

const CREATE_VERSION = gql(documents.createVersion("s3://models/apollo"));

const NODES = gql(documents.NODES);

const STAGE_CHANGED = gql(documents.STAGE_CHANGED);

const TRANSITION = gql(documents.PROMOTE);

const MODEL_NAMES = gql`
  query ModelNames {
    registeredModels(first: 10) {
      nodes {
        id
        name
      }
    }
  }
`;

const VERSION_FIELDS = gql`
  fragment VersionFields on ModelVersion {
    version
    stage
  }
`;

/** The normalized ModelVersion entity in the client's cache. */
const cachedVersion = (apollo: ApolloClient, id: string) =>
  apollo.cache.readFragment({
    id: apollo.cache.identify({ __typename: "ModelVersion", id }),
    fragment: VERSION_FIELDS,
  });

/** The control: a plain HTTP client whose cache was not given possibleTypes. */
function clientWithoutPossibleTypes(url: string, fetch: typeof globalThis.fetch) {
  return new ApolloClient({ link: new HttpLink({ uri: url, fetch }), cache: new InMemoryCache() });
}

describe("Apollo Client against Registro", () => {
  let server: TestServer;
  let n = 0;
  const uniqueName = (prefix: string) => `${prefix}-${++n}`;
  beforeAll(async () => {
    server = await startTestServer("sqlite");
  });
  afterAll(async () => server?.close());

  const client = (fetch?: typeof globalThis.fetch) =>
    createRegistroClient({ url: server.graphqlUrl, webSocketImpl: WebSocket, ...(fetch ? { fetch } : {}) });

  it("reads a typed error's `... on Error` fields through the cache; without possibleTypes they are dropped", async () => {
    const name = uniqueName("dup");
    const apollo = client();
    const created = await apollo.mutate({ mutation: CREATE_MODEL, variables: { name } });
    expect(created.data).toEqual({
      createRegisteredModel: {
        __typename: "RegisteredModelPayload",
        registeredModel: { __typename: "RegisteredModel", id: expect.any(String), name },
      },
    });

    // Apollo writes a mutation's answer to the cache and returns it (and hands it to `update`) as
    // read back from there: this is the typed error as the normalized cache holds it.
    const seenByUpdate: unknown[] = [];
    const duplicate = await apollo.mutate({
      mutation: CREATE_MODEL,
      variables: { name },
      update: (_cache, { data }) => void seenByUpdate.push(data),
    });
    const typedError = {
      createRegisteredModel: {
        __typename: "AlreadyExistsError",
        code: "ALREADY_EXISTS",
        message: expect.stringContaining(name),
      },
    };
    expect(duplicate.data).toEqual(typedError);
    expect(seenByUpdate).toEqual([typedError]);

    // Control: the server sends the same fields, and a cache without possibleTypes loses them.
    const wire = recordingFetch();
    const bare = clientWithoutPossibleTypes(server.graphqlUrl, wire.fetch);
    const lost: unknown[] = [];
    const [withoutTypes, warnings] = await warningsDuring(() =>
      bare.mutate({
        mutation: CREATE_MODEL,
        variables: { name },
        update: (_cache, { data }) => void lost.push(data),
      }),
    );
    expect(warnings).toContainEqual(
      expect.stringContaining("Cannot match inline fragment on `Error` against `AlreadyExistsError`"),
    );
    expect(wire.exchanges.map((e) => e.answer)).toEqual([{ data: typedError }]);
    expect(withoutTypes.data).toEqual({ createRegisteredModel: { __typename: "AlreadyExistsError" } });
    expect(lost).toEqual([{ createRegisteredModel: { __typename: "AlreadyExistsError" } }]);
  });

  it("queries interfaces with `... on Node` fragments and normalizes the nodes by id", async () => {
    const name = uniqueName("nodes");
    const apollo = client();
    const model = await apollo.mutate({ mutation: CREATE_MODEL, variables: { name } });
    const version = await apollo.mutate({ mutation: CREATE_VERSION, variables: { name } });
    const modelId: string = (model.data as any).createRegisteredModel.registeredModel.id;
    const versionId: string = (version.data as any).createModelVersion.modelVersion.id;

    const { data } = await apollo.query({ query: NODES, variables: { ids: [modelId, versionId] } });
    expect(data).toEqual({
      nodes: [
        { __typename: "RegisteredModel", id: modelId, name },
        { __typename: "ModelVersion", id: versionId, version: 1, stage: "NONE" },
      ],
    });
    // Normalized by `__typename:id`, which needs the id the `... on Node` fragment selected.
    expect(cachedVersion(apollo, versionId)).toEqual({
      __typename: "ModelVersion",
      version: 1,
      stage: "NONE",
    });

    const bare = clientWithoutPossibleTypes(server.graphqlUrl, fetch);
    const [control, warnings] = await warningsDuring(() =>
      bare.query({ query: NODES, variables: { ids: [modelId, versionId] } }),
    );
    expect(warnings).toContainEqual(
      expect.stringContaining("Cannot match inline fragment on `Node` against `ModelVersion`"),
    );
    expect(control.data).toEqual({
      nodes: [
        { __typename: "RegisteredModel", name },
        { __typename: "ModelVersion", version: 1, stage: "NONE" },
      ],
    });
  });

  it("receives a promotion over graphql-ws and merges it into the cached version", async () => {
    const name = uniqueName("promo");
    const apollo = client();
    await apollo.mutate({ mutation: CREATE_MODEL, variables: { name } });
    const version = await apollo.mutate({ mutation: CREATE_VERSION, variables: { name } });
    const versionId: string = (version.data as any).createModelVersion.modelVersion.id;

    expect(cachedVersion(apollo, versionId)).toMatchObject({ stage: "NONE" });

    const hub = server.registro.liveEvents.hub;
    const before = hub.subscriberCount;
    const received = firstValueFrom(apollo.subscribe({ query: STAGE_CHANGED, variables: { name } }));
    await eventually(() => hub.subscriberCount > before, 10_000, "the subscription to start");
    const promoted = await apollo.mutate({ mutation: TRANSITION, variables: { name, version: 1 } });
    expect(promoted.data).toEqual({
      transitionModelVersionStage: { __typename: "ModelVersionPayload" },
    });

    const { data, error } = await received;
    expect(error).toBeUndefined();
    expect(data).toEqual({
      modelVersionStageChanged: {
        __typename: "ModelVersionStageChange",
        version: 1,
        previousStage: "NONE",
        stage: "PRODUCTION",
        modelVersion: { __typename: "ModelVersion", id: versionId, stage: "PRODUCTION" },
      },
    });
    expect(cachedVersion(apollo, versionId)).toMatchObject({ stage: "PRODUCTION" });
    await eventually(() => hub.subscriberCount === before, 10_000, "the subscription to end");
  });

  it("sends automatic persisted queries: the hash, the document once when asked, then the hash alone", async () => {
    const name = uniqueName("apq");
    await server.gql(`mutation { createRegisteredModel(input: { name: "${name}" }) { __typename } }`);
    const wire = recordingFetch();
    const apollo = client(wire.fetch);
    const first = await apollo.query({ query: MODEL_NAMES, fetchPolicy: "network-only" });
    const again = await apollo.query({ query: MODEL_NAMES, fetchPolicy: "network-only" });
    expect(again.data).toEqual(first.data);
    expect((first.data as any).registeredModels.nodes).toContainEqual(expect.objectContaining({ name }));

    const hash = wire.exchanges[0]!.body.extensions.persistedQuery.sha256Hash;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(
      wire.exchanges.map((e) => ({
        hash: e.body.extensions.persistedQuery.sha256Hash,
        query: "query" in e.body,
        status: e.status,
        code: e.answer.errors?.[0]?.extensions?.code,
      })),
    ).toEqual([
      { hash, query: false, status: 404, code: "PERSISTED_QUERY_NOT_FOUND" },
      { hash, query: true, status: 200, code: undefined },
      { hash, query: false, status: 200, code: undefined },
    ]);
    // The hash is of the text sent (Apollo adds __typename to the document), as the protocol requires.
    expect(createHash("sha256").update(wire.exchanges[1]!.body.query).digest("hex")).toBe(hash);

    // Hashed queries over GET (cacheable by a CDN), with the header GET needs against CSRF.
    const get = recordingFetch();
    const overGet = new ApolloClient({
      link: ApolloLink.from([
        new PersistedQueryLink({
          sha256: (text) => createHash("sha256").update(text).digest("hex"),
          useGETForHashedQueries: true,
        }),
        new HttpLink({ uri: server.graphqlUrl, fetch: get.fetch, headers: { "x-registro-csrf": "1" } }),
      ]),
      cache: new InMemoryCache(),
    });
    const viaGet = await overGet.query({ query: MODEL_NAMES });
    expect(viaGet.data).toEqual(first.data);
    expect(get.exchanges).toHaveLength(1);
    const [request] = get.exchanges;
    expect(request!.method).toBe("GET");
    expect(request!.status).toBe(200);
    const sent = new URL(request!.url).searchParams;
    expect(sent.has("query")).toBe(false);
    expect(JSON.parse(sent.get("extensions")!).persistedQuery.sha256Hash).toBe(hash);
  });
});
