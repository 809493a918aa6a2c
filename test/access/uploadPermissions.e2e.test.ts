// Bytes reach the blob store only for callers who may write to the model: a PUT or a GraphQL
// multipart part for a model the caller may only read is refused with PermissionDenied (403 on the
// route), one for a model it may not read exactly as for a missing model, and in both cases
// nothing is stored. An EDIT grantee uploads normally.
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe.each(await providers())("upload permissions on %s", (provider) => {
  let server: TestServer;
  let readerToken: string;
  let editorToken: string;
  let readerId: string;
  let editorId: string;

  async function admin(query: string, variables: Record<string, unknown> = {}) {
    const result = await server.gql(query, variables);
    expect(result.errors).toBeUndefined();
    return result.data;
  }

  async function account(name: string) {
    const created = await admin(
      `mutation($n: String!) { createServiceAccount(input: {displayName: $n}) { ... on PrincipalPayload { principal { id } } } }`,
      { n: name },
    );
    const id = created.createServiceAccount.principal.id as string;
    const token = await admin(
      `mutation($id: ID!) { createApiToken(input: {principalId: $id, name: "t", scopes: [READ, WRITE]}) { ... on CreateApiTokenPayload { secret } } }`,
      { id },
    );
    return { id, secret: token.createApiToken.secret as string };
  }

  async function pendingModel(name: string) {
    await admin(`mutation($n: String!) { createRegisteredModel(input: {name: $n}) { __typename } }`, {
      n: name,
    });
    await admin(
      `mutation($n: String!) { createModelVersion(input: {name: $n, source: "s3://b/x", pendingArtifacts: true}) { __typename } }`,
      { n: name },
    );
  }

  async function grant(name: string, principalId: string, permission: string) {
    const result = await admin(
      `mutation($n: String!, $p: ID!, $perm: ModelPermission!) { grantModelPermission(input: {name: $n, principalId: $p, permission: $perm}) { __typename } }`,
      { n: name, p: principalId, perm: permission },
    );
    expect(result.grantModelPermission.__typename).toBe("RegisteredModelPayload");
  }

  async function blobCount() {
    let count = 0;
    for await (const _ of server.registro.blobs.list()) count++;
    return count;
  }

  const put = (name: string, path: string, data: Buffer, token: string) =>
    fetch(`${server.url}/artifacts/${encodeURIComponent(name)}/1/${path}`, {
      method: "PUT",
      body: new Uint8Array(data),
      headers: { authorization: `Bearer ${token}` },
    });

  const UPLOAD = `mutation($input: UploadModelVersionArtifactInput!) { uploadModelVersionArtifact(input: $input) {
    __typename ... on Error { code message } ... on PermissionDeniedError { needed } ... on NotFoundError { resource key } } }`;

  async function multipart(name: string, data: Buffer, token: string) {
    const form = new FormData();
    form.set(
      "operations",
      JSON.stringify({
        query: UPLOAD,
        variables: { input: { name, version: 1, path: "m.bin", file: null } },
      }),
    );
    form.set("map", JSON.stringify({ 0: ["variables.input.file"] }));
    form.set("0", new Blob([new Uint8Array(data)]), "m.bin");
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      body: form,
      headers: { "x-registro-csrf": "1", authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { data: { uploadModelVersionArtifact: Record<string, unknown> } };
  }

  beforeAll(async () => {
    // Local mode: no credentials act as the administrator; a Bearer token acts as its principal.
    server = await startTestServer(provider, { auth: { defaultModelPermission: null } });
    ({ id: readerId, secret: readerToken } = await account("reader"));
    ({ id: editorId, secret: editorToken } = await account("editor"));
    await pendingModel("shared");
    await pendingModel("hidden");
    await grant("shared", readerId, "READ");
    await grant("shared", editorId, "EDIT");
  });
  afterAll(async () => server?.close());

  it("refuses a reader's PUT with 403 and a hidden model's as a missing one, storing nothing", async () => {
    const before = await blobCount();
    const denied = await put("shared", "a.bin", randomBytes(10_000), readerToken);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({
      error: { code: "PERMISSION_DENIED", needed: "EDIT on model shared" },
    });
    const hidden = await put("hidden", "a.bin", randomBytes(10_000), readerToken);
    const missing = await put("no-such-model", "a.bin", randomBytes(10_000), readerToken);
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    const [hiddenBody, missingBody] = [await hidden.json(), await missing.json()];
    expect(JSON.stringify(hiddenBody).replaceAll("hidden", "X")).toBe(
      JSON.stringify(missingBody).replaceAll("no-such-model", "X"),
    );
    expect(await blobCount()).toBe(before);
  });

  it("withholds a reader's multipart part, answering the mutation's own refusal, storing nothing", async () => {
    const before = await blobCount();
    const denied = await multipart("shared", randomBytes(10_000), readerToken);
    expect(denied.data.uploadModelVersionArtifact).toMatchObject({
      __typename: "PermissionDeniedError",
      needed: "EDIT on model shared",
    });
    const hidden = await multipart("hidden", randomBytes(10_000), readerToken);
    const missing = await multipart("no-such-model", randomBytes(10_000), readerToken);
    expect(hidden.data.uploadModelVersionArtifact).toMatchObject({
      __typename: "NotFoundError",
      resource: "RegisteredModel",
      key: "hidden",
    });
    expect(missing.data.uploadModelVersionArtifact).toMatchObject({
      __typename: "NotFoundError",
      resource: "RegisteredModel",
      key: "no-such-model",
    });
    expect(await blobCount()).toBe(before);
  });

  it("lets an EDIT grantee upload by PUT and multipart", async () => {
    const bytes = randomBytes(5_000);
    const stored = await put("shared", "edited.bin", bytes, editorToken);
    expect(stored.status).toBe(201);
    expect(await stored.json()).toMatchObject({ artifact: { sha256: sha256(bytes) } });
    const uploaded = await multipart("shared", randomBytes(5_000), editorToken);
    expect(uploaded.data.uploadModelVersionArtifact.__typename).toBe("UploadModelVersionArtifactPayload");
  });
});
