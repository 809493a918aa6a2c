// GraphQL-over-HTTP conformance: the graphql-http audit suite (MUST, SHOULD and MAY) against the
// real server. Frontend tooling relies on these behaviours (status codes, content types, GET).
import { serverAudits } from "graphql-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer("sqlite");
});
afterAll(async () => server?.close());

describe("GraphQL over HTTP audit", () => {
  for (const audit of serverAudits({ url: () => server.graphqlUrl, fetchFn: fetch })) {
    it(audit.name, async () => {
      const result = await audit.fn();
      if (result.status !== "ok") expect.fail(`${result.status}: ${result.reason}`);
    });
  }
});
