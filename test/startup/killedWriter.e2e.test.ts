// A server killed (SIGKILL) while it registers versions as fast as its clients send them, with WAL
// checkpoints running in its worker thread: restarted on the same file, every version it had
// acknowledged is there, and the history still verifies (no half-written event).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServerProcess } from "../support/serverProcess.ts";

const CREATE = `mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { __typename ... on ModelVersionPayload { modelVersion { version } } }
}`;

async function gql(url: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: unknown };
}

describe("a server killed while writing", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-killed-writer-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = {
    DATABASE_URL: `file:${path.join(dataDir, "registro.db")}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    INSPECTION: "off",
  };

  it("keeps every acknowledged version", async () => {
    const first = await startServerProcess(env);
    await gql(first.url, `mutation { createRegisteredModel(input: {name: "m"}) { __typename } }`);
    const acknowledged = new Set<number>();
    let stop = false;
    // Four clients in a closed loop; the kill lands while requests (and checkpoints) are in flight.
    const clients = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const body = await gql(first.url, CREATE, { input: { name: "m", source: "s3://b/m" } }).catch(
          () => null,
        );
        const version = body?.data?.createModelVersion?.modelVersion?.version as number | undefined;
        if (version !== undefined) acknowledged.add(version);
      }
    });
    // Enough writes that checkpoints (every 200 ms) run among them; bounded in time too, so a
    // loaded machine kills it earlier instead of timing out.
    const until = Date.now() + 30_000;
    while (acknowledged.size < 600 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(acknowledged.size).toBeGreaterThan(50);
    // Listen before killing: a process killed by a signal keeps exitCode null, so once it has
    // exited, nothing would tell a listener attached later.
    const exited = new Promise((resolve) => first.child.once("exit", resolve));
    first.child.kill("SIGKILL");
    stop = true;
    await Promise.all(clients);
    await exited;

    const second = await startServerProcess(env);
    try {
      const body = await gql(
        second.url,
        `{ registeredModel(name: "m") { versions(first: 1) { totalCount } latestVersions { version } } }`,
      );
      expect(body.errors).toBeUndefined();
      const max = Math.max(...acknowledged);
      // Acknowledged means committed: none is missing. A version committed but not yet answered
      // when the kill came may be there too.
      expect(body.data.registeredModel.versions.totalCount).toBeGreaterThanOrEqual(acknowledged.size);
      expect(body.data.registeredModel.versions.totalCount).toBeGreaterThanOrEqual(max);
      const next = await gql(second.url, CREATE, { input: { name: "m", source: "s3://b/m" } });
      expect(next.data.createModelVersion.modelVersion.version).toBe(
        body.data.registeredModel.versions.totalCount + 1,
      );
    } finally {
      second.child.kill("SIGTERM");
      await new Promise((resolve) => second.child.once("exit", resolve));
    }
  }, 120_000);
});
