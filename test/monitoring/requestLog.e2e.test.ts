// One JSON log line per HTTP request, whose request id is the X-Request-Id the answer carries and
// the correlation id of every event the request appended; no credentials in it.
import { Writable } from "node:stream";
import { pino } from "pino";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.ts";
import { LOCAL_ADMIN, startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

interface LogLine {
  msg: string;
  component?: string;
  requestId: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  principal: { id: string; name: string } | null;
  operations?: string[];
  outcome: string;
}

describe("the request log", () => {
  let server: TestServer;
  const raw: string[] = [];
  const lines = () => raw.map((l) => JSON.parse(l) as LogLine).filter((l) => l.msg === "request");
  const lineFor = async (requestId: string): Promise<LogLine> =>
    (await eventually(
      () => lines().find((l) => l.requestId === requestId),
      5_000,
      `the log of ${requestId}`,
    ))!;

  beforeAll(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        raw.push(
          ...String(chunk)
            .split("\n")
            .filter((l) => l !== ""),
        );
        done();
      },
    });
    server = await startTestServer("sqlite", { logger: pino({ level: "info" }, destination) });
  });
  afterAll(async () => server?.close());

  async function createModel(name: string, headers: Record<string, string> = {}) {
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({
        query: `mutation CreateIt($n: String!) { createRegisteredModel(input: { name: $n }) { __typename } }`,
        variables: { n: name },
      }),
    });
    const body = (await response.json()) as { data: { createRegisteredModel: { __typename: string } } };
    expect(body.data.createRegisteredModel.__typename).toBe("RegisteredModelPayload");
    return response.headers.get("x-request-id")!;
  }

  async function correlationIdOf(name: string): Promise<string> {
    const history = await server.gql(
      `query($n: String!) { registeredModel(name: $n) { history(first: 10) { nodes { type correlationId } } } }`,
      { n: name },
    );
    const nodes = history.data.registeredModel.history.nodes as { type: string; correlationId: string }[];
    expect(nodes.map((n) => n.type)).toEqual(["RegisteredModelCreated"]);
    return nodes[0]!.correlationId;
  }

  it("takes a valid X-Request-Id, echoes it, logs it and stamps it on the events the request appended", async () => {
    const echoed = await createModel("logged model", { "x-request-id": "client-id.42:a_b-c" });
    expect(echoed).toBe("client-id.42:a_b-c");
    expect(await correlationIdOf("logged model")).toBe("client-id.42:a_b-c");
    const line = await lineFor("client-id.42:a_b-c");
    expect(line).toMatchObject({
      component: "http",
      method: "POST",
      route: "/graphql",
      status: 200,
      principal: { name: LOCAL_ADMIN },
      operations: ["CreateIt"],
      outcome: "ok",
    });
    expect(line.principal!.id).toMatch(/\S/);
    expect(line.durationMs).toBeGreaterThan(0);
    expect(line.bytesIn).toBeGreaterThan(100);
    expect(line.bytesOut).toBeGreaterThan(100);
    // Exactly one line for the request.
    expect(lines().filter((l) => l.requestId === "client-id.42:a_b-c")).toHaveLength(1);
  });

  it("generates one id when none (or an unusable one) is given: header, log line and events agree", async () => {
    for (const [name, headers] of [
      ["model without id", {}],
      ["model with a bad id", { "x-request-id": "has spaces and ünïcode" }],
    ] as const) {
      const echoed = await createModel(name, headers);
      expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
      expect(await correlationIdOf(name)).toBe(echoed);
      expect((await lineFor(echoed)).operations).toEqual(["CreateIt"]);
    }
  });

  it("gives each WebSocket operation an id of its own", async () => {
    const socket = new WebSocket(`${server.url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
    const completed = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.once("open", () => socket.send(JSON.stringify({ type: "connection_init" })));
      socket.on("message", (data: Buffer) => {
        const message = JSON.parse(String(data)) as { type: string; id?: string };
        if (message.type === "connection_ack")
          for (const id of ["1", "2"])
            socket.send(
              JSON.stringify({
                id,
                type: "subscribe",
                payload: {
                  query: `mutation { createRegisteredModel(input: { name: "over ws ${id}" }) { __typename } }`,
                },
              }),
            );
        if (message.type === "complete") completed.add(message.id!);
        if (completed.size === 2) resolve();
      });
    });
    socket.close();
    const first = await correlationIdOf("over ws 1");
    const second = await correlationIdOf("over ws 2");
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toMatch(/^[0-9a-f-]{36}$/);
    expect(first).not.toBe(second);
  });

  it("says how requests ended, names no credentials, and logs routes not paths", async () => {
    const token = "rg_secret-token-that-must-not-be-logged";
    const refused = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${token}`,
        "x-request-id": "unauth-1",
      },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(refused.status).toBe(401);
    expect((await lineFor("unauth-1")).outcome).toBe("client_error");
    const invalid = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "invalid-1" },
      body: JSON.stringify({ query: "query Wrong { nope }" }),
    });
    await invalid.arrayBuffer();
    expect((await lineFor("invalid-1")).outcome).toMatch(/error/);
    const missing = await fetch(`${server.url}/artifacts/secret%20model/1/x.bin`, {
      headers: { "x-request-id": "dl-1" },
    });
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
    expect(await lineFor("dl-1")).toMatchObject({
      route: "/artifacts/{model}/{version}/{path}",
      status: 404,
    });
    const text = raw.join("\n");
    expect(text).not.toContain(token);
    expect(text).not.toContain("secret model");
    expect(text).not.toContain("secret%20model");
  });
});
