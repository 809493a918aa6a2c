// `npm run access:bootstrap` as a child process, on both providers: the first admin and its token
// (which the server then accepts), and the refusal once an admin exists.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { createRegistro } from "../../src/registro.ts";
import { createTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/access/cli/bootstrap.ts", ...args],
      { cwd: ROOT, env: { ...inherited, ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe.each(await providers())("the access:bootstrap CLI on %s", (provider) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-bootstrap-"));
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("creates the first admin and prints its token once, then refuses", { timeout: 120_000 }, async () => {
    database = await createTestDatabase(provider);
    const config = database.config;
    const env: Record<string, string> =
      config.provider === "sqlite"
        ? { DATA_DIR: path.dirname(config.file) }
        : { DATA_DIR: dataDir, DATABASE_URL: config.url };

    const first = await runCli(["--name", "Ada", "--email", "ada@example.com"], env);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const secret = first.stdout.match(/^rgo_[A-Za-z0-9_-]{43}$/m)?.[0];
    expect(secret).toBeDefined();

    const again = await runCli(["--name", "Eve"], env);
    expect(again.code).toBe(2);
    expect(again.stdout).toMatch(/an administrator exists already/);
    expect(again.stdout).not.toMatch(/rgo_/);

    const invalid = await runCli(["--name", ""], env);
    expect(invalid.code).toBe(2);
    expect((await runCli([], env)).code).toBe(2);

    const registro = await createRegistro({ database: config, dataDir, logger: pino({ level: "silent" }) });
    try {
      const caller = await registro.app.directory.verifyToken(secret ?? "", new Date());
      expect(caller?.principal).toMatchObject({
        displayName: "Ada",
        email: "ada@example.com",
        role: "ADMIN",
      });
      expect(caller?.credential).toMatchObject({ kind: "token", scopes: ["read", "write", "admin"] });
      expect(await registro.db.reader.principal.count()).toBe(1);
    } finally {
      await registro.close();
    }
  });
});
