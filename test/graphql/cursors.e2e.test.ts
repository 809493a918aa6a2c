// A connection's cursor is text the client sends back; Pothos decodes it into values of the list's
// cursor fields without checking their types. Whatever a client puts in one (a number where the
// field is text, text where it is an integer, a fraction, an integer past 32 bits, an object, a
// compound of the wrong shape, a cursor of another list, one issued before the list's cursor field
// changed), every connection answers a page or an INVALID_CURSOR error (VALIDATION for text no
// database can hold), never an internal one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const b64 = (text: string) => Buffer.from(text).toString("base64");

/** Every connection of the schema, each with `$after` as its cursor. */
const CONNECTIONS: Record<string, string> = {
  registeredModels: `registeredModels(after: $after) { nodes { name } }`,
  modelVersions: `modelVersions(after: $after) { nodes { version } }`,
  modelVersionsByMetric: `modelVersions(after: $after, orderBy: { metric: "auc", direction: DESC }) { nodes { version } }`,
  modelVersionsBackwards: `modelVersions(before: $after, last: 2) { nodes { version } }`,
  modelPages: `registeredModel(name: "cur") { versions(after: $after) { nodes { version } } }`,
  modelHistory: `registeredModel(name: "cur") { history(after: $after) { nodes { type } } }`,
  history: `history(name: "cur", after: $after) { nodes { type } }`,
  auditCheckpoints: `auditCheckpoints(after: $after) { nodes { position } }`,
  reviewRequests: `reviewRequests(after: $after) { nodes { id } }`,
  modelDeployments: `registeredModel(name: "cur") { deployments(after: $after) { nodes { environment } } }`,
  versionDeployments: `modelVersion(name: "cur", version: 1) { deployments(after: $after) { nodes { environment } } }`,
  versionComments: `modelVersion(name: "cur", version: 1) { comments(after: $after) { nodes { body } } }`,
};

const CURSORS = [
  "GPC:S:abc",
  "GPC:S:",
  "GPC:S:0b5f7c52-3f7e-4c7d-9d38-1f0e5b1b2a11:3",
  "GPC:N:1.5",
  "GPC:N:-1",
  "GPC:N:99999999999999",
  "GPC:N:1e400",
  "GPC:J:{}",
  "GPC:J:null",
  "GPC:J:[]",
  "GPC:J:[1,2]",
  'GPC:J:["a","b"]',
  'GPC:J:["a","b","c","d"]',
  'GPC:J:[{"a":1},[2]]',
  "GPC:B:12",
  "GPC:D:not-a-date",
  // Compound cursors of the wrong arity or types, decoded inside a nested list's query.
  'GPC:T:["S:a","N:1"]',
  'GPC:T:["S:\u0000","S:x"]',
  'GPC:T:["N:1","N:2","N:3"]',
  "nonsense",
];

describe.each(await providers())("cursors of every connection on %s", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider);
    for (const mutation of [
      `createRegisteredModel(input: { name: "cur" }) { __typename }`,
      `createModelVersion(input: { name: "cur", source: "s3://cur", metrics: [{ key: "auc", value: 0.9 }] }) { __typename }`,
      `createModelVersion(input: { name: "cur", source: "s3://cur" }) { __typename }`,
      `addModelVersionComment(input: { name: "cur", version: 1, body: "hi" }) { __typename }`,
      `recordModelVersionDeployment(input: { name: "cur", version: 1, environment: "prod", endpoint: "https://serve.example/cur" }) { __typename }`,
    ]) {
      const result = await server.gql(`mutation { ${mutation} }`);
      expect(result.errors, mutation).toBeUndefined();
    }
  });
  afterAll(async () => server?.close());

  it("pages with the cursors each list returns", async () => {
    for (const [name, field] of Object.entries(CONNECTIONS)) {
      const first = await server.gql(`query($after: String) { ${field} }`, { after: null });
      expect(first.errors, name).toBeUndefined();
    }
    // A real cursor of one list, sent to the others: a page or an INVALID_CURSOR error.
    const page = await server.gql(
      `{ registeredModel(name: "cur") { versions(first: 1) { pageInfo { endCursor } } } }`,
    );
    const cursor = page.data.registeredModel.versions.pageInfo.endCursor as string;
    const next = await server.gql(`query($after: String) { ${CONNECTIONS.modelPages} }`, { after: cursor });
    expect(next.errors).toBeUndefined();
    expect(next.data.registeredModel.versions.nodes).toEqual([{ version: 1 }]);
    for (const [name, field] of Object.entries(CONNECTIONS)) {
      const result = await server.gql(`query($after: String) { ${field} }`, { after: cursor });
      for (const error of result.errors ?? [])
        expect((error as { extensions?: { code?: string } }).extensions?.code, name).toBe("INVALID_CURSOR");
    }
  });

  it("answers a cursor of the wrong shape or type with a client error, never an internal one", async () => {
    for (const [name, field] of Object.entries(CONNECTIONS))
      for (const text of CURSORS) {
        const result = await server.gql(`query($after: String) { ${field} }`, { after: b64(text) });
        for (const error of result.errors ?? [])
          expect(
            (error as { extensions?: { code?: string } }).extensions?.code,
            `${name} after ${text}: ${error.message}`,
          ).toMatch(/^(VALIDATION|BAD_USER_INPUT|INVALID_CURSOR)$/);
      }
  });
});
