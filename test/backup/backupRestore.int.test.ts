// Backup while writes continue, restore into both providers (and across them), and every kind of
// damage a backup folder can suffer, refused with what is wrong before anything is written.
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import canonicalize from "canonicalize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiToken, createPrincipal } from "../../src/access/accessCommands.ts";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { FsBlobStore } from "../../src/artifacts/fsBlobStore.ts";
import {
  CHECKPOINT_COLUMNS,
  checkpointFromRow,
  checkpointValues,
  createCheckpoint,
  headsRoot,
  signCheckpoint,
  verifyStoredCheckpoints,
} from "../../src/audit/checkpoints.ts";
import type { Checkpoint, CheckpointRow } from "../../src/audit/checkpoints.ts";
import { runAuditVerify } from "../../src/audit/cli/verify.ts";
import { loadOrCreateSigningKey } from "../../src/audit/signingKey.ts";
import type { SigningKey } from "../../src/audit/signingKey.ts";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import { BackupRefusedError, backup } from "../../src/backup/backup.ts";
import { checkpointLine, parseCheckpointLine } from "../../src/backup/checkpointLines.ts";
import { eventLine } from "../../src/backup/eventLines.ts";
import type { BackedUpEvent } from "../../src/backup/eventLines.ts";
import { DamagedBackupError } from "../../src/backup/manifest.ts";
import { RestoreRefusedError, restore } from "../../src/backup/restore.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { openDatabase } from "../../src/db/database.ts";
import type { Database, Db } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { placeholders } from "../../src/db/sql.ts";
import { DomainError } from "../../src/domain/errors.ts";
import { COLUMNS, EVENTS, chainedFromSqlRow, lastPosition } from "../../src/store/eventStore.ts";
import type { ChainSqlRow } from "../../src/store/eventStore.ts";
import { actor, commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { createTestDatabase, openTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";

const PROVIDERS = await providers();

function ok<T>(outcome: T | DomainError): T {
  if (outcome instanceof DomainError) throw outcome;
  return outcome;
}

const tempDir = (prefix: string) => mkdtempSync(path.join(tmpdir(), `registro-${prefix}-`));

/** Signs and stores a checkpoint with the function `npm run audit:checkpoint` uses. */
async function checkpoint(db: Database, key: SigningKey, at: string): Promise<Checkpoint> {
  const made = await createCheckpoint(db, key, new Date(at));
  if (made === null) throw new Error("the log did not advance since the last checkpoint");
  return made.checkpoint;
}

async function storedCheckpoints(db: Database): Promise<Checkpoint[]> {
  const rows = await db.query<CheckpointRow>(
    `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY position`,
  );
  return rows.map(checkpointFromRow);
}

/** Every projection, the access context's included, normalised for toEqual. */
async function dumpAll(db: Db) {
  const access = await Promise.all([
    db.principal.findMany({ orderBy: { id: "asc" } }),
    db.team.findMany({ orderBy: { id: "asc" } }),
    db.teamMember.findMany({ orderBy: [{ teamId: "asc" }, { principalId: "asc" }] }),
    db.apiToken.findMany({ orderBy: { id: "asc" } }),
  ]);
  return { ...(await dumpProjections(db)), access: JSON.parse(JSON.stringify(access)) as unknown };
}

async function allEventLines(db: Database, upTo: number): Promise<string> {
  const rows = await db.write((tx) =>
    tx.query<ChainSqlRow>(
      `SELECT position, ${COLUMNS}, hash FROM ${EVENTS} WHERE position <= ? ORDER BY position`,
      [upTo],
    ),
  );
  return rows.map((row) => eventLine(chainedFromSqlRow(row) as BackedUpEvent)).join("");
}

/** Lines compared by their canonical JSON: PostgreSQL's jsonb keeps keys in its own order. */
const canonicalLines = (text: string) =>
  text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => canonicalize(JSON.parse(line)));

/** A model with two versions, real artifact blobs, an alias, and a user with a used token. */
async function seed(deps: CommandDeps, db: Database, blobs: FsBlobStore, name: string) {
  await createModelNamed(deps, `${name}-id`, name);
  await run(deps, live(name), createVersion({ pendingArtifacts: true, tags: [{ key: "k", value: "v" }] }));
  for (const [file, text] of [
    ["model.onnx", `weights of ${name}`],
    ["config.json", `{"model":"${name}"}`],
  ] as const) {
    const stored = await blobs.put(Readable.from([Buffer.from(text)]));
    await run(deps, live(name), {
      type: "AddModelVersionArtifact",
      data: {
        version: 1,
        path: file,
        role: "other",
        size: stored.size,
        sha256: stored.sha256,
        mediaType: "application/octet-stream",
      },
    });
  }
  await run(deps, live(name), { type: "FinalizeModelVersion", data: { version: 1 } });
  await run(deps, live(name), createVersion({ metrics: [{ key: "auc", value: 0.9 }] }));
  await run(deps, live(name), { type: "SetRegisteredModelAlias", data: { alias: "champion", version: 2 } });
  const user = ok(
    await createPrincipal(
      deps,
      {
        kind: "USER",
        displayName: `owner of ${name}`,
        email: null,
        role: "MEMBER",
        source: "admin",
        externalIdentity: null,
      },
      actor,
    ),
  );
  const token = ok(
    await createApiToken(
      deps,
      { principalId: user.id, name: "ci", scopes: ["read"], expiresAt: null },
      actor,
    ),
  );
  await db.write((tx) =>
    tx.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [
      new Date("2026-11-30T12:00:00Z"),
      token.id,
    ]),
  );
}

async function checkpointsIn(config: DatabaseConfig): Promise<number> {
  if (config.provider === "sqlite" && !existsSync(config.file)) return 0;
  const db = openDatabase(config);
  try {
    return await db.reader.auditCheckpoint.count();
  } finally {
    await db.close();
  }
}

async function eventsIn(config: DatabaseConfig): Promise<number> {
  if (config.provider === "sqlite" && !existsSync(config.file)) return 0;
  const db = openDatabase(config);
  try {
    return await db.reader.event.count();
  } finally {
    await db.close();
  }
}

describe.each(PROVIDERS)("backup of a %s registry while it keeps writing", (provider) => {
  let source: Awaited<ReturnType<typeof openTestDatabase>>;
  let blobDir: string;
  let blobs: FsBlobStore;
  let deps: CommandDeps;
  let keyDir: string;
  let keyFile: string;
  let key: SigningKey;
  const cleanup: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    source = await openTestDatabase(provider);
    blobDir = tempDir("blobs");
    blobs = new FsBlobStore(blobDir);
    let tick = Date.parse("2026-12-01T00:00:00Z");
    deps = { ...commandDeps(source.db), clock: () => new Date((tick += 1000)) };
    keyDir = tempDir("key");
    keyFile = path.join(keyDir, "audit-signing-key.pem");
    key = loadOrCreateSigningKey(keyFile);
    await seed(deps, source.db, blobs, "alpha");
    await checkpoint(source.db, key, "2026-12-01T01:00:00Z");
    await seed(deps, source.db, blobs, "beta");
    await checkpoint(source.db, key, "2026-12-01T02:00:00Z");
  });
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
    await blobs?.close();
    await source?.close();
    rmSync(blobDir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  it(
    "holds exactly the log up to its position, and restores into every provider as the registry was then",
    { timeout: 120_000 },
    async () => {
      // The writer records the projections after each of its commands: with no other writer, the
      // state after a command is the state at that command's last position.
      const states = new Map<number, Awaited<ReturnType<typeof dumpAll>>>();
      states.set(await lastPosition(source.db.reader), await dumpAll(source.db.reader));
      let backingUp = true;
      let duringBackup = 0;
      await createModelNamed(deps, "busy-id", "busy");
      const writer = (async () => {
        let i = 0;
        while (backingUp || i < 3) {
          await run(
            deps,
            live("busy"),
            i % 3 === 0
              ? createVersion()
              : { type: "SetRegisteredModelTag", data: { key: `k${i}`, value: `${i}` } },
          );
          states.set(await lastPosition(source.db.reader), await dumpAll(source.db.reader));
          if (backingUp) duringBackup += 1;
          i += 1;
        }
      })();
      // Let the writer get going, so the backup's snapshot falls in the middle of its run.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const dir = path.join(tempDir("backup"), "b");
      const summary = await backup({
        database: source.config,
        blobDir,
        to: dir,
        pageSize: 4,
        onPage: () => new Promise((resolve) => setTimeout(resolve, 10)),
      }).finally(() => {
        backingUp = false;
      });
      await writer;
      cleanup.push(() => rmSync(path.dirname(dir), { recursive: true, force: true }));

      expect(duringBackup).toBeGreaterThan(0);
      expect(await lastPosition(source.db.reader)).toBeGreaterThan(summary.position);
      expect(readFileSync(path.join(dir, "events.ndjson"), "utf8")).toBe(
        await allEventLines(source.db, summary.position),
      );
      expect(summary.blobs).toBe(4);
      // A checkpoint signed while the backup ran is after its position, and not in it.
      await checkpoint(source.db, key, "2026-12-01T03:00:00Z");
      const checkpoints = (await storedCheckpoints(source.db)).slice(0, 2);
      expect(summary.checkpoints).toBe(2);
      expect(readFileSync(path.join(dir, "checkpoints.ndjson"), "utf8").split("\n")).toHaveLength(3);
      expect(readdirSync(path.dirname(dir))).toEqual(["b"]);
      const expected = states.get(summary.position);
      expect(expected, `a state recorded at position ${summary.position}`).toBeDefined();

      for (const target of PROVIDERS) {
        const database = await createTestDatabase(target);
        const targetBlobs = tempDir("restored-blobs");
        cleanup.push(
          () => database.destroy(),
          () => rmSync(targetBlobs, { recursive: true, force: true }),
        );
        const restored = await restore({
          from: dir,
          database: database.config,
          blobDir: targetBlobs,
          batchSize: 7,
        });
        expect(restored).toMatchObject({
          position: summary.position,
          events: summary.events,
          checkpoints: 2,
          blobs: 4,
        });
        const db = openDatabase(database.config);
        try {
          expect(await storedCheckpoints(db), `checkpoints restored into ${target}`).toEqual(checkpoints);
          expect(await verifyChains(db)).toMatchObject({ ok: true, events: summary.events });
          expect(
            await verifyStoredCheckpoints(db, { trustedFingerprint: key.fingerprint, allRoots: true }),
          ).toMatchObject({ ok: true, checked: 2, rootsRecomputed: 2, failed: 0 });
          // What an operator runs, with the signing key file kept beside the restored registry.
          const printed: string[] = [];
          const env =
            database.config.provider === "sqlite"
              ? { DATA_DIR: path.dirname(database.config.file) }
              : { DATA_DIR: keyDir, DATABASE_URL: database.config.url };
          expect(
            await runAuditVerify([], { ...env, AUDIT_SIGNING_KEY_FILE: keyFile }, (line) =>
              printed.push(line),
            ),
            printed.join("\n"),
          ).toBe(0);
          expect(printed.join("\n")).toContain(
            `Checkpoints: 2 stored, all verified (1 root(s) recomputed); the latest is at position ${checkpoints[1]!.position}`,
          );
          expect(await dumpAll(db.reader), `restored into ${target}`).toEqual(expected);
          expect(canonicalLines(await allEventLines(db, 2 ** 31 - 1))).toEqual(
            canonicalLines(await allEventLines(source.db, summary.position)),
          );
          const store = new FsBlobStore(targetBlobs);
          for (const artifact of await db.reader.modelVersionArtifact.findMany()) {
            const bytes = Buffer.concat(await (await store.open(artifact.sha256)).toArray());
            expect(createHash("sha256").update(bytes).digest("hex")).toBe(artifact.sha256);
          }
          await store.close();
          // The next event continues the log right after the backup's position.
          const next = await run({ db, clock: () => new Date() }, live("alpha"), createVersion());
          expect(next.events[0]!.position).toBe(summary.position + 1);
        } finally {
          await db.close();
        }
        await expect(restore({ from: dir, database: database.config, blobDir: targetBlobs })).rejects.toThrow(
          new RestoreRefusedError(
            `the target database holds ${summary.events + 1} events: a backup is only restored into an empty database (a new DATA_DIR or a new PostgreSQL database, before any server has used it)`,
          ),
        );
      }
    },
  );
});

describe("a damaged backup is refused with what is wrong, and nothing is written", () => {
  let backupDir: string;
  let work: string;
  let sha: string;
  let lines: string[];
  let checkpointLines: string[];
  let key: SigningKey;
  beforeAll(async () => {
    work = tempDir("damage");
    const source = await openTestDatabase("sqlite");
    const blobDir = path.join(work, "source-blobs");
    const blobs = new FsBlobStore(blobDir);
    try {
      const deps = commandDeps(source.db);
      await seed(deps, source.db, blobs, "gamma");
      key = loadOrCreateSigningKey(path.join(work, "audit-signing-key.pem"));
      await checkpoint(source.db, key, "2026-12-02T01:00:00Z");
      await run(deps, live("gamma"), { type: "SetRegisteredModelTag", data: { key: "k", value: "v" } });
      await checkpoint(source.db, key, "2026-12-02T02:00:00Z");
      backupDir = path.join(work, "backup");
      await backup({ database: source.config, blobDir, to: backupDir });
    } finally {
      await blobs.close();
      await source.close();
    }
    sha = readdirSync(path.join(backupDir, "blobs"))[0]!;
    lines = readFileSync(path.join(backupDir, "events.ndjson"), "utf8").split("\n");
    checkpointLines = readFileSync(path.join(backupDir, "checkpoints.ndjson"), "utf8")
      .split("\n")
      .filter((line) => line !== "");
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  let n = 0;
  async function refused(damage: (dir: string) => void): Promise<string> {
    const dir = path.join(work, `damaged-${++n}`);
    cpSync(backupDir, dir, { recursive: true });
    damage(dir);
    const database: DatabaseConfig = {
      provider: "sqlite",
      file: path.join(work, `target-${n}`, "registro.db"),
    };
    const error = await restore({
      from: dir,
      database,
      blobDir: path.join(work, `target-${n}`, "blobs"),
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DamagedBackupError);
    expect(await eventsIn(database)).toBe(0);
    expect(await checkpointsIn(database)).toBe(0);
    expect(existsSync(path.join(work, `target-${n}`, "blobs"))).toBe(false);
    return (error as Error).message;
  }
  const events = (dir: string) => path.join(dir, "events.ndjson");
  const checkpoints = (dir: string) => path.join(dir, "checkpoints.ndjson");
  /** The backup's second checkpoint, as stored. */
  const second = () => {
    const parsed = parseCheckpointLine(checkpointLines[1]!);
    if (typeof parsed === "string") throw new Error(parsed);
    return parsed;
  };
  const withSecond = (line: string) => (dir: string) =>
    writeFileSync(checkpoints(dir), `${checkpointLines[0]}\n${line}`);

  it("a checkpoint whose root was edited", async () => {
    const c = second();
    const edited = checkpointLine({ ...c, root: "0".repeat(64) });
    expect(await refused(withSecond(edited))).toBe(
      `checkpoints.ndjson line 2 (checkpoint at log position ${c.position}): the signature does not verify: the checkpoint was forged or altered after signing`,
    );
  });

  it("a checkpoint whose signature was edited", async () => {
    const c = second();
    const signature = Buffer.from(c.signature, "base64");
    signature[0] = signature[0]! ^ 1;
    const edited = checkpointLine({ ...c, signature: signature.toString("base64") });
    expect(await refused(withSecond(edited))).toBe(
      `checkpoints.ndjson line 2 (checkpoint at log position ${c.position}): the signature does not verify: the checkpoint was forged or altered after signing`,
    );
  });

  it("a checkpoint re-signed with another key that names the original key", async () => {
    const c = second();
    const other = loadOrCreateSigningKey(path.join(work, "other-key.pem"));
    const forged = signCheckpoint({ ...c, root: "0".repeat(64) }, other);
    expect(await refused(withSecond(checkpointLine({ ...forged, keyFingerprint: c.keyFingerprint })))).toBe(
      `checkpoints.ndjson line 2 (checkpoint at log position ${c.position}): the key fingerprint does not match the public key given with it`,
    );
  });

  it("a validly signed checkpoint whose root is not that of the backup's events", async () => {
    const c = second();
    const forged = signCheckpoint({ ...c, root: "0".repeat(64) }, key);
    expect(await refused(withSecond(checkpointLine(forged)))).toBe(
      `checkpoints.ndjson line 2 (checkpoint at log position ${c.position}): the backup's stream heads at that position hash to ${c.root}, not to the signed root ${"0".repeat(64)}: the checkpoint is not of this log, or the events before it were changed`,
    );
    const counted = signCheckpoint({ ...c, streamCount: c.streamCount + 1 }, key);
    expect(await refused(withSecond(checkpointLine(counted)))).toBe(
      `checkpoints.ndjson line 2 (checkpoint at log position ${c.position}): signed for ${c.streamCount + 1} streams, but the backup's events hold ${c.streamCount} streams at that position: the checkpoint is not of this log, or events were removed or added`,
    );
  });

  it("a checkpoint after the backup's position, out of order, or not a checkpoint", async () => {
    const c = second();
    const later = signCheckpoint({ ...c, position: c.position + 1 }, key);
    expect(await refused(withSecond(checkpointLine(later)))).toBe(
      `checkpoints.ndjson line 2 (checkpoint at log position ${c.position + 1}): after the backup's position ${c.position}`,
    );
    expect(
      await refused((dir) =>
        writeFileSync(checkpoints(dir), `${checkpointLines[1]}\n${checkpointLines[0]}\n`),
      ),
    ).toMatch(
      /^checkpoints\.ndjson line 2 \(checkpoint at log position \d+\): does not follow the checkpoint at position \d+: lines out of order or repeated$/,
    );
    expect(await refused(withSecond('{"position": 3}'))).toMatch(
      /^checkpoints\.ndjson line 2 is not a checkpoint: format: /,
    );
  });

  it("a removed checkpoint line", async () => {
    const size = readFileSync(checkpoints(backupDir)).length;
    expect(await refused((dir) => writeFileSync(checkpoints(dir), `${checkpointLines[1]}\n`))).toBe(
      `checkpoints.ndjson is ${size - checkpointLines[0]!.length - 1} bytes, the manifest says ${size}: truncated or altered`,
    );
  });

  it("an edited event line", async () => {
    const edited = lines.map((l, i) => (i === 0 ? l.replace('"name":"gamma"', '"name":"delta"') : l));
    expect(edited[0]).not.toBe(lines[0]);
    expect(await refused((dir) => writeFileSync(events(dir), edited.join("\n")))).toMatch(
      /^events\.ndjson line 1: stream gamma-id revision 1 \(log position 1\): the stored hash does not match the event's content/,
    );
  });

  it("a removed line", async () => {
    expect(
      await refused((dir) => writeFileSync(events(dir), lines.filter((_, i) => i !== 1).join("\n"))),
    ).toBe(
      "events.ndjson line 2: stream gamma-id revision 3 (log position 3): revision 3 follows revision 1",
    );
  });

  it("a missing blob", async () => {
    expect(await refused((dir) => rmSync(path.join(dir, "blobs", sha)))).toBe(
      `blobs/${sha} is missing from the backup`,
    );
  });

  it("a changed blob byte", async () => {
    const message = await refused((dir) => {
      const file = path.join(dir, "blobs", sha);
      const bytes = readFileSync(file);
      bytes[0] = bytes[0]! ^ 1;
      writeFileSync(file, bytes);
    });
    expect(message).toMatch(
      new RegExp(
        `^blobs/${sha} is damaged: its \\d+ bytes hash to [0-9a-f]{64} \\(model stream gamma-id version 1 file (model\\.onnx|config\\.json)\\)$`,
      ),
    );
  });

  it("an edited manifest", async () => {
    expect(
      await refused((dir) => {
        const file = path.join(dir, "manifest.json");
        writeFileSync(file, readFileSync(file, "utf8").replace(/"position": \d+/, '"position": 3'));
      }),
    ).toBe("manifest.json does not match its checksum: it was edited after the backup was written");
  });

  it("a missing manifest (a backup that never finished)", async () => {
    expect(await refused((dir) => rmSync(path.join(dir, "manifest.json")))).toMatch(
      /^manifest\.json is missing in .+: not a backup, or one that never finished$/,
    );
  });

  it("a truncated events file, cut inside a line or between lines", async () => {
    const size = readFileSync(backupDir + "/events.ndjson").length;
    expect(await refused((dir) => truncateSync(events(dir), size - 20))).toMatch(
      new RegExp(
        `^events\\.ndjson line ${lines.length - 1} is not a complete JSON line \\(truncated or edited\\)$`,
      ),
    );
    expect(await refused((dir) => writeFileSync(events(dir), `${lines.slice(0, -2).join("\n")}\n`))).toBe(
      `events.ndjson holds ${lines.length - 2} events, the manifest says ${lines.length - 1}: lines were removed or added, or the file was cut short`,
    );
  });

  it("an extra file", async () => {
    expect(await refused((dir) => writeFileSync(path.join(dir, "blobs", "a".repeat(64)), "x"))).toBe(
      `blobs/${"a".repeat(64)} is not listed in the manifest`,
    );
  });

  it("a restore whose projection rebuild fails keeps the verified log and says how to finish", async () => {
    const target: TestDatabase = await createTestDatabase("sqlite");
    try {
      const db = openDatabase(target.config);
      // Sabotage the projection rebuild, which runs after the events are committed.
      await db.write((tx) =>
        tx.execute(
          "CREATE TRIGGER sabotage BEFORE INSERT ON registered_models BEGIN SELECT RAISE(ABORT, 'sabotaged'); END",
        ),
      );
      await expect(
        restore({ from: backupDir, database: target.config, blobDir: path.join(work, "sabotaged-blobs") }),
      ).rejects.toThrow(
        /verified and restored, but rebuilding the projections failed \(.*sabotaged.*\).*projections:rebuild/,
      );
      const restored = await eventsIn(target.config);
      expect(restored).toBeGreaterThan(0);
      // The operator removes the cause and finishes with the rebuild the message names.
      await db.write((tx) => tx.execute("DROP TRIGGER sabotage"));
      const summary = await rebuildProjections(db);
      expect(summary.events).toBe(restored);
      expect(summary.breaks).toEqual([]);
      expect(await db.reader.registeredModel.count()).toBeGreaterThan(0);
      await db.close();
    } finally {
      await target.destroy();
    }
  });

  it("refuses to back up a source whose checkpoint does not verify, leaving nothing behind", async () => {
    const source = await openTestDatabase("sqlite");
    try {
      await createModelNamed(commandDeps(source.db), "forged-id", "forged");
      const forged = signCheckpoint(
        { position: 1, root: "0".repeat(64), streamCount: 1, createdAt: new Date("2026-12-02T03:00:00Z") },
        key,
      );
      await source.db.write((tx) =>
        tx.execute(`INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES (${placeholders(8)})`, [
          ...checkpointValues(forged),
        ]),
      );
      const to = path.join(work, "forged-backup");
      await expect(backup({ database: source.config, blobDir: path.join(work, "b"), to })).rejects.toThrow(
        new BackupRefusedError(
          "the source's audit checkpoints do not verify (npm run audit:verify says more): checkpoints.ndjson line 1 (checkpoint at log position 1): the backup's stream heads at that position hash to " +
            (await headsRoot(source.db, 1)).root +
            `, not to the signed root ${"0".repeat(64)}: the checkpoint is not of this log, or the events before it were changed`,
        ),
      );
      expect(readdirSync(work).filter((name) => name.includes("forged-backup"))).toEqual([]);
    } finally {
      await source.close();
    }
  });

  it("refuses a backup into a folder that is not empty", async () => {
    const source = await openTestDatabase("sqlite");
    try {
      await migrate(source.config);
      await expect(
        backup({ database: source.config, blobDir: path.join(work, "b"), to: backupDir }),
      ).rejects.toThrow(`${backupDir} is not empty: a backup is only written to a new or empty folder`);
    } finally {
      await source.close();
    }
  });
});

describe("a registry whose log was written by an older release (test/fixtures/logs)", () => {
  const FIXTURE = new URL("../fixtures/logs/registro-26d93f9.db", import.meta.url).pathname;

  it(
    "backs up once migrated, and restores into every provider with old payloads intact",
    { timeout: 60_000 },
    async () => {
      const work = tempDir("old-log");
      try {
        const source: DatabaseConfig = { provider: "sqlite", file: path.join(work, "registro.db") };
        cpSync(FIXTURE, source.file);
        await migrate(source);
        const dir = path.join(work, "backup");
        const summary = await backup({ database: source, blobDir: path.join(work, "blobs"), to: dir });
        expect(summary.events).toBeGreaterThanOrEqual(20);
        const db = openDatabase(source);
        let expected: Awaited<ReturnType<typeof dumpAll>>;
        let lines: string;
        try {
          expected = await dumpAll(db.reader);
          lines = await allEventLines(db, summary.position);
        } finally {
          await db.close();
        }
        for (const target of PROVIDERS) {
          const database = await createTestDatabase(target);
          try {
            await restore({
              from: dir,
              database: database.config,
              blobDir: path.join(work, `blobs-${target}`),
            });
            const restored = openDatabase(database.config);
            try {
              expect(await dumpAll(restored.reader), target).toEqual(expected);
              // Old schema versions are restored as they were written: the chain covers them.
              expect(canonicalLines(await allEventLines(restored, 2 ** 31 - 1))).toEqual(
                canonicalLines(lines),
              );
            } finally {
              await restored.close();
            }
          } finally {
            await database.destroy();
          }
        }
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
  );
});
