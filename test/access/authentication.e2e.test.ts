// Authentication at the edge, end to end on both providers: with AUTH=required every transport
// (GraphQL POST and GET, SSE, multipart uploads, artifact PUT/GET/HEAD, graphql-ws) refuses a caller
// without valid credentials, and accepts an API token and an SSO access token; every event records
// who caused it and with which credential. The SSO issuer (keys, JWKS on 127.0.0.1) is test/support/oidcIssuer.ts.
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createSsoVerifier } from "../../src/access/sso.ts";
import { providers } from "../support/databases.ts";
import { ISSUER, oidcConfig, signer, startIssuer } from "../support/oidcIssuer.ts";
import type { Issuer } from "../support/oidcIssuer.ts";
import { InMemoryPrincipalDirectory, principal } from "../support/principalDirectory.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { wsClient } from "../subscriptions/support.ts";

describe("SSO access tokens (jose against a JWKS served on 127.0.0.1)", () => {
  let issuer: Issuer;
  let sign: ReturnType<typeof signer>;
  let folder: string;
  beforeAll(async () => {
    issuer = await startIssuer();
    sign = signer(issuer);
    folder = mkdtempSync(path.join(tmpdir(), "registro-jwks-"));
  });
  afterAll(async () => {
    await issuer.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it("accepts a token of the issuer and maps its claims", async () => {
    const verifier = createSsoVerifier(oidcConfig(issuer));
    const claims = await verifier.verify(await sign(), new Date());
    expect(claims).toMatchObject({
      issuer: ISSUER,
      subject: "sam",
      email: "sam@example.com",
      name: "Sam Sso",
      groups: ["ml"],
      jti: expect.stringMatching(/^jti-/),
    });
  });

  it("refuses a bad signature, another issuer or audience, and a disallowed algorithm", async () => {
    const verifier = createSsoVerifier(oidcConfig(issuer));
    const now = new Date();
    const good = await sign();
    const [header, payload] = good.split(".");
    const forged = `${header}.${payload}.${(await sign({ key: issuer.stranger.privateKey })).split(".")[2]}`;
    expect(await verifier.verify(forged, now)).toBeNull();
    expect(await verifier.verify(await sign({ key: issuer.stranger.privateKey }), now)).toBeNull();
    expect(await verifier.verify(await sign({ issuer: "https://evil.test" }), now)).toBeNull();
    expect(await verifier.verify(await sign({ audience: "someone-else" }), now)).toBeNull();
    // ES256 is in the JWKS, but not in this registry's allow-list.
    const es = await sign({ key: issuer.ec.privateKey, alg: "ES256", kid: "ec-1" });
    expect(await verifier.verify(es, now)).toBeNull();
    expect(
      await createSsoVerifier(oidcConfig(issuer, { algorithms: ["ES256"] })).verify(es, now),
    ).not.toBeNull();
    // An unsigned token (alg none) never passes.
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${payload}.`;
    expect(await verifier.verify(unsigned, now)).toBeNull();
    expect(() => createSsoVerifier(oidcConfig(issuer, { algorithms: ["none"] }))).toThrow(/none/);
  });

  it("refuses an expired token, except within the clock skew", async () => {
    const verifier = createSsoVerifier(oidcConfig(issuer, { clockSkewSeconds: 30 }));
    const now = new Date();
    const nowS = Math.floor(now.getTime() / 1000);
    expect(await verifier.verify(await sign({ expiresAt: nowS - 10 }), now)).not.toBeNull();
    expect(await verifier.verify(await sign({ expiresAt: nowS - 60 }), now)).toBeNull();
    const strict = createSsoVerifier(oidcConfig(issuer, { clockSkewSeconds: 0 }));
    expect(await strict.verify(await sign({ expiresAt: nowS - 10 }), now)).toBeNull();
  });

  it("reads keys from a JWKS file", async () => {
    const file = path.join(folder, "jwks.json");
    writeFileSync(file, JSON.stringify(issuer.jwks));
    const verifier = createSsoVerifier(oidcConfig(issuer, { jwksUrl: undefined, jwksFile: file }));
    expect(await verifier.verify(await sign(), new Date())).toMatchObject({ subject: "sam" });
    expect(await verifier.verify(await sign({ key: issuer.stranger.privateKey }), new Date())).toBeNull();
    writeFileSync(path.join(folder, "broken.json"), "{ not json");
    expect(() =>
      createSsoVerifier(
        oidcConfig(issuer, { jwksUrl: undefined, jwksFile: path.join(folder, "broken.json") }),
      ),
    ).toThrow(/OIDC_JWKS_FILE/);
  });
});

const CREATE = `mutation($name: String!) { createRegisteredModel(input: { name: $name }) { __typename } }`;
const ACTOR = `actor { id displayName kind credential { kind tokenId jti issuer } }`;
const UPLOAD = `mutation($input: UploadModelVersionArtifactInput!) {
  uploadModelVersionArtifact(input: $input) { __typename ... on UploadModelVersionArtifactPayload { artifact { path } } } }`;

describe.each(await providers())("AUTH=required (%s)", (provider) => {
  let server: TestServer;
  let issuer: Issuer;
  let sign: ReturnType<typeof signer>;
  const directory = new InMemoryPrincipalDirectory();
  const ci = principal("ci-bot", "SERVICE_ACCOUNT");
  const token = directory.issueToken(ci, { tokenId: "tok-ci", scopes: ["write"] });
  let jwt: string;
  let wsUrl: string;

  /** The credential variants every transport is tried with. */
  const credentials = () => ({ token: `Bearer ${token.secret}`, jwt: `Bearer ${jwt}` });

  beforeAll(async () => {
    issuer = await startIssuer();
    sign = signer(issuer);
    jwt = await sign();
    server = await startTestServer(provider, {
      auth: { mode: "required", directory, oidc: oidcConfig(issuer) },
    });
    wsUrl = server.graphqlUrl.replace(/^http/, "ws");
  });
  afterAll(async () => {
    await server?.close();
    await issuer?.close();
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(server.graphqlUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json",
        ...headers,
      },
      body: JSON.stringify(body),
    });

  async function expectUnauthenticated(response: Response, graphql: boolean, invalid: boolean) {
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(
      invalid ? 'Bearer realm="registro", error="invalid_token"' : 'Bearer realm="registro"',
    );
    const body = await response.json();
    if (graphql) expect(body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    else expect(body.error.code).toBe("UNAUTHENTICATED");
  }

  /** A model with a pending version 1, created with the token. */
  async function pendingModel(name: string) {
    const auth = { authorization: credentials().token };
    expect((await (await post({ query: CREATE, variables: { name } }, auth)).json()).data).toBeDefined();
    const version = await post(
      {
        query: `mutation($n: String!) { createModelVersion(input: {name: $n, source: "s3://b/x", pendingArtifacts: true}) { __typename } }`,
        variables: { n: name },
      },
      auth,
    );
    expect((await version.json()).data.createModelVersion.__typename).toBe("ModelVersionPayload");
  }

  const multipart = (name: string, file: string, headers: Record<string, string>) => {
    const form = new FormData();
    form.append(
      "operations",
      JSON.stringify({ query: UPLOAD, variables: { input: { name, version: 1, path: file, file: null } } }),
    );
    form.append("map", JSON.stringify({ 0: ["variables.input.file"] }));
    form.append("0", new Blob([new Uint8Array(Buffer.from(`bytes of ${file}`))]), "f.bin");
    return fetch(server.graphqlUrl, {
      method: "POST",
      body: form,
      headers: { "x-registro-csrf": "1", ...headers },
    });
  };

  const missingOrBad: [string, Record<string, string>, boolean][] = [
    ["no credentials", {}, false],
    ["an unknown token", { authorization: "Bearer rgo_nobody_knows_this_one" }, true],
    ["a JWT signed by someone else", { authorization: "Bearer PLACEHOLDER_STRANGER" }, true],
    ["Basic auth", { authorization: "Basic dXNlcjpwYXNz" }, true],
  ];
  const headersFor = async (headers: Record<string, string>) =>
    headers.authorization === "Bearer PLACEHOLDER_STRANGER"
      ? { authorization: `Bearer ${await sign({ key: issuer.stranger.privateKey })}` }
      : headers;

  it.each(missingOrBad)("refuses %s on every HTTP transport with 401", async (_what, given, invalid) => {
    const headers = await headersFor(given);
    const name = `refused-${provider}-${Math.random().toString(36).slice(2, 8)}`;
    await pendingModel(name);
    // GraphQL POST, GET and SSE
    await expectUnauthenticated(
      await post({ query: CREATE, variables: { name: `${name}-x` } }, headers),
      true,
      invalid,
    );
    await expectUnauthenticated(
      await fetch(
        `${server.graphqlUrl}?query=${encodeURIComponent("{ registeredModels(first: 1) { nodes { name } } }")}`,
        {
          headers: { "x-registro-csrf": "1", accept: "application/json", ...headers },
        },
      ),
      true,
      invalid,
    );
    await expectUnauthenticated(
      await post(
        { query: "subscription { registryEvents { position } }" },
        { accept: "text/event-stream", ...headers },
      ),
      true,
      invalid,
    );
    // Multipart upload, artifact PUT, GET and HEAD
    await expectUnauthenticated(await multipart(name, "m.bin", headers), true, invalid);
    const artifactUrl = `${server.url}/artifacts/${name}/1/a.bin`;
    await expectUnauthenticated(
      await fetch(artifactUrl, { method: "PUT", body: new Uint8Array(Buffer.from("x")), headers }),
      false,
      invalid,
    );
    await expectUnauthenticated(await fetch(artifactUrl, { headers }), false, invalid);
    const head = await fetch(artifactUrl, { method: "HEAD", headers });
    expect(head.status).toBe(401);
    expect(head.headers.get("www-authenticate")).toMatch(/^Bearer/);
    // Nothing was stored by any of them.
    const history = await post(
      {
        query: `query($n: String!) { history(name: $n, first: 50) { nodes { type } } }`,
        variables: { n: name },
      },
      { authorization: credentials().token },
    );
    expect((await history.json()).data.history.nodes.map((n: { type: string }) => n.type)).toEqual([
      "RegisteredModelCreated",
      "ModelVersionCreated",
    ]);
  });

  it.each(missingOrBad)("closes a WebSocket with %s with 4401", async (_what, given) => {
    const headers = await headersFor(given);
    const client = wsClient(wsUrl, { connectionParams: headers });
    try {
      const closed = await client
        .iterate({ query: "{ registeredModels(first: 1) { nodes { name } } }" })
        .next()
        .then(
          () => null,
          (error: unknown) => error as { code?: number; reason?: string },
        );
      expect(closed).toMatchObject({ code: 4401, reason: "Unauthorized" });
    } finally {
      await client.dispose();
    }
  });

  it("keeps the health check and the landing page public", async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/`, { headers: { accept: "application/json" } })).status).toBe(200);
  });

  it.each(["token", "jwt"] as const)(
    "accepts a %s on every transport and records it with each event",
    async (kind) => {
      const authorization = credentials()[kind];
      const name = `accepted-${kind}-${provider}`;
      const created = await post({ query: CREATE, variables: { name } }, { authorization });
      expect((await created.json()).data.createRegisteredModel.__typename).toBe("RegisteredModelPayload");
      const version = await post(
        {
          query: `mutation($n: String!) { createModelVersion(input: {name: $n, source: "s3://b/x", pendingArtifacts: true}) { __typename } }`,
          variables: { n: name },
        },
        { authorization },
      );
      expect((await version.json()).data.createModelVersion.__typename).toBe("ModelVersionPayload");
      // GraphQL GET
      const get = await fetch(
        `${server.graphqlUrl}?query=${encodeURIComponent(`{ registeredModel(name: "${name}") { name } }`)}`,
        { headers: { "x-registro-csrf": "1", accept: "application/json", authorization } },
      );
      expect(get.status).toBe(200);
      expect((await get.json()).data.registeredModel.name).toBe(name);
      // Multipart upload, artifact PUT, GET, HEAD
      const upload = await multipart(name, "multi.bin", { authorization });
      expect(upload.status).toBe(200);
      expect((await upload.json()).data.uploadModelVersionArtifact.__typename).toBe(
        "UploadModelVersionArtifactPayload",
      );
      const artifactUrl = `${server.url}/artifacts/${name}/1/put.bin`;
      const put = await fetch(artifactUrl, {
        method: "PUT",
        body: new Uint8Array(Buffer.from("put bytes")),
        headers: { authorization },
      });
      expect(put.status).toBe(201);
      const download = await fetch(artifactUrl, { headers: { authorization } });
      expect(download.status).toBe(200);
      expect(await download.text()).toBe("put bytes");
      expect((await fetch(artifactUrl, { method: "HEAD", headers: { authorization } })).status).toBe(200);
      // SSE: the subscription starts streaming.
      const abort = new AbortController();
      const sse = await fetch(server.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream", authorization },
        body: JSON.stringify({ query: "subscription { registryEvents { position } }" }),
        signal: abort.signal,
      });
      expect(sse.status).toBe(200);
      expect(sse.headers.get("content-type")).toMatch(/text\/event-stream/);
      abort.abort();
      await sse.body?.cancel().catch(() => undefined);
      // graphql-ws, with the credentials in the connection params.
      const client = wsClient(wsUrl, { connectionParams: { Authorization: authorization } });
      try {
        const result = await client
          .iterate({
            query: `mutation($input: SetRegisteredModelTagInput!) { setRegisteredModelTag(input: $input) { __typename } }`,
            variables: { input: { name, key: "via", value: "ws" } },
          })
          .next();
        expect(result.value?.data).toEqual({
          setRegisteredModelTag: { __typename: "RegisteredModelPayload" },
        });
      } finally {
        await client.dispose();
      }

      // Every event records the actor and the credential.
      const history = await (
        await post(
          {
            query: `query($n: String!) { history(name: $n, first: 50) { nodes { type ${ACTOR} } } }`,
            variables: { n: name },
          },
          { authorization },
        )
      ).json();
      const nodes = history.data.history.nodes as { type: string; actor: unknown }[];
      // Inspection results follow the uploads; they are the uploader's events too.
      expect(nodes.map((n) => n.type)).toEqual(
        expect.arrayContaining([
          "RegisteredModelCreated",
          "ModelVersionCreated",
          "ModelVersionArtifactAdded",
          "RegisteredModelTagSet",
        ]),
      );
      expect(nodes.filter((n) => n.type === "ModelVersionArtifactAdded")).toHaveLength(2);
      const expected =
        kind === "token"
          ? {
              id: ci.id,
              displayName: "ci-bot",
              kind: "SERVICE_ACCOUNT",
              credential: { kind: "TOKEN", tokenId: "tok-ci", jti: null, issuer: null },
            }
          : {
              id: expect.stringMatching(/^sso-user-/),
              displayName: "Sam Sso",
              kind: "USER",
              credential: { kind: "JWT", tokenId: null, jti: expect.stringMatching(/^jti-/), issuer: ISSUER },
            };
      for (const node of nodes) expect(node.actor).toEqual(expected);
    },
  );

  it("filters history by actor id", async () => {
    const name = `shared-${provider}`;
    await post({ query: CREATE, variables: { name } }, { authorization: credentials().token });
    await post(
      {
        query: `mutation { setRegisteredModelTag(input: {name: "${name}", key: "k", value: "v"}) { __typename } }`,
      },
      { authorization: credentials().jwt },
    );
    const byCi = await (
      await post(
        {
          query: `{ history(name: "${name}", actorId: "${ci.id}", first: 10) { nodes { type actor { id } } } }`,
        },
        { authorization: credentials().token },
      )
    ).json();
    expect(byCi.data.history.nodes).toEqual([{ type: "RegisteredModelCreated", actor: { id: ci.id } }]);
    const nobody = await (
      await post(
        {
          query: `{ registeredModel(name: "${name}") { history(actorId: "nobody", first: 10) { nodes { type } } } }`,
        },
        { authorization: credentials().token },
      )
    ).json();
    expect(nobody.data.registeredModel.history.nodes).toEqual([]);
  });

  it("re-checks a WebSocket's token before each operation: revoked, the next one closes it with 4401", async () => {
    const doomed = directory.issueToken(principal("doomed"));
    const client = wsClient(wsUrl, { connectionParams: { authorization: `Bearer ${doomed.secret}` } });
    try {
      const first = await client
        .iterate({ query: "{ registeredModels(first: 1) { nodes { name } } }" })
        .next();
      expect(first.value?.errors).toBeUndefined();
      directory.revoke(doomed.secret);
      const second = await client
        .iterate({ query: "{ registeredModels(first: 1) { nodes { name } } }" })
        .next()
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(second).toMatchObject({ code: 4401 });
    } finally {
      await client.dispose();
    }
  });

  it("takes the token from the WebSocket upgrade's Authorization header too", async () => {
    class WithHeader extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers: { authorization: credentials().token } });
      }
    }
    const client = wsClient(wsUrl, { webSocketImpl: WithHeader });
    try {
      const result = await client
        .iterate({ query: "{ registeredModels(first: 1) { nodes { name } } }" })
        .next();
      expect(result.value?.errors).toBeUndefined();
    } finally {
      await client.dispose();
    }
  });
});

describe.each(await providers())("AUTH=local (%s)", (provider) => {
  let server: TestServer;
  const directory = new InMemoryPrincipalDirectory();
  const token = directory.issueToken(principal("alice"), { tokenId: "tok-alice" });
  beforeAll(async () => {
    server = await startTestServer(provider, { auth: { mode: "local", directory, osUserName: "ada" } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("acts as the local administrator without credentials, and as the token's principal with one", async () => {
    const name = `local-${provider}`;
    // alice (a MEMBER) registers the model, so she manages it; the administrator may change any model.
    await server.gql(CREATE, { name }, { authorization: `Bearer ${token.secret}` });
    await server.gql(
      `mutation { setRegisteredModelTag(input: {name: "${name}", key: "k", value: "v"}) { __typename } }`,
    );
    const history = await server.gql(`{ history(name: "${name}") { nodes { ${ACTOR} } } }`);
    expect(history.data.history.nodes).toEqual([
      {
        actor: {
          id: "principal-alice",
          displayName: "alice",
          kind: "USER",
          credential: { kind: "TOKEN", tokenId: "tok-alice", jti: null, issuer: null },
        },
      },
      {
        actor: {
          id: "local-admin-ada",
          displayName: "ada",
          kind: "USER",
          credential: { kind: "LOCAL", tokenId: null, jti: null, issuer: null },
        },
      },
    ]);
  });

  it("refuses bad credentials instead of downgrading them to the local administrator", async () => {
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer rgo_wrong" },
      body: JSON.stringify({ query: "{ registeredModels(first: 1) { nodes { name } } }" }),
    });
    expect(response.status).toBe(401);
    const client = wsClient(server.graphqlUrl.replace(/^http/, "ws"), {
      connectionParams: { Authorization: "Bearer rgo_wrong" },
    });
    try {
      const closed = await client
        .iterate({ query: "{ registeredModels(first: 1) { nodes { name } } }" })
        .next()
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(closed).toMatchObject({ code: 4401 });
    } finally {
      await client.dispose();
    }
  });
});
