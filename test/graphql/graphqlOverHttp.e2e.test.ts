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

// A GET can be sent by any page a user visits, so the registry serves it only with a header that a
// page elsewhere cannot add without a CORS preflight (CSRF prevention). The audit's three GET cases
// send none: its client adds one, as every real client of GET must (tested below without it).
const withCsrfHeader: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set("x-registro-csrf", "1");
  return fetch(input, { ...init, headers });
};

describe("GraphQL over HTTP audit", () => {
  for (const audit of serverAudits({ url: () => server.graphqlUrl, fetchFn: withCsrfHeader })) {
    it(audit.name, async () => {
      const result = await audit.fn();
      if (result.status !== "ok") expect.fail(`${result.status}: ${result.reason}`);
    });
  }

  it("refuses a GET without the CSRF header, and names the header", async () => {
    const response = await fetch(`${server.graphqlUrl}?query=${encodeURIComponent("{ __typename }")}`);
    expect(response.status).toBe(403);
    const body = await response.json();
    expect(body.errors[0].extensions.code).toBe("CSRF_HEADER_REQUIRED");
    expect(body.errors[0].message).toContain("x-registro-csrf");
  });
});
