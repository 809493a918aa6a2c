// Every error a client can receive carries a code from the one list (src/http/errorCodes.ts), with
// the status the documentation promises: over HTTP, SSE and WebSocket, on both providers.
import http from "node:http";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/http/errorCodes.ts";
import { OPERATION_LIMITS } from "../../src/http/operationLimits.ts";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { record, sseSubscribe, wsClient } from "../subscriptions/support.ts";

const SPEC = "application/graphql-response+json";

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text; the assertions below then fail with the text in view
  }
  return { status: response.status, headers: response.headers, body };
}

/** The GraphQL error's code, checking it is the only error and that the code is a listed one. */
function graphqlCode({ body }: Answer): string {
  expect(body.errors, JSON.stringify(body)).toHaveLength(1);
  const code = body.errors[0].extensions?.code;
  expect(Object.keys(ERROR_CODES)).toContain(code);
  return code;
}

function httpCode({ body }: Answer): string {
  const code = body.error?.code;
  expect(Object.keys(ERROR_CODES), JSON.stringify(body)).toContain(code);
  return code;
}

const nested = (levels: number) => {
  let selection = "name";
  for (let i = 0; i < levels; i++) selection = `versions(first: 1) { nodes { model { ${selection} } } }`;
  return `{ registeredModels(first: 1) { nodes { ${selection} } } }`;
};
const tooDeep = nested(8);
const tooManyAliases = `{ ${Array.from(
  { length: OPERATION_LIMITS.maxAliases + 1 },
  (_, i) => `a${i}: registeredModels { nodes { name } }`,
).join(" ")} }`;
const tooManyTokens = `{ registeredModels { nodes { ${"name ".repeat(OPERATION_LIMITS.maxTokens)} } } }`;

describe.each(await providers())("error codes (%s)", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => server?.close());

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: SPEC, ...headers },
      body,
    }).then(answer);
  const query = (source: string, variables?: unknown) => post(JSON.stringify({ query: source, variables }));

  it("BAD_REQUEST: no query, invalid JSON, a bad variables value", async () => {
    for (const body of ["{}", "{", JSON.stringify({ query: "{ __typename }", variables: "x" })]) {
      const result = await post(body);
      expect(result.status, body).toBe(400);
      expect(graphqlCode(result), body).toBe("BAD_REQUEST");
    }
  });

  it("GRAPHQL_PARSE_FAILED and GRAPHQL_VALIDATION_FAILED", async () => {
    const parse = await query("{ registeredModels { ");
    expect(parse.status).toBe(400);
    expect(graphqlCode(parse)).toBe("GRAPHQL_PARSE_FAILED");
    const validation = await query("{ noSuchField }");
    expect(validation.status).toBe(400);
    expect(graphqlCode(validation)).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("BAD_USER_INPUT: a variable its type refuses, or a required one missing", async () => {
    const list = "query($n: Int) { registeredModels(first: $n) { nodes { name } } }";
    const create =
      "mutation($name: String!) { createRegisteredModel(input: { name: $name }) { __typename } }";
    for (const [source, variables] of [
      [list, { n: "ten" }],
      [list, { n: 2 ** 31 }],
      [create, {}],
      [create, { name: null }],
      [create, { name: ["refused-as-a-list"] }],
    ] as const) {
      const result = await query(source, variables);
      expect(result.status, JSON.stringify(variables)).toBe(400);
      expect(graphqlCode(result)).toBe("BAD_USER_INPUT");
      expect(result.body.data).toBeUndefined();
    }
  });

  it("BAD_REQUEST: an operation name the document does not define, or several operations and none named", async () => {
    for (const body of [
      { query: "query A { __typename }", operationName: "B" },
      { query: "query A { __typename } query B { __typename }" },
    ]) {
      const result = await post(JSON.stringify(body));
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(graphqlCode(result)).toBe("BAD_REQUEST");
      expect(result.body.data).toBeUndefined();
    }
  });

  it("MAX_DEPTH_EXCEEDED, MAX_ALIASES_EXCEEDED and MAX_TOKENS_EXCEEDED, each with its limit", async () => {
    for (const [source, code, limit] of [
      [tooDeep, "MAX_DEPTH_EXCEEDED", OPERATION_LIMITS.maxDepth],
      [tooManyAliases, "MAX_ALIASES_EXCEEDED", OPERATION_LIMITS.maxAliases],
      [tooManyTokens, "MAX_TOKENS_EXCEEDED", OPERATION_LIMITS.maxTokens],
    ] as const) {
      const result = await query(source);
      expect(result.status, code).toBe(400);
      expect(graphqlCode(result)).toBe(code);
      expect(result.body.errors[0].extensions.limit).toBe(limit);
      expect(result.body.errors[0].message).not.toMatch(/^Syntax Error/);
      expect(result.body.data).toBeUndefined();
    }
  });

  it("the same codes over WebSocket, and INVALID_CURSOR over WebSocket and SSE", async () => {
    const client = wsClient(server.graphqlUrl.replace("http:", "ws:"));
    try {
      for (const [source, code] of [
        [tooDeep, "MAX_DEPTH_EXCEEDED"],
        [tooManyTokens, "MAX_TOKENS_EXCEEDED"],
        ["{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"],
        ['subscription { registryEvents(after: "not-a-cursor") { cursor } }', "INVALID_CURSOR"],
      ] as const) {
        const recorder = record(client, source);
        await recorder.ended();
        const errors =
          (recorder.error as any[] | undefined) ?? recorder.results.flatMap((r) => r.errors ?? []);
        expect(
          errors.map((e: any) => e.extensions?.code),
          code,
        ).toEqual([code]);
      }
    } finally {
      await client.dispose();
    }
    const sse = await sseSubscribe(
      server.graphqlUrl,
      'subscription { registryEvents(after: "nope") { cursor } }',
    );
    await sse.finished();
    expect(sse.next()[0]?.errors[0].extensions.code).toBe("INVALID_CURSOR");
  });

  it("UNSUPPORTED_MEDIA_TYPE (415) and NOT_ACCEPTABLE (406) answer JSON, not an empty body", async () => {
    const unsupported = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/xml", accept: SPEC },
      body: "<query/>",
    }).then(answer);
    expect(unsupported.status).toBe(415);
    expect(graphqlCode(unsupported)).toBe("UNSUPPORTED_MEDIA_TYPE");

    const unacceptable = await post(JSON.stringify({ query: "{ __typename }" }), { accept: "image/png" });
    expect(unacceptable.status).toBe(406);
    expect(graphqlCode(unacceptable)).toBe("NOT_ACCEPTABLE");
    expect(unacceptable.headers.get("accept")).toContain("application/json");
  });

  it("METHOD_NOT_ALLOWED (405) on every route, with Allow", async () => {
    const graphql = await fetch(server.graphqlUrl, { method: "DELETE" }).then(answer);
    expect(graphql.status).toBe(405);
    expect(graphqlCode(graphql)).toBe("METHOD_NOT_ALLOWED");
    expect(graphql.headers.get("allow")).toBe("GET, POST");

    const mutationViaGet = await fetch(
      `${server.graphqlUrl}?query=${encodeURIComponent("mutation { __typename }")}`,
      { headers: { accept: SPEC, "x-registro-csrf": "1" } },
    ).then(answer);
    expect(mutationViaGet.status).toBe(405);
    expect(graphqlCode(mutationViaGet)).toBe("METHOD_NOT_ALLOWED");

    for (const [method, target, allow] of [
      ["POST", "/healthz", "GET, HEAD"],
      ["POST", "/", "GET, HEAD"],
      ["DELETE", "/artifacts/m/1/model.bin", "GET, HEAD, PUT"],
    ] as const) {
      const result = await fetch(`${server.url}${target}`, { method }).then(answer);
      expect(result.status, target).toBe(405);
      expect(httpCode(result)).toBe("METHOD_NOT_ALLOWED");
      expect(result.headers.get("allow")).toBe(allow);
    }
  });

  it("NOT_FOUND (404) for unknown routes", async () => {
    for (const target of ["/nowhere", "/graphql/extra", "/docs/../package.json", "/%00"]) {
      const result = await fetch(`${server.url}${target}`).then(answer);
      expect(result.status, target).toBe(404);
      expect(httpCode(result)).toBe("NOT_FOUND");
    }
  });

  it("PAYLOAD_TOO_LARGE (413), whether the size is declared or only streamed", async () => {
    const declared = await new Promise<Answer>((resolve, reject) => {
      const { hostname, port } = new URL(server.url);
      const req = http.request(
        {
          hostname,
          port,
          path: "/graphql",
          method: "POST",
          headers: { "content-type": "application/json", accept: SPEC, "content-length": 30_000_000 },
        },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, headers: new Headers(), body: JSON.parse(text) });
          });
        },
      );
      req.on("error", reject);
      req.write('{"query":"');
    });
    expect(declared.status).toBe(413);
    expect(graphqlCode(declared)).toBe("PAYLOAD_TOO_LARGE");

    const chunk = Buffer.alloc(1024 * 1024, "a");
    const streamed = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: SPEC },
      body: Readable.toWeb(
        Readable.from(
          (function* () {
            yield Buffer.from('{"query":"{ __typename }","x":"');
            for (let i = 0; i < 26; i++) yield chunk;
            yield Buffer.from('"}');
          })(),
        ),
      ) as ReadableStream,
      duplex: "half",
    } as RequestInit).then(answer);
    expect(streamed.status).toBe(413);
    expect(graphqlCode(streamed)).toBe("PAYLOAD_TOO_LARGE");
  });

  it("INTERNAL_SERVER_ERROR: a failing database is masked, in GraphQL and on plain routes", async () => {
    const db = server.registro.db as { reader: any };
    const reader = db.reader;
    const failing = new Proxy(reader, {
      get(target, property) {
        if (property === "registeredModel" || property === "modelVersion")
          return new Proxy(
            {},
            { get: () => () => Promise.reject(new Error("password=hunter2 connection refused")) },
          );
        return Reflect.get(target, property, target);
      },
    });
    Object.defineProperty(db, "reader", { value: failing, configurable: true, writable: true });
    try {
      const graphql = await query("{ registeredModels { nodes { name } } }");
      expect(graphqlCode(graphql)).toBe("INTERNAL_SERVER_ERROR");
      expect(graphql.body.errors[0].message).toBe("Unexpected error.");
      expect(JSON.stringify(graphql.body)).not.toContain("hunter2");

      const download = await fetch(`${server.url}/artifacts/m/1/model.bin`).then(answer);
      expect(download.status).toBe(500);
      expect(httpCode(download)).toBe("INTERNAL_SERVER_ERROR");
      expect(JSON.stringify(download.body)).not.toContain("hunter2");
    } finally {
      Object.defineProperty(db, "reader", { value: reader, configurable: true, writable: true });
    }
  });
});
