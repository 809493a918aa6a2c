// `npm start` with wrong settings: the process exits 1 and its stderr names what is wrong in one
// line; a PostgreSQL database that does not exist is created when the role may. Each case runs
// src/main.ts as a child process (as `npm start` does), bounded in time.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_URL, dropDatabaseWhenIdle, providers } from "../support/databases.ts";
import { startS3Server } from "../support/s3Server.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const RUN_TIMEOUT_MS = 30_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the server with only `env` (nothing inherited but PATH). Resolves when it exits, or, when
 * `until` matches its stdout first, after stopping it with SIGTERM.
 */
function runServer(
  env: Record<string, string>,
  options: { uid?: number; until?: RegExp } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", INSPECTION: "off", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the server neither exited nor started in time; stderr: ${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.until?.test(stdout)) child.kill("SIGTERM");
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A failed start: exit code 1 and exactly one line on stderr, which is returned. */
function failure(run: Run): string {
  expect(run.code, run.stderr).toBe(1);
  const lines = run.stderr.trim().split("\n");
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^Registro could not start: /);
  return lines[0]!;
}

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "registro-startup-"));
  // Also reachable by the unprivileged user of the "not writable" case.
  chmodSync(scratch, 0o777);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const folder = (name: string) => {
  const dir = path.join(scratch, `${name}-${randomUUID()}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

describe("authentication modes at start-up", () => {
  it("refuses AUTH=local on a non-loopback HOST, saying how to configure authentication", async () => {
    // Refused before anything listens: the test never opens a port on 0.0.0.0.
    const message = failure(await runServer({ DATA_DIR: folder("auth"), HOST: "0.0.0.0", AUTH: "local" }));
    expect(message).toContain(
      "AUTH=local is only allowed when HOST is a loopback address, but HOST is 0.0.0.0",
    );
    expect(message).toContain("npm run access:bootstrap");
    expect(message).toContain("OIDC_ISSUER");
  });

  it("starts on loopback without configuration in local mode, warning who credential-less callers are", async () => {
    const run = await runServer(
      { DATA_DIR: folder("local"), LOG_LEVEL: "info" },
      { until: /Registro listening/ },
    );
    expect(run.stdout).toMatch(
      /"level":40.*AUTH=local: requests without credentials act as the local administrator/,
    );
  });

  it("names an OIDC_JWKS_FILE that is not a key set", async () => {
    const file = path.join(folder("jwks"), "jwks.json");
    writeFileSync(file, "{ not json");
    const message = failure(
      await runServer({
        DATA_DIR: folder("oidc"),
        OIDC_ISSUER: "https://id.example.com",
        OIDC_AUDIENCE: "registro",
        OIDC_JWKS_FILE: file,
      }),
    );
    expect(message).toContain(`OIDC_JWKS_FILE ${file} cannot be used as a JSON Web Key Set`);
  });

  it("names incomplete OIDC settings", async () => {
    const message = failure(
      await runServer({ DATA_DIR: folder("oidc2"), OIDC_ISSUER: "https://id.example.com" }),
    );
    expect(message).toContain("invalid configuration: OIDC_AUDIENCE");
  });
});

describe("start-up failures (SQLite and folders)", () => {
  it("an invalid setting is named by zod's check", async () => {
    const message = failure(await runServer({ DATA_DIR: folder("env"), PORT: "not-a-port" }));
    expect(message).toContain("invalid configuration: PORT");
  });

  it("a malformed or denied INSPECTION_ALLOW_IMPORTS entry is named, with why", async () => {
    const message = failure(
      await runServer({ DATA_DIR: folder("allow"), INSPECTION_ALLOW_IMPORTS: "mylib.*, Thing, os.system" }),
    );
    expect(message).toContain("invalid configuration: INSPECTION_ALLOW_IMPORTS");
    expect(message).toContain('entry "Thing": expected module.name');
    expect(message).toContain(
      'entry "os.system" names the denied module os (and everything under it): the deny-list cannot be overridden',
    );
  });

  it("a DATA_DIR that cannot be created is named, with the reason", async () => {
    const file = path.join(folder("file"), "plain-file");
    writeFileSync(file, "not a folder");
    const dataDir = path.join(file, "data");
    const message = failure(await runServer({ DATA_DIR: dataDir }));
    expect(message).toContain(`DATA_DIR ${dataDir} does not exist and cannot be created`);
    expect(message).toContain("a part of the path is a file");
  });

  it("a missing DATA_DIR that can be created is created", async () => {
    const dataDir = path.join(folder("fresh"), "new", "data");
    const run = await runServer({ DATA_DIR: dataDir, LOG_LEVEL: "info" }, { until: /Registro listening/ });
    expect(run.stdout).toContain("Registro listening");
  });

  it("an ARTIFACT_DIR that is not writable is named", async () => {
    const dataDir = folder("data");
    chmodSync(dataDir, 0o777);
    const artifactDir = folder("blobs");
    // Root may write anywhere: run as an unprivileged user then (nobody), else remove write access.
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) chmodSync(artifactDir, 0o555);
    const message = failure(
      await runServer({ DATA_DIR: dataDir, ARTIFACT_DIR: artifactDir }, asRoot ? { uid: 65534 } : {}),
    );
    expect(message).toContain(`ARTIFACT_DIR ${artifactDir} is not writable`);
    chmodSync(artifactDir, 0o755);
  });

  it("refuses a blob store other than the one the database's artifacts live in, naming both", async () => {
    const dataDir = folder("one-registry");
    const first = await runServer({ DATA_DIR: dataDir, LOG_LEVEL: "info" }, { until: /Registro listening/ });
    expect(first.stdout).toContain("Registro listening");
    // The same database and the same store again: fine.
    const again = await runServer({ DATA_DIR: dataDir, LOG_LEVEL: "info" }, { until: /Registro listening/ });
    expect(again.stdout).toContain("Registro listening");
    // The same database with a folder of its own (another host's disk): refused.
    const elsewhere = folder("other-host-blobs");
    const message = failure(await runServer({ DATA_DIR: dataDir, ARTIFACT_DIR: elsewhere }));
    expect(message).toContain(`this instance's blob store (filesystem ${elsewhere}, id `);
    expect(message).toContain(
      `is not the one this database's artifacts live in (filesystem ${path.join(dataDir, "blobs")}, id `,
    );
    expect(message).toContain("npm run artifacts:migrate -- --switch");
  });

  it("names a bucket it cannot use: unreachable, missing, or without credentials", async () => {
    const s3 = await startS3Server();
    try {
      const unreachable = failure(
        await runServer({ DATA_DIR: folder("s3-a"), ...s3.env, S3_ENDPOINT: "http://127.0.0.1:1" }),
      );
      expect(unreachable).toContain("cannot use the blob store s3://registro-test/ at http://127.0.0.1:1");
      expect(unreachable).toContain("ECONNREFUSED");
      const missing = failure(
        await runServer({ DATA_DIR: folder("s3-b"), ...s3.env, S3_BUCKET: "no-such-bucket" }),
      );
      expect(missing).toContain("cannot use the blob store s3://no-such-bucket/");
      expect(missing).toContain("create the bucket or fix S3_BUCKET");
      const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...anonymous } = s3.env;
      const noCredentials = failure(
        await runServer({ DATA_DIR: folder("s3-c"), ...anonymous, HOME: folder("empty-home") }),
      );
      expect(noCredentials).toContain("give it credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    } finally {
      await s3.close();
    }
  }, 120_000); // three server processes started one after another: each takes seconds on a busy machine

  it("a DATABASE_URL file that is not a SQLite database is named", async () => {
    const file = path.join(folder("notadb"), "registro.db");
    writeFileSync(file, "this is not a database ".repeat(100));
    const message = failure(await runServer({ DATA_DIR: folder("d"), DATABASE_URL: `file:${file}` }));
    expect(message).toContain(`DATABASE_URL ${file} cannot be used as a SQLite database`);
    expect(message).toContain("SQLITE_NOTADB");
  });

  it("a Prisma error is an excerpt, not its code frame", async () => {
    const dataDir = folder("broken");
    const started = await runServer(
      { DATA_DIR: dataDir, LOG_LEVEL: "info" },
      { until: /Registro listening/ },
    );
    expect(started.stdout).toContain("Registro listening");
    const db = new Database(path.join(dataDir, "registro.db"));
    db.exec("DROP VIEW events");
    db.close();
    const message = failure(await runServer({ DATA_DIR: dataDir }));
    expect(message).toMatch(/database error \(Prisma P2021\): The table `main\.events` does not exist/);
    expect(message).not.toMatch(/invocation|→|eventStore\.ts/);
  });

  it("a port in use is named", async () => {
    const blocker = await new Promise<net.Server>((resolve) => {
      const server = net.createServer();
      server.listen(0, "127.0.0.1", () => resolve(server));
    });
    try {
      const port = (blocker.address() as AddressInfo).port;
      const message = failure(await runServer({ DATA_DIR: folder("port"), PORT: String(port) }));
      expect(message).toContain(`cannot listen on 127.0.0.1:${port}: the port is already in use`);
    } finally {
      blocker.close();
    }
  });

  it("an unreachable PostgreSQL server is named with its address", async () => {
    const message = failure(
      await runServer({ DATA_DIR: folder("pg"), DATABASE_URL: "postgresql://postgres@127.0.0.1:1/registro" }),
    );
    expect(message).toContain("cannot reach PostgreSQL at 127.0.0.1:1: connection refused");
  });
});

const withPostgres = (await providers()).includes("postgresql");

describe.skipIf(!withPostgres)("start-up with PostgreSQL", () => {
  const urlFor = (database: string, user = "postgres") => {
    const url = new URL(POSTGRES_URL);
    url.username = user;
    url.pathname = `/${database}`;
    return url.toString();
  };
  const created: string[] = [];
  const roles: string[] = [];

  async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }
  const exists = (database: string) =>
    admin(
      async (c) => (await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [database])).rowCount === 1,
    );

  afterAll(async () => {
    // Once the servers' connections have gone (see dropDatabaseWhenIdle).
    for (const name of created) await dropDatabaseWhenIdle(POSTGRES_URL, name);
    await admin(async (client) => {
      for (const role of roles) await client.query(`DROP ROLE IF EXISTS "${role}"`);
    });
  });

  it("creates a missing database when the role may, then starts", async () => {
    const name = `registro_startup_${randomUUID().replaceAll("-", "")}`;
    created.push(name);
    expect(await exists(name)).toBe(false);
    const run = await runServer(
      { DATA_DIR: folder("pg"), DATABASE_URL: urlFor(name), LOG_LEVEL: "info" },
      { until: /Registro listening/ },
    );
    expect(run.stdout).toContain("created the PostgreSQL database");
    expect(run.stdout).toContain("Registro listening");
    expect(await exists(name)).toBe(true);
  });

  it("says how to create a missing database when the role may not", async () => {
    const role = `registro_nocreate_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const name = `registro_startup_${randomUUID().replaceAll("-", "")}`;
    roles.push(role);
    created.push(name);
    await admin((client) => client.query(`CREATE ROLE "${role}" LOGIN NOCREATEDB`));
    const message = failure(await runServer({ DATA_DIR: folder("pg"), DATABASE_URL: urlFor(name, role) }));
    expect(message).toContain(`PostgreSQL database "${name}" (DATABASE_URL) does not exist`);
    expect(message).toContain(`role "${role}" may not create databases`);
    expect(message).toContain(`createdb`);
    expect(message).toContain(`CREATE DATABASE "${name}" OWNER "${role}";`);
    expect(await exists(name)).toBe(false);
  });
});
