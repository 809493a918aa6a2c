// What a page on another site can make a visitor's browser do to the registry: nothing that writes,
// nothing it can read. Requests are sent as a browser would send them (Origin header, the content
// types an HTML form or a no-cors fetch can use), on both providers.
import { readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const EVIL = "https://evil.example";
const UI = "https://ui.example";

const CREATE = (name: string) =>
  `mutation { createRegisteredModel(input: { name: "${name}" }) { __typename } }`;

async function modelNames(server: TestServer): Promise<string[]> {
  const result = await server.gql<{ registeredModels: { nodes: { name: string }[] } }>(
    "{ registeredModels(first: 100) { nodes { name } } }",
  );
  return result.data!.registeredModels.nodes.map((n) => n.name);
}

/** Files anywhere under the blob store (stored blobs and temp files alike). */
function blobFiles(server: TestServer): string[] {
  const root = path.join(server.dataDir, "blobs");
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

async function expectCsrfRefusal(response: Response) {
  expect(response.status).toBe(403);
  expect(response.headers.get("access-control-allow-origin")).toBeNull();
  const body = await response.json();
  expect(body.errors[0].extensions.code).toBe("CSRF_HEADER_REQUIRED");
  expect(body.errors[0].message).toContain("x-registro-csrf");
}

/** Opens a graphql-ws socket with the given headers; resolves "open" or the refusal's HTTP status. */
function upgrade(server: TestServer, headers: Record<string, string>): Promise<"open" | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(server.graphqlUrl.replace("http:", "ws:"), "graphql-transport-ws", {
      headers,
    });
    const timer = setTimeout(() => reject(new Error("no answer to the upgrade")), 5_000);
    socket.once("open", () => {
      clearTimeout(timer);
      socket.close();
      resolve("open");
    });
    socket.once("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once("error", () => undefined);
  });
}

describe.each(await providers())("cross-site requests (%s)", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => server?.close());

  it("a cross-site form POST never reaches a mutation", async () => {
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { origin: EVIL, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ query: CREATE("forged-form") }).toString(),
    });
    await expectCsrfRefusal(response);
    expect(await modelNames(server)).not.toContain("forged-form");
  });

  it("a text/plain body (a no-cors fetch) never reaches a mutation", async () => {
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { origin: EVIL, "content-type": "text/plain;charset=UTF-8" },
      body: JSON.stringify({ query: CREATE("forged-text") }),
    });
    await expectCsrfRefusal(response);
    expect(await modelNames(server)).not.toContain("forged-text");
  });

  it("a POST without any content type is refused too", async () => {
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { origin: EVIL },
      body: new Blob([JSON.stringify({ query: CREATE("forged-blob") })]),
    });
    await expectCsrfRefusal(response);
    expect(await modelNames(server)).not.toContain("forged-blob");
  });

  it("a cross-site multipart upload is refused before any byte is stored", async () => {
    await server.gql(CREATE("uploads"));
    await server.gql(
      `mutation { createModelVersion(input: { name: "uploads", source: "s3://x", pendingArtifacts: true }) { __typename } }`,
    );
    const form = new FormData();
    const query = `mutation($f: Upload!) { uploadModelVersionArtifact(input: { name: "uploads", version: 1, path: "a.bin", file: $f }) { __typename } }`;
    form.set("operations", JSON.stringify({ query, variables: { f: null } }));
    form.set("map", JSON.stringify({ 0: ["variables.f"] }));
    form.set("0", new Blob([new Uint8Array(64 * 1024).fill(7)]), "a.bin");
    const before = blobFiles(server);
    const forged = await fetch(server.graphqlUrl, { method: "POST", headers: { origin: EVIL }, body: form });
    await expectCsrfRefusal(forged);
    expect(blobFiles(server)).toEqual(before);

    // The same request with the header is an ordinary upload.
    const sent = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "x-registro-csrf": "1" },
      body: form,
    });
    expect(sent.status).toBe(200);
    const body = await sent.json();
    expect(body.errors).toBeUndefined();
    expect(body.data.uploadModelVersionArtifact.__typename).toBe("UploadModelVersionArtifactPayload");
  });

  it("GET needs the header (any of the accepted names); JSON POSTs do not", async () => {
    const url = `${server.graphqlUrl}?query=${encodeURIComponent("{ __typename }")}`;
    await expectCsrfRefusal(await fetch(url, { headers: { origin: EVIL } }));
    for (const header of ["x-registro-csrf", "x-graphql-yoga-csrf", "apollo-require-preflight"]) {
      const response = await fetch(url, { headers: { [header]: "1" } });
      expect(response.status, header).toBe(200);
      expect(await response.json()).toEqual({ data: { __typename: "Query" } });
    }
    const json = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: CREATE("json-post") }),
    });
    expect(json.status).toBe(200);
    expect(await modelNames(server)).toContain("json-post");
  });

  it("SSE over GET (EventSource style) needs the header; SSE over a JSON POST does not", async () => {
    const query = encodeURIComponent("subscription { registryEvents { cursor } }");
    const url = `${server.graphqlUrl}?query=${query}`;
    // Refused in the stream's own format: one `next` event with the error, then `complete`.
    const refused = await fetch(url, { headers: { accept: "text/event-stream" } });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/event: next\ndata: .*"code":"CSRF_HEADER_REQUIRED"/);
    for (const init of <RequestInit[]>[
      { headers: { accept: "text/event-stream", "x-registro-csrf": "1" } },
      {
        method: "POST",
        headers: { accept: "text/event-stream", "content-type": "application/json" },
        body: JSON.stringify({ query: decodeURIComponent(query) }),
      },
    ]) {
      const controller = new AbortController();
      const response = await fetch(init.method ? server.graphqlUrl : url, {
        ...init,
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/event-stream");
      controller.abort();
    }
  });

  it("sends no CORS headers to other origins, and refuses their preflights", async () => {
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { origin: EVIL, "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();

    for (const [target, method] of [
      ["/graphql", "POST"],
      ["/artifacts/uploads/1/b.bin", "PUT"],
    ] as const) {
      const preflight = await fetch(`${server.url}${target}`, {
        method: "OPTIONS",
        headers: {
          origin: EVIL,
          "access-control-request-method": method,
          "access-control-request-headers": "content-type",
        },
      });
      expect(preflight.status, target).toBe(403);
      expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
      expect((await preflight.json()).error.code).toBe("CORS_ORIGIN_NOT_ALLOWED");
    }
  });

  it("refuses WebSocket upgrades from other origins; its own pages and non-browser clients connect", async () => {
    expect(await upgrade(server, { origin: EVIL })).toBe(403);
    expect(await upgrade(server, { origin: server.url })).toBe("open");
    expect(await upgrade(server, {})).toBe("open");
  });
});

describe("CORS_ORIGINS allow-list", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("sqlite", { corsOrigins: [UI] });
  });
  afterAll(async () => server?.close());

  it("answers a listed origin's preflight and requests, never with credentials", async () => {
    const preflight = await fetch(`${server.url}/artifacts/m/1/model.bin`, {
      method: "OPTIONS",
      headers: {
        origin: UI,
        "access-control-request-method": "PUT",
        "access-control-request-headers": "content-type, x-checksum-sha256",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(UI);
    expect(preflight.headers.get("access-control-allow-methods")).toContain("PUT");
    expect(preflight.headers.get("access-control-allow-headers")).toBe("content-type, x-checksum-sha256");
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();

    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { origin: UI, "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(response.headers.get("access-control-allow-origin")).toBe(UI);
    expect(response.headers.get("vary")).toContain("Origin");
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();

    const other = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { origin: EVIL, "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect(await upgrade(server, { origin: UI })).toBe("open");
    expect(await upgrade(server, { origin: EVIL })).toBe(403);
  });

  it("lets a listed origin use every method a route serves: the MLflow routes' PATCH and DELETE too", async () => {
    for (const [method, target] of [
      ["PATCH", "/api/2.0/mlflow/registered-models/update"],
      ["DELETE", "/api/2.0/mlflow/registered-models/delete"],
      ["DELETE", "/api/2.0/mlflow-artifacts/artifacts/exp/a.txt"],
    ]) {
      const preflight = await fetch(`${server.url}${target}`, {
        method: "OPTIONS",
        headers: {
          origin: UI,
          "access-control-request-method": method!,
          "access-control-request-headers": "content-type",
        },
      });
      expect(preflight.status).toBe(204);
      const allowed = (preflight.headers.get("access-control-allow-methods") ?? "").split(", ");
      expect(allowed, `${method} ${target}`).toContain(method);
    }
    // A plain OPTIONS (no preflight) lists them too.
    const plain = await fetch(`${server.url}/api/2.0/mlflow/registered-models/delete`, { method: "OPTIONS" });
    expect((plain.headers.get("allow") ?? "").split(", ")).toEqual(
      expect.arrayContaining(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    );
  });

  it("a listed origin still needs the CSRF header for forgeable requests", async () => {
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { origin: UI, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ query: CREATE("listed-form") }).toString(),
    });
    expect(response.status).toBe(403);
  });
});

describe("security headers", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("sqlite");
  });
  afterAll(async () => server?.close());

  const common = (response: Response) => {
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    return csp;
  };

  it("every kind of answer carries them; JSON and artifact bytes get a locked-down, sandboxed policy", async () => {
    const answers = [
      await fetch(server.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ __typename }" }),
      }),
      await fetch(`${server.url}/healthz`),
      await fetch(`${server.url}/nowhere`),
      await fetch(`${server.url}/artifacts/nobody/1/x.bin`),
      await fetch(server.graphqlUrl, { method: "DELETE" }),
      await fetch(server.graphqlUrl, { method: "POST", headers: { "content-type": "application/xml" } }),
      await fetch(`${server.url}/`, { headers: { accept: "application/json" } }),
    ];
    for (const response of answers) {
      const csp = common(response);
      expect(csp, response.url).toContain("default-src 'none'");
      expect(csp, response.url).toContain("sandbox");
    }
  });

  it("the HTML pages get a policy naming exactly what they load", async () => {
    // The web interface (npm install builds it; test/http/landingPage.e2e.test.ts covers the page
    // shown without a build): its own scripts and styles only, nothing inline, nothing elsewhere.
    const web = await fetch(`${server.url}/`, { headers: { accept: "text/html" } });
    const webCsp = common(web);
    expect(webCsp).toContain("script-src 'self'");
    expect(webCsp).toContain("style-src 'self'");
    expect(webCsp).toContain("connect-src 'self'");
    expect(webCsp).not.toMatch(/unsafe-|https?:|\*|sha256-/);
    const page = await web.text();
    expect(page).not.toMatch(/<script(?![^>]+src="\/assets\/)|<style|<link(?![^>]+href="\/assets\/)/);

    const graphiql = await fetch(server.graphqlUrl, { headers: { accept: "text/html" } });
    expect(graphiql.headers.get("content-type")).toContain("text/html");
    const graphiqlCsp = common(graphiql);
    expect(graphiqlCsp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(graphiqlCsp).toContain("connect-src 'self'");
    expect(graphiqlCsp).not.toContain("unsafe-eval");
    // No CDN: every script and stylesheet is inline.
    const html = await graphiql.text();
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/);
  });
});
