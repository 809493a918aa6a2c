// An artifact reads the same over both APIs: the JSON a PUT answers carries every field of the
// GraphQL `Artifact` type, under the same name, with the same value and shape (enums as their
// GraphQL values, dates as DateTime strings), plus `model` and `version`. The selection is built
// from the schema, so a field added to `Artifact` and not to the route's JSON fails here.
import { readFileSync } from "node:fs";
import path from "node:path";
import { getNamedType, isObjectType } from "graphql";
import type { GraphQLObjectType } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schema } from "../../src/graphql/schema.ts";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const FILES = path.resolve(import.meta.dirname, "../fixtures/inspection/files");

/** Every field of a type; object-typed fields with every (scalar) field of theirs. */
function selectionOf(type: GraphQLObjectType): string {
  return Object.values(type.getFields())
    .map((field) => {
      const named = getNamedType(field.type);
      return isObjectType(named) ? `${field.name} { ${selectionOf(named)} }` : field.name;
    })
    .join(" ");
}

describe.each(await providers())("the artifact's one representation on %s", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => server?.close());

  it.each([
    ["an inspected ONNX model with producer and findings", "model.onnx"],
    ["a pickle with findings", "eval_p1.pkl"],
  ])("answers a PUT with exactly the GraphQL Artifact: %s", async (_what, file) => {
    const name = `repr-${file}`;
    await server.gql(`mutation($n: String!) { createRegisteredModel(input: {name: $n}) { __typename } }`, {
      n: name,
    });
    await server.gql(
      `mutation($n: String!) { createModelVersion(input: {name: $n, source: "s3://b/x", pendingArtifacts: true}) { __typename } }`,
      { n: name },
    );
    const response = await fetch(`${server.url}/artifacts/${name}/1/dir/${file}`, {
      method: "PUT",
      body: new Uint8Array(readFileSync(path.join(FILES, file))),
    });
    expect(response.status).toBe(201);
    const rest = ((await response.json()) as { artifact: Record<string, unknown> }).artifact;

    const artifactType = schema.getType("Artifact") as GraphQLObjectType;
    const graphql = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 1) { artifacts { ${selectionOf(artifactType)} } } }`,
      { n: name },
    );
    expect(graphql.errors).toBeUndefined();
    const viaGraphql = graphql.data.modelVersion.artifacts[0] as Record<string, unknown>;
    const { model, version, ...fields } = rest;
    expect({ model, version }).toEqual({ model: name, version: 1 });
    expect(Object.keys(fields).sort()).toEqual(Object.keys(viaGraphql).sort());
    expect(fields).toEqual(viaGraphql);
  });
});
