// A failure no handler expected, thrown in the synchronous part of a request's or a WebSocket
// upgrade's handling, is that request's 500, never the end of the process (an exception thrown
// from the server's "request" or "upgrade" listener ends it: `GET //[` once did). The host check,
// which both run first, is made to throw for requests that carry a marker header.
import { request } from "node:http";
import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import type * as HostCheckModule from "../../src/http/hostCheck.ts";

vi.mock("../../src/http/hostCheck.ts", async (importOriginal) => {
  const original = await importOriginal<typeof HostCheckModule>();
  return {
    ...original,
    hostCheck: (...args: Parameters<typeof original.hostCheck>) => {
      const check = original.hostCheck(...args);
      return {
        ...check,
        refusal: (req: IncomingMessage) => {
          if (req.headers["x-test-fail"] !== undefined) throw new Error("a handler's own mistake");
          return check.refusal(req);
        },
      };
    },
  };
});

/** One request with the marker header: the status line and body, or the error that ended it. */
function send(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { "x-test-fail": "1", ...headers } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("failures inside the handlers", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("sqlite");
  });
  afterAll(async () => server?.close());

  it("answers a request whose handling throws with 500 INTERNAL_SERVER_ERROR, and keeps serving", async () => {
    const answer = await send(`${server.url}/healthz`, {});
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "INTERNAL_SERVER_ERROR" } });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("answers an upgrade whose handling throws with 500, and keeps serving", async () => {
    const answer = await send(server.graphqlUrl, {
      connection: "Upgrade",
      upgrade: "websocket",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-protocol": "graphql-transport-ws",
    });
    expect(answer.status).toBe(500);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
