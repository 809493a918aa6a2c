// Runs `npm run audit:checkpoint` and `npm run audit:verify` as child processes, as an operator does.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { createTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { rewriteStream, tamper } from "./tamper.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function npmRun(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(
      "npm",
      ["run", "--silent", script, "--", ...args],
      { cwd: ROOT, env: { ...inherited, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe.each(await providers())("the audit CLIs on %s", (provider) => {
  let database: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), "registro-audit-cli-"));
  const exported = path.join(dir, "checkpoint.json");
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    env =
      database.config.provider === "sqlite"
        ? { DATA_DIR: path.dirname(database.config.file) }
        : { DATA_DIR: dir, DATABASE_URL: database.config.url };
    env.AUDIT_SIGNING_KEY_FILE = path.join(dir, "keys", "signing.pem");
    const db = openDatabase(database.config);
    try {
      const deps = commandDeps(db);
      await createModelNamed(deps, "m1", "one");
      await createModelNamed(deps, "m2", "two");
      await run(deps, live("one"), createVersion());
    } finally {
      // One client per SQLite file per process: the CLIs must be the only writers while they run.
      await db.close();
    }
  });
  afterAll(async () => {
    await database.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("signs and exports a checkpoint, then verifies the log against it", { timeout: 60_000 }, async () => {
    const made = await npmRun("audit:checkpoint", ["--export", exported], env);
    expect(made.stderr).toBe("");
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(
      /^Signed checkpoint at position 3: root [0-9a-f]{64}, 2 streams, key sha256:[0-9a-f]{64} /,
    );

    const verified = await npmRun("audit:verify", ["--json", "--checkpoint", exported], env);
    expect(verified.code).toBe(0);
    const report = JSON.parse(verified.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      ok: true,
      chains: { ok: true, streams: 2, events: 3 },
      checkpoints: { ok: true, checked: 1 },
      exported: { ok: true, position: 3, streamCount: 2 },
      signingKey: { fingerprint: expect.stringMatching(/^sha256:/) },
    });
  });

  it(
    "exits 1 and names the mismatch when a chain was rewritten consistently",
    { timeout: 60_000 },
    async () => {
      await tamper(database.config, (t) =>
        rewriteStream(t, "m2", { modelId: "m2", name: "two", description: "rewritten", tags: [] }),
      );
      const verified = await npmRun("audit:verify", ["--checkpoint", exported], env);
      expect(verified.code).toBe(1);
      expect(verified.stdout).toContain("Chains: every stream's chain holds.");
      expect(verified.stdout).toContain("Checkpoints: 1 of 1 FAILED:");
      expect(verified.stdout).toMatch(
        /Exported checkpoint .* MISMATCH:\n {2}the streams' heads at position 3 no longer hash/,
      );
      expect(verified.stdout.trimEnd().split("\n").at(-1)).toBe("FAILED");
    },
  );

  it("exits 2 on a usage error and on a file that is not a checkpoint", { timeout: 60_000 }, async () => {
    expect((await npmRun("audit:verify", ["--no-such-option"], env)).code).toBe(2);
    const bogus = path.join(dir, "bogus.json");
    writeFileSync(bogus, JSON.stringify({ format: "something else" }));
    const result = await npmRun("audit:verify", ["--checkpoint", bogus], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain("not a checkpoint file");
  });
});

describe("audit:checkpoint on an empty log", () => {
  it("signs nothing, makes no key and exits 1", { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "registro-audit-empty-"));
    try {
      const result = await npmRun("audit:checkpoint", [], { DATA_DIR: dataDir });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/the event log of SQLite .* is empty; nothing to sign\./);
      expect(existsSync(path.join(dataDir, "audit-signing-key.pem"))).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
