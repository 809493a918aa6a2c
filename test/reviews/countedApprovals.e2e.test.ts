// ReviewRequest.countedApprovals reads its approvers' standing and its model's grants batched per
// GraphQL request: a page of open requests costs as many read queries as a page of two.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { createServiceAccount } from "../support/serviceAccounts.ts";
import type { ServiceAccount } from "../support/serviceAccounts.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

type Json = any;

const PAGE = `query($first: Int!) {
  reviewRequests(first: $first, filter: { status: OPEN }) { nodes { id countedApprovals } }
}`;

describe.each(await providers())("countedApprovals on a page of requests (%s)", (provider) => {
  let server: TestServer;
  let queries = 0;
  const VERSIONS = 12;

  async function call(who: ServiceAccount | null, field: string, input: object): Promise<void> {
    const answer = await server.gql(
      `mutation($input: ${field.charAt(0).toUpperCase()}${field.slice(1)}Input!) { ${field}(input: $input) { __typename } }`,
      { input },
      who?.headers ?? {},
    );
    expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
    expect(answer.data[field].__typename).toMatch(/Payload$/);
  }

  beforeAll(async () => {
    // The subscription tailer reads the events table on its own schedule; only projection reads count.
    server = await startTestServer(provider, {
      onReadQuery: (sql) => {
        if (!/\bevents\b/.test(sql)) queries++;
      },
    });
    const gql: TestServer["gql"] = (q, v, h) => server.gql(q, v, h);
    const [alice, bob, carol] = await Promise.all(
      ["alice", "bob", "carol"].map((n) => createServiceAccount(gql, n)),
    );
    for (const [m, name] of ["counted-a", "counted-b"].entries()) {
      await call(null, "createRegisteredModel", { name });
      await call(null, "grantModelPermission", { name, principalId: alice!.id, permission: "EDIT" });
      await call(null, "setModelReviewPolicy", {
        name,
        rules: [
          {
            stage: "PRODUCTION",
            requiredApprovals: 3,
            reviewers: [{ principalId: bob!.id }, { principalId: carol!.id }],
          },
        ],
      });
      for (let v = 1; v <= VERSIONS / 2; v++) {
        await call(null, "createModelVersion", { name, source: `s3://counted/${m}/${v}` });
        await call(alice!, "requestReview", { name, version: v, stage: "PRODUCTION", reason: "ready" });
      }
    }
    const open = await server.gql(PAGE, { first: VERSIONS });
    for (const { id } of open.data.reviewRequests.nodes) {
      await call(bob!, "approveReviewRequest", { id });
      await call(carol!, "approveReviewRequest", { id });
    }
    // carol can no longer approve: each request counts bob's approval only.
    await call(null, "setPrincipalRole", { principalId: carol!.id, role: "VIEWER" });
  });
  afterAll(async () => server?.close());

  async function count(first: number) {
    queries = 0;
    const result = await server.gql(PAGE, { first });
    expect(result.errors).toBeUndefined();
    return { queries, nodes: result.data.reviewRequests.nodes as Json[] };
  }

  it(`a page of ${VERSIONS} requests costs the same number of queries as a page of 2`, async () => {
    const small = await count(2);
    const large = await count(VERSIONS);
    expect(small.nodes).toHaveLength(2);
    expect(large.nodes).toHaveLength(VERSIONS);
    expect(large.nodes.map((n) => n.countedApprovals)).toEqual(Array(VERSIONS).fill(1));
    expect(large.queries).toBe(small.queries);
    expect(large.queries).toBeLessThanOrEqual(6);
  });
});
