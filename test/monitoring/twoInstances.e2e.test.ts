// Two server processes on one PostgreSQL database: each instance's counters count only its own
// requests and appends, and together they add up to what was sent.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { scrape, total } from "../support/prometheus.ts";
import { startServerProcess } from "../support/serverProcess.ts";
import type { ServerProcess } from "../support/serverProcess.ts";

const postgres = (await providers()).includes("postgresql");

async function gql(url: string, query: string) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body;
}

describe.skipIf(!postgres)("metrics of two instances on one PostgreSQL database", () => {
  let database: TestDatabase;
  const instances: ServerProcess[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase("postgresql");
    const url = (database.config as { url: string }).url;
    const shared = mkdtempSync(path.join(tmpdir(), "registro-two-"));
    dirs.push(shared);
    for (const name of ["a", "b"]) {
      const dataDir = mkdtempSync(path.join(tmpdir(), `registro-${name}-`));
      dirs.push(dataDir);
      instances.push(
        await startServerProcess({
          DATABASE_URL: url,
          DATA_DIR: dataDir,
          ARTIFACT_DIR: shared,
          LOG_LEVEL: "warn",
          INSPECTION: "off",
        }),
      );
    }
  }, 90_000);
  afterAll(async () => {
    await Promise.all(
      instances.map(
        (i) =>
          new Promise<void>((resolve) => {
            if (i.child.exitCode !== null) return resolve();
            i.child.once("exit", () => resolve());
            i.child.kill("SIGTERM");
          }),
      ),
    );
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await database?.destroy();
  });

  it("each counts its own requests and appends; the sums equal what was sent", async () => {
    const [a, b] = instances as [ServerProcess, ServerProcess];
    const sent = { a: 7, b: 4 };
    const created = { a: 3, b: 2 };
    await Promise.all([
      ...Array.from({ length: sent.a }, () => gql(a.url, "query Counted { __typename }")),
      ...Array.from({ length: sent.b }, () => gql(b.url, "query Counted { __typename }")),
      ...Array.from({ length: created.a }, (_, i) =>
        gql(a.url, `mutation Create { createRegisteredModel(input: { name: "a-${i}" }) { __typename } }`),
      ),
      ...Array.from({ length: created.b }, (_, i) =>
        gql(b.url, `mutation Create { createRegisteredModel(input: { name: "b-${i}" }) { __typename } }`),
      ),
    ]);
    const [onA, onB] = await Promise.all([scrape(a.url), scrape(b.url)]);
    const counted = (f: Awaited<ReturnType<typeof scrape>>) =>
      total(f, "registro_graphql_operation_duration_seconds", { operation: "Counted", outcome: "ok" });
    expect(counted(onA)).toBe(sent.a);
    expect(counted(onB)).toBe(sent.b);
    expect(counted(onA) + counted(onB)).toBe(sent.a + sent.b);
    const appended = (f: Awaited<ReturnType<typeof scrape>>) =>
      total(f, "registro_events_appended_total", { type: "RegisteredModelCreated" });
    expect([appended(onA), appended(onB)]).toEqual([created.a, created.b]);
    const posts = (f: Awaited<ReturnType<typeof scrape>>) =>
      total(f, "registro_http_requests_total", { route: "/graphql", method: "POST", status: "200" });
    expect(posts(onA)).toBe(sent.a + created.a);
    expect(posts(onB)).toBe(sent.b + created.b);
    // Both tailers follow the shared log: neither lags once idle.
    for (const f of [onA, onB])
      expect(total(f, "registro_log_lag_events", { follower: "subscriptions" })).toBe(0);
  }, 60_000);
});
