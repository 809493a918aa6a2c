// Requests Node's HTTP parser refuses before any route runs, sent over raw sockets: the answer has
// the error shape of the endpoint the request line names (MLflow's on MLflow's paths, GraphQL's on
// /graphql, the server's elsewhere), with the parser's status, and garbage never stops the server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendBytes } from "../fuzz/hostileRequests.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

let server: TestServer;
let port: number;
beforeAll(async () => {
  server = await startTestServer("sqlite");
  port = Number(new URL(server.url).port);
});
afterAll(async () => server?.close());

/** Writes `bytes` in one go and reads the answer: status and parsed body. */
async function exchange(bytes: Buffer | string) {
  const { status, body } = await sendBytes(port, bytes, { kind: "client error" });
  const text = body.toString("utf8");
  try {
    return { status, body: JSON.parse(text) as unknown };
  } catch {
    return { status, body: text };
  }
}

const hugeHeader = (target: string) =>
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(20 * 1024)}\r\n\r\n`;
const badLine = (target: string) => `GET ${target} not-a-version\r\nHost: 127.0.0.1\r\n\r\n`;
const badHeader = (target: string) => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n`;

const MLFLOW_PATHS = [
  "/api/2.0/mlflow/registered-models/get?name=m",
  "/ajax-api/2.0/mlflow/registered-models/search",
  "/api/2.0/mlflow-artifacts/artifacts/run/model/MLmodel",
  "/ajax-api/2.0/mlflow-artifacts/artifacts?path=run",
];

describe("requests Node's parser refuses", () => {
  it.each(MLFLOW_PATHS)("answers %s in MLflow's error shape", async (target) => {
    expect(await exchange(hugeHeader(target))).toEqual({
      status: 431,
      body: {
        error_code: "BAD_REQUEST",
        message: "the request's headers are larger than the server accepts",
      },
    });
    for (const request of [badLine(target), badHeader(target), `GET ${target}\u0001 HTTP/1.1\r\n\r\n`])
      expect(await exchange(request)).toEqual({
        status: 400,
        body: { error_code: "BAD_REQUEST", message: "the request is not valid HTTP/1.1" },
      });
  });

  it("answers /graphql in GraphQL's error shape", async () => {
    expect(await exchange(hugeHeader("/graphql?query=%7B__typename%7D"))).toEqual({
      status: 431,
      body: {
        errors: [
          {
            message: "the request's headers are larger than the server accepts",
            extensions: { code: "HEADERS_TOO_LARGE" },
          },
        ],
      },
    });
    expect(await exchange(badLine("/graphql"))).toEqual({
      status: 400,
      body: {
        errors: [{ message: "the request is not valid HTTP/1.1", extensions: { code: "BAD_REQUEST" } }],
      },
    });
  });

  it("answers other paths, and bytes with no request line, in the server's shape, and keeps serving", async () => {
    expect(await exchange(hugeHeader("/healthz"))).toMatchObject({
      status: 431,
      body: { error: { code: "HEADERS_TOO_LARGE" } },
    });
    const garbage = [
      Buffer.from([0, 255, 13, 10, 13, 10, 1, 2, 3]),
      `GET ${"/".repeat(40 * 1024)}`,
      `GET /api/2.0/mlflow/x${"%".repeat(40 * 1024)} HTTP/1.1\r\n\r\n`,
      "GET //[ HTTP/1.1 junk\r\n\r\n",
      "GET /api/2.0/mlflow-artifacts/artifacts/a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "\u00ff\u00fe GET /api/2.0/mlflow/x HTTP/1.1\r\n\r\n",
    ];
    for (const bytes of garbage) {
      const answer = await exchange(bytes);
      const shown = JSON.stringify(bytes.toString().slice(0, 40));
      expect([400, 431], shown).toContain(answer.status);
      const body = answer.body as { error_code?: string; error?: { code?: string } };
      expect(body.error_code ?? body.error?.code, shown).toMatch(/^(BAD_REQUEST|HEADERS_TOO_LARGE)$/);
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
