// `auditCheckpoints` over HTTP (local mode: the administrator), and the role check with callers that
// authentication at the edge would set, by executing the schema with such a context.
import { statSync } from "node:fs";
import path from "node:path";
import { graphql } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actorOf } from "../../src/access/actor.ts";
import { DEFAULT_ACCESS_POLICY } from "../../src/access/modelAccess.ts";
import type { Caller, RegistryRole } from "../../src/access/principal.ts";
import { requestAccess } from "../../src/access/scopedReader.ts";
import { signatureProblem } from "../../src/audit/checkpoints.ts";
import { lastPosition } from "../../src/store/eventStore.ts";
import type { GraphQLContext } from "../../src/graphql/context.ts";
import { schema } from "../../src/graphql/schema.ts";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const QUERY = `{ auditCheckpoints(first: 10) { totalCount edges { cursor node {
  position root streamCount createdAt algorithm keyFingerprint signature publicKey } } } }`;

describe.each(await providers())("auditCheckpoints on %s", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => server?.close());

  async function as(role: RegistryRole) {
    const caller: Caller = {
      principal: { id: `p-${role}`, kind: "USER", displayName: role, email: null, role, teamIds: [] },
      credential: { kind: "token", tokenId: "t", scopes: ["read"] },
    };
    const app = server.registro.app;
    const contextValue = {
      db: server.registro.db,
      commands: app.commands,
      directory: app.directory,
      caller,
      actor: actorOf(caller),
      correlationId: null,
      ...requestAccess(server.registro.db.reader, DEFAULT_ACCESS_POLICY, caller),
      accessPolicy: DEFAULT_ACCESS_POLICY,
    } as unknown as GraphQLContext;
    return graphql({ schema, source: QUERY, contextValue });
  }

  it("lists the server's signed checkpoints, newest first, with what verifies them", async () => {
    expect((await server.gql(QUERY)).data?.auditCheckpoints).toEqual({ totalCount: 0, edges: [] });
    const created = await server.gql(
      `mutation { createRegisteredModel(input: { name: "audited" }) { __typename } }`,
    );
    expect(created.errors).toBeUndefined();
    const first = await server.registro.checkpoints.checkpoint();
    expect(first?.created).toBe(true);
    await server.gql(`mutation { createRegisteredModel(input: { name: "audited-2" }) { __typename } }`);
    const second = await server.registro.checkpoints.checkpoint();
    expect(statSync(path.join(server.dataDir, "audit-signing-key.pem")).mode & 0o777).toBe(0o600);

    const answer = await server.gql(QUERY);
    expect(answer.errors).toBeUndefined();
    const nodes = answer.data.auditCheckpoints.edges.map((e: { node: Record<string, unknown> }) => e.node);
    expect(answer.data.auditCheckpoints.totalCount).toBe(2);
    expect(nodes.map((n: { position: number }) => n.position)).toEqual([
      second!.checkpoint.position,
      first!.checkpoint.position,
    ]);
    // The local administrator's principal stream, and one more model stream than the first time.
    expect(second!.checkpoint.streamCount).toBe(first!.checkpoint.streamCount + 1);
    expect(nodes[0]).toMatchObject({
      streamCount: second!.checkpoint.streamCount,
      algorithm: "Ed25519",
      root: second!.checkpoint.root,
      keyFingerprint: first!.checkpoint.keyFingerprint,
    });
    // What the API hands out is enough to check the signature elsewhere.
    expect(signatureProblem({ ...nodes[0], createdAt: new Date(nodes[0].createdAt as string) })).toBeNull();
  });

  it("answers AUDITOR and refuses other roles with PERMISSION_DENIED", async () => {
    const auditor = await as("AUDITOR");
    expect(auditor.errors).toBeUndefined();
    expect((auditor.data as { auditCheckpoints: { totalCount: number } }).auditCheckpoints.totalCount).toBe(
      2,
    );
    for (const role of ["MEMBER", "VIEWER"] as const) {
      const refused = await as(role);
      expect(refused.data).toBeNull();
      expect(refused.errors?.map((e) => e.extensions.code)).toEqual(["PERMISSION_DENIED"]);
    }
  });
});

describe.each(await providers())("periodic checkpoints on %s", (provider) => {
  it("signs one when the log advanced, and none while it stands still", async () => {
    const server = await startTestServer(provider, { audit: { checkpointIntervalMs: 100 } });
    try {
      const checkpoints = async () => {
        const answer = await server.gql(`{ auditCheckpoints(first: 1) { totalCount nodes { position } } }`);
        const { totalCount, nodes } = answer.data.auditCheckpoints as {
          totalCount: number;
          nodes: { position: number }[];
        };
        return { totalCount, position: nodes[0]?.position ?? 0 };
      };
      const caughtUp = async () =>
        (await checkpoints()).position === (await lastPosition(server.registro.db.reader));
      // The first request also records the local administrator: a tick may fall between the two events.
      await server.gql(`mutation { createRegisteredModel(input: { name: "ticking" }) { __typename } }`);
      await expect.poll(caughtUp, { timeout: 10_000, interval: 50 }).toBe(true);
      const { totalCount } = await checkpoints();
      // Several more ticks without new events: no new checkpoint.
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await checkpoints()).totalCount).toBe(totalCount);
      await server.gql(`mutation { createRegisteredModel(input: { name: "ticking-2" }) { __typename } }`);
      await expect.poll(caughtUp, { timeout: 10_000, interval: 50 }).toBe(true);
      expect((await checkpoints()).totalCount).toBe(totalCount + 1);
    } finally {
      await server.close();
    }
  });
});
