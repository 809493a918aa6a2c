// Requests malformed below GraphQL, each found answering 500 (or an empty body) by the fuzz suite:
// absolute-form request targets and targets whose host does not parse (they ended the process),
// `variables` that are not JSON on a GET, requests Node's own parser
// refuses; and a health check that fails when the process can no longer serve.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendRaw } from "../fuzz/hostileRequests.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

let server: TestServer;
let port: number;
beforeAll(async () => {
  server = await startTestServer("sqlite");
  port = Number(new URL(server.url).port);
});
afterAll(async () => server?.close());

const json = (body: Buffer) => JSON.parse(body.toString("utf8")) as Record<string, any>;

describe("requests malformed below GraphQL", () => {
  it.each(["http://evil.example/graphql", "evil.example:80", "graphql"])(
    "refuses the request target %s with 400 BAD_REQUEST, without a stack trace",
    async (target) => {
      const response = await sendRaw(port, { kind: "raw", method: "POST", target, headers: [] });
      expect(response.status).toBe(400);
      expect(json(response.body).error.code).toBe("BAD_REQUEST");
      expect(response.body.toString()).not.toMatch(/at .*\.js/);
    },
  );

  it.each([
    ["variables", "not json"],
    ["variables", "{"],
    ["extensions", "[1,"],
  ])("answers a GET whose %s is %j with 400 BAD_REQUEST", async (name, value) => {
    const params = new URLSearchParams({ query: "{ __typename }", [name]: value });
    for (const accept of ["application/graphql-response+json", "text/event-stream"]) {
      const response = await fetch(`${server.graphqlUrl}?${params.toString()}`, {
        headers: { accept, "x-registro-csrf": "1" },
      });
      expect(response.status).toBe(400);
      const text = await response.text();
      expect(text).toContain('"code":"BAD_REQUEST"');
      expect(text).toContain("The request could not be read");
    }
  });

  it.each(["//[", "//[::1/graphql", "//a%zz/x"])(
    "answers a target %s whose host does not parse with 400, over HTTP and WebSocket, and keeps serving",
    async (target) => {
      const response = await sendRaw(port, { kind: "raw", method: "GET", target, headers: [] });
      expect(response.status).toBe(400);
      expect(json(response.body).error.code).toBe("BAD_REQUEST");
      const upgrade = await sendRaw(port, {
        kind: "raw",
        method: "GET",
        target,
        headers: [
          ["Connection", "Upgrade"],
          ["Upgrade", "websocket"],
          ["Sec-WebSocket-Version", "13"],
          ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
          ["Sec-WebSocket-Protocol", "graphql-transport-ws"],
        ],
      });
      expect(upgrade.status).toBe(400);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    },
  );

  it("answers headers too large for Node's parser with 431 and a JSON code", async () => {
    const response = await sendRaw(port, {
      kind: "raw",
      method: "GET",
      target: "/healthz",
      headers: [["X-Big", "a".repeat(64 * 1024)]],
    });
    expect(response.status).toBe(431);
    expect(json(response.body).error.code).toBe("HEADERS_TOO_LARGE");
  });

  it("answers a request line Node cannot parse with 400 and a JSON code", async () => {
    const response = await sendRaw(port, { kind: "raw", method: "GET", target: "/a b c", headers: [] });
    expect(response.status).toBe(400);
    expect(json(response.body).error.code).toBe("BAD_REQUEST");
  });
});

describe("ids and cursors a client made up", () => {
  it("answers node(id:) for an object that does not exist with null, as Relay expects", async () => {
    const id = Buffer.from("RegisteredModel:00000000-0000-0000-0000-000000000000").toString("base64");
    expect(await server.gql(`{ node(id: "${id}") { id } }`)).toEqual({ data: { node: null } });
  });

  it.each(["!!!", "bm9wZQ==", ""])("answers the undecodable global id %j with BAD_USER_INPUT", async (id) => {
    const result = await server.gql(`query($id: ID!) { node(id: $id) { id } }`, { id });
    expect(result.errors?.[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT" } });
  });

  it.each(["bad", "Z2FyYmFnZQ==", "%%%"])("answers the page cursor %j with INVALID_CURSOR", async (after) => {
    const result = await server.gql(
      `query($after: String) { registeredModels(after: $after) { nodes { name } } }`,
      {
        after,
      },
    );
    expect(result.errors?.[0]).toMatchObject({ extensions: { code: "INVALID_CURSOR" } });
  });
});

describe("the health check", () => {
  it("reports each check", async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: "ok",
      checks: { database: { ok: true }, prototypes: { ok: true } },
    });
  });

  it("fails with 503 while Object.prototype is polluted, so an orchestrator restarts the process", async () => {
    (Object.prototype as Record<string, unknown>).polluted = true;
    try {
      const response = await fetch(`${server.url}/healthz`);
      expect(response.status).toBe(503);
      const body = await response.json();
      expect(body.status).toBe("failing");
      expect(body.checks.prototypes).toEqual({
        ok: false,
        detail: "Object.prototype has unexpected properties: polluted",
      });
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
