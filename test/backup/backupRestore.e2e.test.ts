// The CLIs end to end: `backup` of a SQLite registry serving HTTP writes, `restore` into a fresh
// registry of each provider (SQLite into PostgreSQL is the documented way to move to a
// multi-instance setup), and the restored server answering GraphQL and artifact downloads exactly as
// the original did at the backup's position.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackup } from "../../src/backup/cli/backup.ts";
import { runRestore } from "../../src/backup/cli/restore.ts";
import { createRegistro } from "../../src/registro.ts";
import { createTestDatabase, providers } from "../support/databases.ts";
import { LOCAL_ADMIN, startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const HISTORY = `query($n: String!) {
  history(name: $n, first: 500) { nodes { position revision type data cursor occurredAt actor { displayName id } } }
}`;
const MODEL = `query($n: String!) {
  registeredModel(name: $n) {
    name revision tags { key value } aliases { alias version }
    versions { nodes { version stage status artifacts { path sha256 size integrity } } }
  }
}`;

async function gqlAt(url: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data;
}

describe("npm run backup / restore against a SQLite registry serving writes", () => {
  let server: TestServer;
  const files = { "model.bin": randomBytes(200_000), "config.json": Buffer.from('{"layers":3}') };
  // A file of MLflow's artifact proxy: in no event, copied with its blob.
  const staged = { path: "runs/r1/artifacts/model/MLmodel", bytes: randomBytes(5_000) };
  const stagedUrl = (url: string) => `${url}/api/2.0/mlflow-artifacts/artifacts/${staged.path}`;
  const work = mkdtempSync(path.join(tmpdir(), "registro-backup-e2e-"));
  beforeAll(async () => {
    server = await startTestServer("sqlite");
    const created = await server.gql(`mutation {
      createRegisteredModel(input: { name: "shipped", tags: [{ key: "team", value: "risk" }] }) { __typename }
      createModelVersion(input: { name: "shipped", source: "s3://b/1", pendingArtifacts: true }) { __typename }
      busy: createRegisteredModel(input: { name: "busy" }) { __typename }
    }`);
    expect(created.errors).toBeUndefined();
    for (const [file, bytes] of Object.entries(files)) {
      const put = await fetch(`${server.url}/artifacts/shipped/1/${file}`, {
        method: "PUT",
        body: new Uint8Array(bytes),
      });
      expect(put.status).toBe(201);
    }
    const logged = await fetch(stagedUrl(server.url), { method: "PUT", body: new Uint8Array(staged.bytes) });
    expect(logged.status).toBe(200);
    const more = await server.gql(`mutation {
      finalizeModelVersion(input: { name: "shipped", version: 1 }) { __typename }
    }`);
    expect(more.errors).toBeUndefined();
  });
  afterAll(async () => {
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it(
    "restores into each provider a registry that answers as the original did at the backup's position",
    { timeout: 120_000 },
    async () => {
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          const result = await server.gql(
            `mutation($v: String!) { setRegisteredModelTag(input: { name: "busy", key: "n", value: $v }) { __typename } }`,
            { v: String(written) },
          );
          expect(result.errors).toBeUndefined();
          written += 1;
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const dir = path.join(work, "backup");
      const printed: string[] = [];
      const code = await runBackup(
        ["--to", dir],
        {
          DATABASE_URL: `file:${server.database.provider === "sqlite" ? server.database.file : ""}`,
          DATA_DIR: server.dataDir,
        },
        (line) => printed.push(line),
      );
      writing = false;
      await writer;
      expect(code).toBe(0);
      // One write surely after the snapshot, whatever the timing of the loop's last one.
      expect(
        (
          await server.gql(
            `mutation { setRegisteredModelTag(input: { name: "busy", key: "after", value: "1" }) { __typename } }`,
          )
        ).errors,
      ).toBeUndefined();
      const match =
        /^Backed up (\d+) events of \d+ streams? up to log position (\d+), \d+ signed audit checkpoints?, and 3 artifact blobs \(.+\), to .+ in \d+ ms$/.exec(
          printed[0] ?? "",
        );
      expect(match, printed.join("\n")).not.toBeNull();
      expect(printed[1]).toMatch(/^manifest\.json sha256 [0-9a-f]{64} /);
      const position = Number(match![2]);
      expect(written).toBeGreaterThan(0);

      const original = {
        shippedHistory: await gqlAt(server.url, HISTORY, { n: "shipped" }),
        shipped: await gqlAt(server.url, MODEL, { n: "shipped" }),
        busyHistory: await gqlAt(server.url, HISTORY, { n: "busy" }),
      };
      const busyThen = (original.busyHistory.history.nodes as { position: number }[]).filter(
        (e) => e.position <= position,
      );
      // Writes went on after the snapshot, and the backup holds none of them.
      expect(busyThen.length).toBeLessThan(original.busyHistory.history.nodes.length);

      for (const provider of await providers()) {
        const database = await createTestDatabase(provider);
        const dataDir = mkdtempSync(path.join(tmpdir(), "registro-restored-"));
        const env =
          database.config.provider === "sqlite"
            ? { DATABASE_URL: `file:${database.config.file}`, DATA_DIR: dataDir }
            : { DATABASE_URL: database.config.url, DATA_DIR: dataDir };
        const output: string[] = [];
        expect(await runRestore(["--from", dir], env, (line) => output.push(line)), output.join("\n")).toBe(
          0,
        );
        expect(output[0]).toMatch(
          new RegExp(
            `^Restored \\d+ events of \\d+ streams? up to log position ${position}, \\d+ signed audit checkpoints?, and 3 artifact blobs, into`,
          ),
        );
        const restored = await createRegistro({
          database: database.config,
          dataDir,
          logger: pino({ level: "silent" }),
          auth: { osUserName: LOCAL_ADMIN },
        });
        try {
          const address = await restored.app.listen(0, "127.0.0.1");
          const url = `http://127.0.0.1:${address.port}`;
          expect(await gqlAt(url, HISTORY, { n: "shipped" }), provider).toEqual(original.shippedHistory);
          expect(await gqlAt(url, MODEL, { n: "shipped" }), provider).toEqual(original.shipped);
          // Same positions, same cursors: a subscriber resumes against the restored registry.
          expect((await gqlAt(url, HISTORY, { n: "busy" })).history.nodes).toEqual(busyThen);
          for (const [file, bytes] of Object.entries(files)) {
            const download = await fetch(`${url}/artifacts/shipped/1/${file}`);
            expect(download.status).toBe(200);
            expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
          }
          const stagedBack = await fetch(stagedUrl(url));
          expect(stagedBack.status).toBe(200);
          expect(Buffer.from(await stagedBack.arrayBuffer()).equals(staged.bytes)).toBe(true);
          // Restoring again is refused: the target is no longer empty.
          await restored.close();
          const again: string[] = [];
          expect(await runRestore(["--from", dir], env, (line) => again.push(line))).toBe(1);
          expect(again[0]).toMatch(/^restore refused: the target database holds \d+ events/);
        } finally {
          await restored.close().catch(() => undefined);
          await database.destroy();
          rmSync(dataDir, { recursive: true, force: true });
        }
      }
    },
  );

  it(
    "refuses a damaged backup, a target folder that is not empty and a missing database",
    { timeout: 60_000 },
    async () => {
      const printed: string[] = [];
      const env = {
        DATABASE_URL: `file:${path.join(work, "never", "registro.db")}`,
        DATA_DIR: path.join(work, "never"),
      };
      expect(await runRestore(["--from", work], env, (line) => printed.push(line))).toBe(1);
      expect(printed).toEqual([
        `restore refused, the backup is damaged: manifest.json is missing in ${work}: not a backup, or one that never finished`,
      ]);
      const refused: string[] = [];
      const serverEnv = {
        DATABASE_URL: `file:${server.database.provider === "sqlite" ? server.database.file : ""}`,
        DATA_DIR: server.dataDir,
      };
      expect(await runBackup(["--to", work], serverEnv, (line) => refused.push(line))).toBe(1);
      expect(await runBackup(["--to", path.join(work, "new")], env, (line) => refused.push(line))).toBe(1);
      expect(refused).toEqual([
        `backup refused: ${work} is not empty: a backup is only written to a new or empty folder`,
        `backup refused: there is no database at ${path.join(work, "never", "registro.db")}: check DATA_DIR or DATABASE_URL`,
      ]);
    },
  );
});
