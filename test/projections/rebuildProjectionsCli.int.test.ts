// Runs `src/cli/rebuildProjections.ts` as a child process, as `npm run projections:rebuild` does.
import { storedHash } from "../../src/store/eventCodec.ts";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { databaseConfigFrom } from "../../src/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { ensureEventTypeSql, eventTypeCodeSql } from "../support/eventTypeSql.ts";
import { ensureEventActorSql, eventActorRefSql } from "../support/eventActorSql.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function runCli(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli/rebuildProjections.ts"],
      { cwd: ROOT, env: { ...inherited, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe("the projections:rebuild CLI against a SQLite DATA_DIR", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-cli-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("rebuilds damaged projections, prints a summary and exits 0", { timeout: 60_000 }, async () => {
    const config = databaseConfigFrom(undefined, dataDir);
    await migrate(config);
    const db = openDatabase(config);
    let expected: Awaited<ReturnType<typeof dumpProjections>>;
    try {
      const deps = commandDeps(db);
      await createModelNamed(deps, "cli-a", "alpha");
      await createModelNamed(deps, "cli-b", "beta");
      await run(deps, live("alpha"), createVersion({ tags: [{ key: "k", value: "v" }] }));
      await run(deps, live("alpha"), {
        type: "SetRegisteredModelAlias",
        data: { alias: "champion", version: 1 },
      });
      expected = await dumpProjections(db.reader);
      await db.write(async (tx) => {
        await tx.execute("DELETE FROM model_aliases");
        await tx.execute("UPDATE registered_models SET name = ? WHERE id = ?", ["garbage", "cli-b"]);
      });
    } finally {
      // One client per SQLite file per process: the CLI must be the only writer while it runs.
      await db.close();
    }

    const result = await runCli({ DATA_DIR: dataDir });
    expect(result.stderr).not.toMatch(/failed/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^Rebuilt projections from 4 events in 2 streams \\(SQLite ${path.join(dataDir, "registro.db").replaceAll(/[.\\/]/g, "\\$&")}\\) in \\d+ ms\\n$`,
      ),
    );

    const reopened = openDatabase(config);
    try {
      expect(await dumpProjections(reopened.reader)).toEqual(expected);
    } finally {
      await reopened.close();
    }
  });

  it(
    "lists every broken chain on stderr and exits 2, having rebuilt the rest",
    { timeout: 60_000 },
    async () => {
      const brokenDir = path.join(dataDir, "broken");
      const config = databaseConfigFrom(undefined, brokenDir);
      await migrate(config);
      const db = openDatabase(config);
      let expected: Awaited<ReturnType<typeof dumpProjections>>;
      try {
        const deps = commandDeps(db);
        await createModelNamed(deps, "cli-forged", "forged");
        await createModelNamed(deps, "cli-intact", "intact");
        expected = await dumpProjections(db.reader);
        await db.write(async (tx) => {
          await tx.execute(ensureEventTypeSql("RegisteredModelTagSet"));
          await tx.execute(ensureEventActorSql("intruder"));
          await tx.execute(
            `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, hash)
           VALUES ('cli-forged', 2, ${eventTypeCodeSql("RegisteredModelTagSet")}, 1, '{"key":"k","value":"v"}', ${eventActorRefSql("intruder")}, ?, ?)`,
            [new Date("2026-03-01T00:00:00Z"), storedHash("0".repeat(64))],
          );
        });
      } finally {
        await db.close();
      }
      const result = await runCli({ DATA_DIR: brokenDir });
      expect(result.code).toBe(2);
      expect(result.stdout).toMatch(/^Rebuilt projections from 2 events in 2 streams/);
      expect(result.stderr).toMatch(
        /^1 stream\(s\) with a broken hash chain, projected up to their last verified event \(1 event\(s\) left out\):\n {2}stream cli-forged revision 2 \(log position \d+\): the stored hash does not match/,
      );
      const reopened = openDatabase(config);
      try {
        expect(await dumpProjections(reopened.reader)).toEqual(expected);
      } finally {
        await reopened.close();
      }
    },
  );

  it("creates and migrates a database that does not exist yet", { timeout: 60_000 }, async () => {
    const fresh = path.join(dataDir, "fresh");
    const result = await runCli({ DATA_DIR: fresh });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Rebuilt projections from 0 events in 0 streams/);
  });

  it("exits non-zero with a clear message on invalid configuration", { timeout: 60_000 }, async () => {
    const result = await runCli({ DATA_DIR: dataDir, DATABASE_URL: "mysql://db/registro" });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      "projections:rebuild failed: invalid configuration: DATABASE_URL: must start with postgresql://",
    );
  });

  it(
    "exits non-zero with a clear message when the database cannot be opened",
    { timeout: 60_000 },
    async () => {
      const notADirectory = path.join(dataDir, "plain-file");
      writeFileSync(notADirectory, "not a directory");
      const result = await runCli({ DATA_DIR: notADirectory });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^projections:rebuild failed: .+/m);
    },
  );
});
