// The audit walk and checkpoints against real databases: a clean log verifies, and each kind of
// tampering an owner of the database can do is reported, by the chains or by a checkpoint.
import { hashOf, storedHash } from "../../src/store/eventCodec.ts";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventHash } from "../../src/audit/eventHash.ts";
import {
  createCheckpoint,
  exportCheckpoint,
  headsRoot,
  parseCheckpointExport,
  signCheckpoint,
  verifyCheckpoint,
  verifyStoredCheckpoints,
} from "../../src/audit/checkpoints.ts";
import type { Checkpoint } from "../../src/audit/checkpoints.ts";
import { loadOrCreateSigningKey } from "../../src/audit/signingKey.ts";
import type { SigningKey } from "../../src/audit/signingKey.ts";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import { openDatabase } from "../../src/db/database.ts";
import type { Database } from "../../src/db/database.ts";
import { chainedFromSqlRow } from "../../src/store/eventStore.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { createTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { rewriteStream, streamRows, tamper } from "./tamper.ts";

/** Three model streams: alpha (4 events), beta (1), gamma (2). */
async function seed(db: Database): Promise<void> {
  const deps = commandDeps(db);
  await createModelNamed(deps, "alpha", "alpha");
  await createModelNamed(deps, "beta", "beta");
  await createModelNamed(deps, "gamma", "gamma");
  for (let i = 0; i < 3; i++) await run(deps, live("alpha"), createVersion({ description: `v${i}` }));
  await run(deps, live("gamma"), createVersion());
}

describe.each(await providers())("audit verification on %s", (provider) => {
  let database: TestDatabase;
  let db: Database;
  let keyDir: string;
  let key: SigningKey;

  beforeEach(async () => {
    database = await createTestDatabase(provider);
    db = openDatabase(database.config);
    await seed(db);
    keyDir = mkdtempSync(path.join(tmpdir(), "registro-key-"));
    key = loadOrCreateSigningKey(path.join(keyDir, "audit-signing-key.pem"));
  });
  afterEach(async () => {
    await db.close();
    await database.destroy();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it("verifies a clean log, page by page, and its checkpoints", async () => {
    const progress: number[] = [];
    const report = await verifyChains(db, { pageSize: 2, onProgress: (p) => progress.push(p.events) });
    expect(report).toMatchObject({ ok: true, streams: 3, events: 7, brokenStreams: 0, breaks: [] });
    expect(progress).toEqual([2, 4, 6, 7]);

    const made = await createCheckpoint(db, key, new Date("2026-12-04T10:00:00Z"));
    expect(made).toMatchObject({ created: true, checkpoint: { position: 7, streamCount: 3 } });
    // Nothing new in the log: no second checkpoint.
    expect(await createCheckpoint(db, key, new Date())).toBeNull();
    // Pages of one stream give the same root as one page of all.
    expect(await headsRoot(db, 7, { pageSize: 1 })).toEqual(await headsRoot(db, 7));
    const stored = await verifyStoredCheckpoints(db, { trustedFingerprint: key.fingerprint });
    expect(stored).toMatchObject({ ok: true, checked: 1, failed: 0, latest: { position: 7 } });
    const exported = parseCheckpointExport(exportCheckpoint(made!.checkpoint));
    expect(exported).toEqual(made!.checkpoint);
    expect(await verifyCheckpoint(db, exported)).toMatchObject({ ok: true, problems: [] });
  });

  it("creates the signing key once, readable by its owner only", () => {
    const file = path.join(keyDir, "audit-signing-key.pem");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSigningKey(file).fingerprint).toBe(key.fingerprint);
  });

  it("reports an edited payload at the edited event", async () => {
    await tamper(database.config, async (t) => {
      await t.query(
        `UPDATE events SET data = '{"description":"forged"}' WHERE stream_id = ? AND revision = 2`,
        ["alpha"],
      );
    });
    const report = await verifyChains(db);
    expect(report.ok).toBe(false);
    expect(report.brokenStreams).toBe(1);
    expect(report.breaks).toEqual([
      expect.objectContaining({ streamId: "alpha", revision: 2, reason: expect.stringMatching(/altered/) }),
    ]);
  });

  it("reports a deleted event at the one after the gap", async () => {
    await tamper(database.config, async (t) => {
      await t.query("DELETE FROM events WHERE stream_id = ? AND revision = 2", ["alpha"]);
    });
    const report = await verifyChains(db);
    expect(report.breaks).toEqual([
      expect.objectContaining({ streamId: "alpha", revision: 3, reason: "revision 3 follows revision 1" }),
    ]);
  });

  it("reports an event inserted mid-stream, even with a correct hash", async () => {
    await tamper(database.config, async (t) => {
      const [first] = await streamRows(t, "gamma");
      // Make room at revision 2 (negated first: the unique key is checked row by row).
      await t.query("UPDATE events SET revision = -revision WHERE stream_id = ? AND revision >= 2", [
        "gamma",
      ]);
      await t.query("UPDATE events SET revision = 1 - revision WHERE stream_id = ? AND revision < 0", [
        "gamma",
      ]);
      const forged = { ...chainedFromSqlRow(first!), revision: 2, data: { description: "inserted" } };
      await t.query(
        `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, hash)
         SELECT stream_id, 2, type, schema_version, ?, actor_ref, occurred_at, ? FROM events WHERE position = ?`,
        [JSON.stringify(forged.data), storedHash(eventHash(forged, hashOf(first!.hash))), forged.position],
      );
    });
    const report = await verifyChains(db);
    expect(report.ok).toBe(false);
    expect(report.breaks).toEqual([expect.objectContaining({ streamId: "gamma" })]);
    expect(report.breaks[0]!.revision).toBeGreaterThanOrEqual(2);
  });

  it("reports an event whose actor has no row, instead of leaving it out of the walk", async () => {
    // Events read their actor through a join (src/store/eventActors.ts); event_actors has no foreign
    // key, so a row can name an actor id that does not exist.
    await tamper(database.config, async (t) => {
      const [head] = await streamRows(t, "beta");
      const forged = { ...chainedFromSqlRow(head!), revision: 2 };
      await t.query(
        `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, hash)
         SELECT stream_id, 2, type, schema_version, data, 999999, occurred_at, ? FROM events WHERE position = ?`,
        [storedHash(eventHash(forged, hashOf(head!.hash))), forged.position],
      );
    });
    const report = await verifyChains(db);
    expect(report).toMatchObject({ ok: false, events: 8 });
    expect(report.breaks).toEqual([expect.objectContaining({ streamId: "beta", revision: 2 })]);
  });

  it("misses a consistently rewritten chain, which only the checkpoint shows", async () => {
    const before = await createCheckpoint(db, key, new Date());
    const exported = parseCheckpointExport(exportCheckpoint(before!.checkpoint));
    await tamper(database.config, (t) =>
      rewriteStream(t, "alpha", { modelId: "alpha", name: "alpha", description: "rewritten", tags: [] }),
    );
    expect(await verifyChains(db)).toMatchObject({ ok: true, events: 7 });
    const verdict = await verifyCheckpoint(db, exported);
    expect(verdict.ok).toBe(false);
    expect(verdict.problems).toEqual([
      expect.stringMatching(/no longer hash to the checkpoint's root.*rewritten/),
    ]);
    const stored = await verifyStoredCheckpoints(db, { trustedFingerprint: key.fingerprint });
    expect(stored).toMatchObject({ ok: false, failed: 1, checked: 1, firstMismatch: 7, lastMatch: null });
  });

  it("finds the oldest stored checkpoint a change breaks, with or without recomputing every root", async () => {
    const deps = commandDeps(db);
    await createCheckpoint(db, key, new Date()); // position 7
    await createModelNamed(deps, "delta", "delta");
    await createCheckpoint(db, key, new Date()); // 8
    await createModelNamed(deps, "epsilon", "epsilon");
    await createCheckpoint(db, key, new Date()); // 9
    await createModelNamed(deps, "zeta", "zeta");
    await createCheckpoint(db, key, new Date()); // 10
    expect(await verifyStoredCheckpoints(db)).toMatchObject({ ok: true, checked: 4, rootsRecomputed: 1 });

    await tamper(database.config, (t) =>
      rewriteStream(t, "delta", { modelId: "delta", name: "delta", description: "rewritten", tags: [] }),
    );
    const searched = await verifyStoredCheckpoints(db);
    expect(searched).toMatchObject({ ok: false, checked: 4, failed: 3, firstMismatch: 8, lastMatch: 7 });
    expect(searched.rootsRecomputed).toBeLessThan(4);
    expect(searched.failures).toHaveLength(1);
    expect(searched.failures[0]!.problems.at(-1)).toBe(
      "the 2 later checkpoint(s) fail with it; the checkpoint at position 7 still holds: the log was changed after that position",
    );
    const everyRoot = await verifyStoredCheckpoints(db, { allRoots: true });
    expect(everyRoot).toMatchObject({
      ok: false,
      failed: 3,
      firstMismatch: 8,
      lastMatch: 7,
      rootsRecomputed: 4,
    });
    expect(everyRoot.failures.map((f) => f.position)).toEqual([8, 9, 10]);
  });

  it("shows a stream deleted before the checkpoint's position, and a truncated log", async () => {
    const { checkpoint } = (await createCheckpoint(db, key, new Date()))!;
    await tamper(database.config, async (t) => {
      await t.query("DELETE FROM events WHERE stream_id = ?", ["beta"]);
      await t.query("DELETE FROM events WHERE stream_id = ? AND revision = 2", ["gamma"]);
    });
    expect((await verifyChains(db)).ok).toBe(true);
    const verdict = await verifyCheckpoint(db, checkpoint);
    expect(verdict.problems).toEqual([
      "the log now ends at position 6, before the checkpoint's position 7: its newest events were deleted",
      expect.stringMatching(/holds 2 streams where the checkpoint recorded 3: a stream was deleted/),
    ]);
  });

  it("refuses a forged signature, and a checkpoint signed by another key", async () => {
    const { checkpoint } = (await createCheckpoint(db, key, new Date()))!;
    const forgedRoot: Checkpoint = { ...checkpoint, root: "0".repeat(64) };
    expect(await verifyCheckpoint(db, forgedRoot)).toMatchObject({
      ok: false,
      recomputed: null,
      problems: [expect.stringMatching(/signature does not verify/)],
    });
    const otherKey = loadOrCreateSigningKey(path.join(keyDir, "attacker.pem"));
    const resigned = signCheckpoint(
      { position: 7, root: checkpoint.root, streamCount: 3, createdAt: checkpoint.createdAt },
      otherKey,
    );
    expect(await verifyCheckpoint(db, resigned)).toMatchObject({ ok: true });
    expect(await verifyCheckpoint(db, resigned, { trustedFingerprint: key.fingerprint })).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/not by this server's key/)],
    });
    // Swapping in another public key without re-signing is caught by the fingerprint.
    expect(await verifyCheckpoint(db, { ...checkpoint, publicKey: otherKey.publicKeyPem })).toMatchObject({
      ok: false,
      problems: ["the key fingerprint does not match the public key given with it"],
    });
  });

  it("stores one checkpoint per position when servers race", async () => {
    const otherKey = loadOrCreateSigningKey(path.join(keyDir, "other-instance.pem"));
    const second = openDatabase(database.config);
    try {
      const results = await Promise.all([
        createCheckpoint(db, key, new Date()),
        createCheckpoint(provider === "sqlite" ? db : second, otherKey, new Date()),
      ]);
      const winners = results.filter((r) => r?.created);
      expect(winners).toHaveLength(1);
      // The other saw the winner's checkpoint (null) or lost the insert (the winner's is returned).
      for (const r of results) if (r !== null) expect(r.checkpoint).toEqual(winners[0]!.checkpoint);
      expect((await verifyStoredCheckpoints(db)).checked).toBe(1);
    } finally {
      await second.close();
    }
  });
});
