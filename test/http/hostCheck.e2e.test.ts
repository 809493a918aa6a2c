// DNS rebinding: a page on evil.example that rebinds its name to 127.0.0.1 reaches the registry as
// its own origin (Host and Origin both evil.example), from loopback. Under AUTH=local that would make
// it the local administrator; the server answers only for hosts no one else can point at it.
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const CREATE = (name: string) =>
  JSON.stringify({ query: `mutation { createRegisteredModel(input: { name: "${name}" }) { __typename } }` });

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** A request with any Host header (fetch may not set one). */
function request(
  server: TestServer,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // The path as given, dot segments included (a URL string would have them resolved).
    const req = http.request(
      server.url,
      { method: options.method ?? "GET", path: options.path ?? "/graphql", headers: options.headers ?? {} },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** What a rebound page sends: its own name as Host, and as Origin. */
const rebound = (server: TestServer, name = "rebind.evil.example") => {
  const port = new URL(server.url).port;
  return { host: `${name}:${port}`, origin: `http://${name}:${port}` };
};

const createModel = (server: TestServer, headers: Record<string, string>, name: string) =>
  request(server, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: CREATE(name),
  });

/** Opens a graphql-ws socket with the given headers and runs a mutation; "created" or the refusal's status. */
function mutateOverWebSocket(server: TestServer, headers: Record<string, string>, name: string) {
  return new Promise<"created" | number>((resolve, reject) => {
    const socket = new WebSocket(server.graphqlUrl.replace("http:", "ws:"), "graphql-transport-ws", {
      headers,
    });
    const timer = setTimeout(() => reject(new Error("no answer over the WebSocket")), 5_000);
    socket.once("open", () => socket.send(JSON.stringify({ type: "connection_init" })));
    socket.on("message", (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string; payload?: any };
      if (message.type === "connection_ack")
        socket.send(
          JSON.stringify({ id: "1", type: "subscribe", payload: { query: JSON.parse(CREATE(name)).query } }),
        );
      if (message.type === "next") {
        clearTimeout(timer);
        socket.close();
        expect(message.payload.data.createRegisteredModel.__typename).toBe("RegisteredModelPayload");
        resolve("created");
      }
    });
    socket.once("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once("error", () => undefined);
  });
}

async function modelNames(server: TestServer): Promise<string[]> {
  const result = await server.gql<{ registeredModels: { nodes: { name: string }[] } }>(
    "{ registeredModels(first: 100) { nodes { name } } }",
  );
  return result.data!.registeredModels.nodes.map((n) => n.name);
}

/** A raw HTTP/1.0 request without a Host header. */
function withoutHost(server: TestServer, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(server.url).port), "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk.toString()));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.write(`GET ${path} HTTP/1.0\r\n\r\n`);
  });
}

describe("Host check under AUTH=local", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("sqlite", { allowedHosts: ["registry.test"] });
  });
  afterAll(async () => server?.close());

  it("refuses a rebound page's mutation, preflight and WebSocket, and stores nothing", async () => {
    const page = rebound(server);
    const post = await createModel(server, page, "rebound-post");
    expect(post.status).toBe(421);
    expect(JSON.parse(post.body).errors[0].extensions.code).toBe("HOST_NOT_ALLOWED");
    expect(post.headers["access-control-allow-origin"]).toBeUndefined();
    // A target that resolves to /graphql is served as GraphQL, and refused in GraphQL's shape too.
    for (const path of ["/./graphql", "/models/../graphql?x=1"]) {
      const dotted = await request(server, {
        method: "POST",
        path,
        headers: { ...page, "content-type": "application/json" },
        body: CREATE("rebound-dotted"),
      });
      expect(dotted.status, path).toBe(421);
      expect(JSON.parse(dotted.body).errors[0].extensions.code, path).toBe("HOST_NOT_ALLOWED");
    }

    const preflight = await request(server, {
      method: "OPTIONS",
      headers: {
        ...page,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(preflight.status).toBe(421);
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    expect(JSON.parse(preflight.body).error.code).toBe("HOST_NOT_ALLOWED");

    expect(await mutateOverWebSocket(server, page, "rebound-ws")).toBe(421);

    // The other routes alike: artifacts, the web pages, the operator routes.
    for (const path of ["/artifacts/m/1/model.bin", "/", "/models", "/healthz", "/metrics"]) {
      const answer = await request(server, { path, headers: page });
      expect(answer.status, path).toBe(421);
      expect(JSON.parse(answer.body).error.code, path).toBe("HOST_NOT_ALLOWED");
    }
    // MLflow's routes and artifact proxy answer in MLflow's error body, which MLflow's client reads.
    for (const [method, path] of [
      ["GET", "/api/2.0/mlflow/registered-models/search"],
      ["POST", "/ajax-api/2.0/mlflow/registered-models/create"],
      ["PUT", "/api/2.0/mlflow-artifacts/artifacts/run/model.pkl"],
      ["GET", "/ajax-api/2.0/mlflow-artifacts/artifacts?path=run"],
    ] as const) {
      const answer = await request(server, {
        method,
        path,
        headers: page,
        ...(method === "GET" ? {} : { body: "{}" }),
      });
      expect({ status: answer.status, body: JSON.parse(answer.body) }, path).toEqual({
        status: 421,
        body: { error_code: "BAD_REQUEST", message: expect.stringContaining("AUTH=local") },
      });
    }
    // A proxy in front forwarding the page's host is refused as well.
    const forwarded = await createModel(
      server,
      { host: "localhost", "x-forwarded-host": page.host, origin: page.origin },
      "rebound-forwarded",
    );
    expect(forwarded.status).toBe(421);
    expect(await modelNames(server)).toEqual([]);
  });

  it("serves loopback hosts on any port, and the hosts of ALLOWED_HOSTS", async () => {
    const port = new URL(server.url).port;
    const hosts = [
      "localhost",
      `localhost:${port}`,
      `ui.localhost:${port}`,
      `127.0.0.1:${port}`,
      "127.1.2.3:8080",
      `[::1]:${port}`,
      "[::ffff:127.0.0.1]",
      `registry.test:${port}`,
      `REGISTRY.test`,
    ];
    for (const [i, host] of hosts.entries()) {
      const origin = `http://${host}`;
      const created = await createModel(server, { host, origin }, `model-${i}`);
      expect(created.status, host).toBe(200);
      expect(JSON.parse(created.body).data.createRegisteredModel.__typename).toBe("RegisteredModelPayload");
    }
    const preflight = await request(server, {
      method: "OPTIONS",
      headers: {
        host: `registry.test:${port}`,
        origin: `http://registry.test:${port}`,
        "access-control-request-method": "POST",
      },
    });
    expect(preflight.status).toBe(204);
    expect(await mutateOverWebSocket(server, { host: `[::1]:${port}` }, "over-ws")).toBe("created");
    expect(
      await mutateOverWebSocket(
        server,
        { host: `registry.test:${port}`, origin: `http://registry.test:${port}` },
        "over-ws-listed",
      ),
    ).toBe("created");
    expect(await modelNames(server)).toHaveLength(hosts.length + 2);
  });

  it("refuses look-alikes and malformed hosts; serves HTTP/1.0 without a Host", async () => {
    for (const host of [
      "localhost.evil.example",
      "127.0.0.1.evil.example",
      "registry.test.evil",
      "a b",
      "[::2]",
    ]) {
      const answer = await request(server, { path: "/healthz", headers: { host } });
      expect(answer.status, host).toBe(421);
    }
    expect(await withoutHost(server, "/healthz")).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe("Host check under AUTH=required", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("sqlite", { auth: { mode: "required" } });
  });
  afterAll(async () => server?.close());

  it("leaves the API to its tokens and probes by pod IP or name alone; guards /metrics, whose credential is the address", async () => {
    const page = rebound(server);
    // No ambient credentials: the rebound page is just an unauthenticated client.
    expect((await createModel(server, page, "x")).status).toBe(401);
    for (const host of ["10.1.2.3:4000", "registro.default.svc:4000", page.host]) {
      expect((await request(server, { path: "/healthz", headers: { host } })).status, host).toBe(200);
      expect((await request(server, { path: "/readyz", headers: { host } })).status, host).toBe(200);
    }
    expect((await request(server, { path: "/metrics", headers: page })).status).toBe(421);
    expect((await request(server, { path: "/metrics", headers: { host: "10.1.2.3:4000" } })).status).toBe(
      200,
    );
    expect((await request(server, { path: "/metrics", headers: { host: "localhost" } })).status).toBe(200);
  });
});
