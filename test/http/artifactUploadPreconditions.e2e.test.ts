// If-Match and If-None-Match on a PUT to Registro's artifact route (`/artifacts/{model}/{version}/
// {path}`), RFC 9110 §13.1.1-2: checked against the artifact at the path before the body is read.
// With no artifact there If-Match (even `*`) fails with 412 and nothing is stored; with one there
// If-None-Match `*` (or its ETag) fails with 412. A request the version could not take anyway keeps
// its own answer (404, 409). MLflow's artifact proxy does the same for its files
// (test/mlflow/artifactProxy.e2e.test.ts). SQLite only.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

let server: TestServer;
let models = 0;
beforeAll(async () => {
  server = await startTestServer("sqlite");
});
afterAll(async () => server?.close());

const etag = (text: string) => `"${createHash("sha256").update(text).digest("hex")}"`;

async function pendingVersion(): Promise<string> {
  const name = `preconditions ${++models}`;
  await server.gql(`mutation($n: String!) { createRegisteredModel(input: { name: $n }) { __typename } }`, {
    n: name,
  });
  const created = await server.gql(
    `mutation($n: String!) { createModelVersion(input: { name: $n, source: "s3://b/x", pendingArtifacts: true }) { __typename } }`,
    { n: name },
  );
  expect(created.data?.createModelVersion.__typename).toBe("ModelVersionPayload");
  return name;
}

const url = (name: string, path: string, version = 1) =>
  `${server.url}/artifacts/${encodeURIComponent(name)}/${version}/${path}`;

async function put(name: string, path: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url(name, path), { method: "PUT", body, headers });
  return { status: response.status, body: (await response.json()) as { error?: { code: string } } };
}

describe("a PUT's preconditions on Registro's artifact route", () => {
  it("fails If-Match (any value, `*` too) where no artifact is, and stores nothing", async () => {
    const name = await pendingVersion();
    for (const ifMatch of ["*", etag("x"), `"a", ${etag("x")}`, ""]) {
      const refused = await put(name, "model.bin", "x", { "if-match": ifMatch });
      expect({ ifMatch, ...refused }).toMatchObject({
        ifMatch,
        status: 412,
        body: { error: { code: "PRECONDITION_FAILED", message: expect.stringContaining("If-Match") } },
      });
    }
    expect((await fetch(url(name, "model.bin"))).status).toBe(404);
    // If-None-Match: * holds where nothing is: the artifact is created.
    expect((await put(name, "model.bin", "x", { "if-none-match": "*" })).status).toBe(201);
    expect(await (await fetch(url(name, "model.bin"))).text()).toBe("x");
  });

  it("fails If-None-Match `*` (or naming its ETag) and If-Match naming another where an artifact is", async () => {
    const name = await pendingVersion();
    expect((await put(name, "config.json", "{}")).status).toBe(201);
    for (const headers of [
      { "if-none-match": "*" } as Record<string, string>,
      { "if-none-match": `"a", W/${etag("{}")}` },
      { "if-match": etag("other") },
      { "if-match": `W/${etag("{}")}` },
    ])
      expect({ headers, ...(await put(name, "config.json", "{}", headers)) }).toMatchObject({
        headers,
        status: 412,
        body: { error: { code: "PRECONDITION_FAILED" } },
      });
    // Conditions that hold leave the usual answer: an artifact is never replaced (409).
    for (const headers of [
      { "if-match": etag("{}") } as Record<string, string>,
      { "if-match": "*" },
      { "if-none-match": etag("x") },
    ])
      expect((await put(name, "config.json", "{}", headers)).body).toMatchObject({
        error: { code: "ALREADY_EXISTS" },
      });
  });

  it("keeps the answer of a request the version could not take anyway", async () => {
    const name = await pendingVersion();
    const missing = await fetch(url(name, "a.bin", 2), {
      method: "PUT",
      body: "x",
      headers: { "if-match": "*" },
    });
    expect(missing.status).toBe(404);
    const absent = await fetch(url("no such model", "a.bin"), {
      method: "PUT",
      body: "x",
      headers: { "if-match": "*" },
    });
    expect(absent.status).toBe(404);
  });
});
