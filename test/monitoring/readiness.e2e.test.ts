// /readyz: ready only when the database answers, every migration this release knows is applied,
// the blob store takes a write, and shutdown has not begun; /healthz stays about being alive.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listMigrations } from "../../src/db/migrate.ts";
import { checkReadiness } from "../../src/http/health.ts";
import { providers } from "../support/databases.ts";
import { FsBlobStore } from "../../src/artifacts/fsBlobStore.ts";
import { folderStore, startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

interface Report {
  status: string;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

describe.each(await providers())("/readyz on %s", (provider) => {
  let server: TestServer;
  const scratch = mkdtempSync(path.join(tmpdir(), "registro-readyz-"));
  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("is ready with every check passing, and probes leave no file behind", async () => {
    const response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(200);
    const report = (await response.json()) as Report;
    expect(report.status).toBe("ok");
    for (const check of ["database", "prototypes", "migrations", "blobStore", "shutdown", "eventLog"])
      expect(report.checks[check], check).toEqual({ ok: true });
    const tmpRoot = folderStore(server.registro).tmpRoot;
    expect(readdirSync(tmpRoot).filter((name) => name.startsWith(".readyz-probe"))).toEqual([]);
  });

  it("is not ready while a migration this release knows is missing from the database", async () => {
    const known = listMigrations(provider).map((m) => m.name);
    const report = await checkReadiness(server.registro.db.reader, server.registro.app.logIntegrity, {
      migrations: [...known, "29991231000000_from_the_future"],
    });
    expect(report.status).toBe("failing");
    expect(report.checks.migrations).toEqual({
      ok: false,
      detail: "not applied: 29991231000000_from_the_future",
    });
    const current = await checkReadiness(server.registro.db.reader, server.registro.app.logIntegrity, {
      migrations: known,
    });
    expect(current.status).toBe("ok");
  });

  it("is not ready when the blob store cannot be written", async () => {
    const file = path.join(scratch, "not-a-folder");
    writeFileSync(file, "x");
    const report = await checkReadiness(server.registro.db.reader, server.registro.app.logIntegrity, {
      blobStore: new FsBlobStore(file),
    });
    expect(report.status).toBe("failing");
    expect(report.checks.blobStore!.ok).toBe(false);
    expect(report.checks.blobStore!.detail).toMatch(/ENOTDIR|EEXIST/);
  });

  it("answers 503 as soon as shutdown begins, while /healthz and requests still work", async () => {
    server.registro.app.beginShutdown();
    const response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(503);
    expect(response.headers.get("connection")).toBe("close");
    const report = (await response.json()) as Report;
    expect(report.status).toBe("failing");
    expect(report.checks.shutdown!.ok).toBe(false);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await server.gql(`{ __typename }`)).data).toEqual({ __typename: "Query" });
  });
});
