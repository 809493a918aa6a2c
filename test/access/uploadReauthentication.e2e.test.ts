// An upload is authenticated again once its body has arrived, before what it carried is recorded:
// a token revoked while the body was on its way answers 401 UNAUTHENTICATED (as on arrival), a team
// membership removed meanwhile (the team held the EDIT grant) answers the permission refusal the
// caller would have had from the start, and in both cases the version gets no artifact. A caller
// that did not change uploads as before. Each upload sends its first part, waits until the server
// is storing it (its temporary file holds those bytes), then the change is made and the rest sent.
// The upload paths: PUT /artifacts/…, GraphQL multipart on /graphql, and a PUT to MLflow's
// artifact proxy (staged files; no team grant counts there, so only the revoked token). AUTH=required.
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { eventually } from "../support/eventually.ts";
import { folderStore, startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { bootstrapAdmin } from "../support/bootstrapAdmin.ts";

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: any;
}

const UPLOAD = `mutation($input: UploadModelVersionArtifactInput!) { uploadModelVersionArtifact(input: $input) {
  __typename ... on Error { code message } ... on PermissionDeniedError { needed }
  ... on UploadModelVersionArtifactPayload { artifact { path } } } }`;

/** What changes about the uploader while its body is on its way. */
type Change = "revokeToken" | "removeFromTeam" | "nothing";

describe.each(await providers())("uploads authenticated again after their body on %s", (provider) => {
  let server: TestServer;
  let adminToken: string;

  async function admin(query: string, variables: Record<string, unknown> = {}) {
    const result = await server.gql(query, variables, { authorization: `Bearer ${adminToken}` });
    expect(result.errors).toBeUndefined();
    return result.data;
  }

  /**
   * A model with a pending version 1, and a MEMBER service account that may read it by a grant of
   * its own and edit it only through its team's grant.
   */
  async function uploader() {
    const model = `m-${randomUUID()}`;
    await admin(`mutation($n: String!) { createRegisteredModel(input: {name: $n}) { __typename } }`, {
      n: model,
    });
    await admin(
      `mutation($n: String!) { createModelVersion(input: {name: $n, source: "s3://b/x", pendingArtifacts: true}) { __typename } }`,
      { n: model },
    );
    const account = await admin(
      `mutation($n: String!) { createServiceAccount(input: {displayName: $n}) { ... on PrincipalPayload { principal { id } } } }`,
      { n: `uploader-${model}` },
    );
    const principalId = account.createServiceAccount.principal.id as string;
    const token = await admin(
      `mutation($id: ID!) { createApiToken(input: {principalId: $id, name: "t", scopes: [READ, WRITE]}) { ... on CreateApiTokenPayload { secret token { id } } } }`,
      { id: principalId },
    );
    const team = await admin(
      `mutation($n: String!) { createTeam(input: {name: $n}) { ... on TeamPayload { team { id } } } }`,
      { n: `team-${model}` },
    );
    const teamId = team.createTeam.team.id as string;
    const added = await admin(
      `mutation($t: ID!, $p: ID!) { addTeamMember(input: {teamId: $t, principalId: $p}) { __typename } }`,
      { t: teamId, p: principalId },
    );
    expect(added.addTeamMember.__typename).toBe("TeamPayload");
    for (const [grantee, permission] of [
      [{ principalId }, "READ"],
      [{ teamId }, "EDIT"],
    ] as const) {
      const granted = await admin(
        `mutation($input: GrantModelPermissionInput!) { grantModelPermission(input: $input) { __typename } }`,
        { input: { name: model, permission, ...grantee } },
      );
      expect(granted.grantModelPermission.__typename).toBe("RegisteredModelPayload");
    }
    return {
      model,
      principalId,
      secret: token.createApiToken.secret as string,
      change: async (change: Change) => {
        if (change === "revokeToken") {
          const revoked = await admin(
            `mutation($id: ID!) { revokeApiToken(input: {tokenId: $id}) { __typename } }`,
            { id: token.createApiToken.token.id },
          );
          expect(revoked.revokeApiToken.__typename).not.toMatch(/Error$/);
        } else if (change === "removeFromTeam") {
          const removed = await admin(
            `mutation($t: ID!, $p: ID!) { removeTeamMember(input: {teamId: $t, principalId: $p}) { __typename } }`,
            { t: teamId, p: principalId },
          );
          expect(removed.removeTeamMember.__typename).toBe("TeamPayload");
        }
      },
    };
  }

  async function artifactPaths(model: string): Promise<string[]> {
    const data = await admin(
      `query($n: String!) { modelVersion(name: $n, version: 1) { artifacts { path } } }`,
      {
        n: model,
      },
    );
    return (data.modelVersion.artifacts as { path: string }[]).map((a) => a.path);
  }

  /** Bytes of the uploads the blob store is writing now (its temporary files). */
  function bytesInFlight(): number {
    const dir = folderStore(server.registro).tmpDir;
    // Made by the store's first upload.
    if (!existsSync(dir)) return 0;
    let bytes = 0;
    for (const name of readdirSync(dir))
      if (name.endsWith(".part")) bytes += statSync(path.join(dir, name)).size;
    return bytes;
  }

  /**
   * Sends `head`, waits until the server has stored the file bytes in it (`headFileBytes`: it has
   * authenticated the request and checked its access by then), makes the change, then sends `tail`.
   */
  async function sendWithChange(
    options: http.RequestOptions,
    head: Buffer,
    headFileBytes: number,
    tail: Buffer,
    change: () => Promise<void>,
  ): Promise<Answer> {
    const { hostname, port } = new URL(server.url);
    const req = http.request({
      hostname,
      port,
      ...options,
      headers: { ...options.headers, "content-length": head.length + tail.length },
    });
    const answer = new Promise<Answer>((resolve, reject) => {
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text === "" ? null : JSON.parse(text),
          });
        });
        res.on("error", reject);
      });
      req.on("error", reject);
    });
    // Awaited once the change is made; a failure before that is the test's, not an unhandled one.
    answer.catch(() => undefined);
    req.write(head);
    await eventually(() => bytesInFlight() >= headFileBytes, 10_000, "the first part to be stored");
    await change();
    req.end(tail);
    return answer;
  }

  const FIRST = 256 * 1024;

  /** A raw PUT of 2 × FIRST bytes to `path`, with `change` made once the first FIRST have arrived. */
  async function rawPut(
    path: string,
    who: Awaited<ReturnType<typeof uploader>>,
    change: Change,
  ): Promise<Answer> {
    const data = randomBytes(2 * FIRST);
    return sendWithChange(
      {
        method: "PUT",
        path,
        headers: { authorization: `Bearer ${who.secret}`, "content-type": "application/octet-stream" },
      },
      data.subarray(0, FIRST),
      FIRST,
      data.subarray(FIRST),
      () => who.change(change),
    );
  }

  const put = (who: Awaited<ReturnType<typeof uploader>>, change: Change) =>
    rawPut(`/artifacts/${who.model}/1/model.bin`, who, change);

  async function multipart(who: Awaited<ReturnType<typeof uploader>>, change: Change): Promise<Answer> {
    const boundary = `----registro${randomUUID()}`;
    const operations = JSON.stringify({
      query: UPLOAD,
      variables: { input: { name: who.model, version: 1, path: "model.bin", file: null } },
    });
    const data = randomBytes(2 * FIRST);
    const head = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
          `--${boundary}\r\ncontent-disposition: form-data; name="map"\r\n\r\n{"0":["variables.input.file"]}\r\n` +
          `--${boundary}\r\ncontent-disposition: form-data; name="0"; filename="model.bin"\r\n` +
          `content-type: application/octet-stream\r\n\r\n`,
      ),
      data.subarray(0, FIRST),
    ]);
    const tail = Buffer.concat([data.subarray(FIRST), Buffer.from(`\r\n--${boundary}--\r\n`)]);
    // The parser holds back the end of what it has, in case a boundary starts there.
    const stored = FIRST - boundary.length - 8;
    return sendWithChange(
      {
        method: "POST",
        path: "/graphql",
        headers: {
          authorization: `Bearer ${who.secret}`,
          "content-type": `multipart/form-data; boundary=${boundary}`,
          "x-registro-csrf": "1",
        },
      },
      head,
      stored,
      tail,
      () => who.change(change),
    );
  }

  /** A PUT to MLflow's artifact proxy (a staged file, for a model version registered from it later). */
  const proxyPut = (who: Awaited<ReturnType<typeof uploader>>, change: Change) =>
    rawPut(`/api/2.0/mlflow-artifacts/artifacts/${who.model}/model.bin`, who, change);

  /** The staged files of the proxy folder `dir`, as the administrator lists them. */
  async function stagedPaths(dir: string): Promise<string[]> {
    const listed = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts?path=${dir}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as { files?: { path: string }[] };
    return (body.files ?? []).map((f) => f.path);
  }

  beforeAll(async () => {
    server = await startTestServer(provider, { auth: { mode: "required", defaultModelPermission: null } });
    adminToken = await bootstrapAdmin(server, server.database, "Upload Admin");
  });
  afterAll(async () => server?.close());

  describe("PUT /artifacts/…", () => {
    it("answers 401 when the token is revoked while the body arrives, recording nothing", async () => {
      const who = await uploader();
      const answer = await put(who, "revokeToken");
      expect(answer.status).toBe(401);
      expect(answer.headers["www-authenticate"]).toBe('Bearer realm="registro", error="invalid_token"');
      expect(answer.body).toMatchObject({ error: { code: "UNAUTHENTICATED" } });
      expect(await artifactPaths(who.model)).toEqual([]);
    });

    it("refuses with PERMISSION_DENIED when the team that gave EDIT is left meanwhile", async () => {
      const who = await uploader();
      const answer = await put(who, "removeFromTeam");
      expect(answer.status).toBe(403);
      expect(answer.body).toMatchObject({
        error: {
          type: "PermissionDeniedError",
          code: "PERMISSION_DENIED",
          needed: `EDIT on model ${who.model}`,
        },
      });
      expect(await artifactPaths(who.model)).toEqual([]);
    });

    it("records the artifact of a caller whose token merely expired while the body arrived", async () => {
      const who = await uploader();
      const expiresAt = Date.now() + 3_000;
      const created = await admin(
        `mutation($id: ID!, $at: DateTime!) { createApiToken(input: {principalId: $id, name: "short", scopes: [READ, WRITE], expiresAt: $at}) { ... on CreateApiTokenPayload { secret } } }`,
        { id: who.principalId, at: new Date(expiresAt).toISOString() },
      );
      const shortLived = {
        ...who,
        secret: created.createApiToken.secret as string,
        change: async () => {
          await eventually(() => Date.now() > expiresAt + 100, 10_000, "the token to expire");
        },
      };
      const answer = await put(shortLived, "nothing");
      expect(answer.status).toBe(201);
      expect(await artifactPaths(who.model)).toEqual(["model.bin"]);
      // Expired now: a new request with it is refused.
      const after = await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { authorization: `Bearer ${shortLived.secret}`, "content-type": "application/json" },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      expect(after.status).toBe(401);
    });

    it("records the artifact of an unchanged caller", async () => {
      const who = await uploader();
      const answer = await put(who, "nothing");
      expect(answer.status).toBe(201);
      expect(answer.body).toMatchObject({ artifact: { path: "model.bin", size: 2 * FIRST } });
      expect(await artifactPaths(who.model)).toEqual(["model.bin"]);
    });
  });

  describe("GraphQL multipart uploads", () => {
    it("answers 401 when the token is revoked while the files arrive, recording nothing", async () => {
      const who = await uploader();
      const answer = await multipart(who, "revokeToken");
      expect(answer.status).toBe(401);
      expect(answer.headers["www-authenticate"]).toBe('Bearer realm="registro", error="invalid_token"');
      expect(answer.body.data).toBeUndefined();
      expect(answer.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      expect(await artifactPaths(who.model)).toEqual([]);
    });

    it("answers PermissionDeniedError when the team that gave EDIT is left meanwhile", async () => {
      const who = await uploader();
      const answer = await multipart(who, "removeFromTeam");
      expect(answer.status).toBe(200);
      expect(answer.body.data.uploadModelVersionArtifact).toMatchObject({
        __typename: "PermissionDeniedError",
        code: "PERMISSION_DENIED",
        needed: `EDIT on model ${who.model}`,
      });
      expect(await artifactPaths(who.model)).toEqual([]);
    });

    it("runs the operation of an unchanged caller", async () => {
      const who = await uploader();
      const answer = await multipart(who, "nothing");
      expect(answer.status).toBe(200);
      expect(answer.body.data.uploadModelVersionArtifact).toMatchObject({
        __typename: "UploadModelVersionArtifactPayload",
        artifact: { path: "model.bin" },
      });
      expect(await artifactPaths(who.model)).toEqual(["model.bin"]);
    });
  });

  describe("PUT to MLflow's artifact proxy", () => {
    it("answers 401 in MLflow's shape when the token is revoked while the body arrives, staging nothing", async () => {
      const who = await uploader();
      const answer = await proxyPut(who, "revokeToken");
      expect(answer.status).toBe(401);
      expect(answer.headers["www-authenticate"]).toBe('Bearer realm="registro", error="invalid_token"');
      expect(answer.body).toMatchObject({ error_code: "UNAUTHENTICATED" });
      expect(await stagedPaths(who.model)).toEqual([]);
    });

    it("stages the file of an unchanged caller", async () => {
      const who = await uploader();
      const answer = await proxyPut(who, "nothing");
      expect(answer.status).toBe(200);
      expect(await stagedPaths(who.model)).toEqual(["model.bin"]);
    });
  });
});
