// Two Registro processes on one PostgreSQL database: a subscriber connected to one receives every
// event committed through either, exactly once and in log order (NOTIFY wakes, the table delivers).
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { startServerProcess } from "../support/serverProcess.ts";
import { createModel, record, startServer, tag, wsClient } from "./support.ts";
import type { SubscriptionServer } from "./support.ts";

const postgres = (await providers()).includes("postgresql");

/** `npm start` in a child process (the honest second instance), sharing the first one's blob store. */
async function startChild(databaseUrl: string, artifactDir: string) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-child-"));
  const { child, port, url } = await startServerProcess({
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    ARTIFACT_DIR: artifactDir,
    LOG_LEVEL: "warn",
  });
  return {
    child,
    graphqlUrl: `${url}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    async stop(): Promise<number | null> {
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      const code = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

describe.skipIf(!postgres)("several instances on one PostgreSQL database", () => {
  let database: TestDatabase;
  let a: SubscriptionServer;
  let b: Awaited<ReturnType<typeof startChild>>;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    database = await createTestDatabase("postgresql");
    a = await startServer("postgresql", { database });
    b = await startChild((database.config as { url: string }).url, a.registro.blobs.location);
    child = b.child;
  }, 60_000);
  afterAll(async () => {
    if (child?.exitCode === null) await b.stop();
    await a?.close();
    await database?.destroy();
  });

  it("a subscriber on one instance receives every event of a concurrent burst through both, exactly once and in order", async () => {
    const models = ["burst-0", "burst-1", "burst-2", "burst-3"];
    for (const name of models) await createModel(a.graphqlUrl, name);
    const clientB = wsClient(b.wsUrl);
    const clientA = wsClient(a.wsUrl);
    const admin = new pg.Client({ connectionString: (database.config as { url: string }).url });
    await admin.connect();
    try {
      const { rows: head } = await admin.query<{ p: number }>(
        "SELECT COALESCE(MAX(position), 0)::int AS p FROM events",
      );
      // Subscribe from a cursor (the current head), so the subscription is live before the burst starts.
      const cursor = Buffer.from(`registro:log:v1:${head[0]!.p}`).toString("base64url");
      const query = "subscription($after: String) { registryEvents(after: $after) { position data } }";
      const onB = record(clientB, query, { after: cursor });
      const onA = record(clientA, query, { after: cursor });

      const perWorker = 10;
      await Promise.all(
        models.flatMap((name, m) =>
          [a.graphqlUrl, b.graphqlUrl].map(async (url, side) => {
            for (let i = 0; i < perWorker; i++) await tag(url, name, `w${m}-${side}-${i}`, String(i));
          }),
        ),
      );
      const total = models.length * 2 * perWorker;
      const { rows } = await admin.query<{ position: number }>(
        // Model streams only: an instance's first request also records its local administrator
        // (a principal: stream), which model subscriptions never deliver.
        "SELECT position FROM events WHERE position > $1 AND stream_id NOT LIKE '%:%' ORDER BY position",
        [head[0]!.p],
      );
      expect(rows).toHaveLength(total);
      const expected = rows.map((r) => r.position);
      await onB.waitFor(total, 20_000);
      await onA.waitFor(total, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 300)); // nothing extra may follow
      expect(onB.data.map((d) => d.registryEvents.position)).toEqual(expected);
      expect(onA.data.map((d) => d.registryEvents.position)).toEqual(expected);
      // Both sides' writes are in there.
      const keys = onB.data.map((d) => d.registryEvents.data.key as string);
      expect(keys.filter((k) => /-0-/.test(k))).toHaveLength(total / 2);
      expect(keys.filter((k) => /-1-/.test(k))).toHaveLength(total / 2);
    } finally {
      await admin.end();
      await clientA.dispose();
      await clientB.dispose();
    }
  });

  it("notifies across instances promptly (a write on A reaches a subscriber on B well within a second)", async () => {
    await createModel(a.graphqlUrl, "latency");
    const clientB = wsClient(b.wsUrl);
    try {
      const changes = record(
        clientB,
        `subscription { registryEvents(filter: { models: ["latency"] }) { position } }`,
      );
      // Without a cursor, delivery starts with the next event: prime until the subscription is live.
      for (let i = 0; changes.data.length === 0 && i < 100; i++) {
        await tag(a.graphqlUrl, "latency", "prime", String(i));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const count = changes.data.length;
      const started = performance.now();
      await tag(a.graphqlUrl, "latency", "timed", "1");
      await changes.waitFor(count + 1, 5_000);
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      await clientB.dispose();
    }
  });

  it("the child instance shuts down cleanly on SIGTERM", async () => {
    expect(await b.stop()).toBe(0);
  });
});
