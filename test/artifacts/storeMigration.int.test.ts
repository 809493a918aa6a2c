// The database's record of its blob store, and moving a registry's blobs from one store to another:
// every blob copied and read back sound before the database may be switched, a damaged source copy
// refused instead of spread, and the record refusing any store but the switched-to one afterwards.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsBlobStore } from "../../src/artifacts/fsBlobStore.ts";
import { migrateBlobs } from "../../src/artifacts/migrateBlobs.ts";
import {
  BlobStoreMismatchError,
  BlobStoreReplacedError,
  claimBlobStore,
  recordedBlobStore,
} from "../../src/artifacts/storeIdentity.ts";
import { openDatabase } from "../../src/db/database.ts";
import type { Database } from "../../src/db/database.ts";
import { StartupError } from "../../src/startupErrors.ts";
import { appendToStream } from "../../src/store/eventStore.ts";
import { userActor } from "../support/actors.ts";
import { createTestDatabase, providers } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";
import { artifactAdded, modelCreated, versionCreated } from "../support/events.ts";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const NOW = new Date("2026-12-03T10:00:00.000Z");

describe.each(await providers())("blob store record and migration on %s", (provider) => {
  let database: TestDatabase;
  let db: Database;
  let scratch: string;
  const stores: FsBlobStore[] = [];
  const store = (name: string) => {
    const s = new FsBlobStore(path.join(scratch, name));
    stores.push(s);
    return s;
  };

  beforeEach(async () => {
    database = await createTestDatabase(provider);
    db = openDatabase(database.config);
    scratch = mkdtempSync(path.join(tmpdir(), "registro-store-migration-"));
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await db.close();
    await database.destroy();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("records the first store to claim it, accepts it again, and refuses any other", async () => {
    const a = store("a");
    expect(await recordedBlobStore(db)).toBeNull();
    const first = await claimBlobStore(db, a, NOW);
    expect(first).toMatchObject({ kind: "filesystem", id: (await a.identity()).id, location: a.root });
    expect(first.recordedAt.toISOString()).toBe(NOW.toISOString());
    // Another FsBlobStore object on the same folder reads the same id (another instance, same disk).
    await expect(claimBlobStore(db, new FsBlobStore(a.root), NOW)).resolves.toMatchObject({ id: first.id });
    const b = store("b");
    await b.identity();
    const refused = await claimBlobStore(db, b, NOW).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BlobStoreMismatchError);
    expect(refused).toBeInstanceOf(StartupError);
    expect((refused as Error).message).toContain(`filesystem ${b.root}`);
    expect((refused as Error).message).toContain(`filesystem ${a.root}, id ${first.id}`);
    // A new, empty store elsewhere is refused as well, and gets no marker.
    const fresh = store("fresh");
    await expect(claimBlobStore(db, fresh, NOW)).rejects.toThrow(/id none yet\) is not the one/);
    expect(await fresh.readIdentity()).toBeNull();
  });

  it("two stores claiming at once: one is recorded, the other refused", async () => {
    const outcomes = await Promise.allSettled([
      claimBlobStore(db, store("a"), NOW),
      claimBlobStore(db, store("b"), NOW),
    ]);
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === "rejected")).toHaveLength(1);
  });

  it("instances of one new store starting together agree, where the service lets a later marker replace an earlier one", async () => {
    // A bucket on a service that ignores If-None-Match: each write replaces the marker.
    let marker: string | null = null;
    const location = "s3://models/ at http://s3.internal";
    const instance = () => ({
      kind: "s3" as const,
      location,
      readIdentity: () =>
        Promise.resolve(marker === null ? null : { kind: "s3" as const, id: marker, location }),
      async writeIdentity(id: string) {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
        marker = id;
        return { kind: "s3" as const, id: marker, location };
      },
    });
    const claims = await Promise.all(Array.from({ length: 4 }, () => claimBlobStore(db, instance(), NOW)));
    expect(new Set(claims.map((c) => c.id)).size).toBe(1);
    expect(marker).toBe(claims[0]!.id);
    // Every later start agrees too.
    await expect(claimBlobStore(db, instance(), new Date(NOW.getTime() + 86_400_000))).resolves.toMatchObject(
      {
        id: marker,
      },
    );
  });

  it("refuses the recorded store once it has lost its marker (emptied or replaced)", async () => {
    const a = store("a");
    const recorded = await claimBlobStore(db, a, NOW);
    rmSync(a.root, { recursive: true, force: true });
    const later = new Date(NOW.getTime() + 3_600_000);
    const refused = await claimBlobStore(db, new FsBlobStore(a.root), later).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BlobStoreReplacedError);
    expect((refused as Error).message).toContain(`the blob store filesystem ${a.root} has no store-id`);
    expect((refused as Error).message).toContain(`(id ${recorded.id})`);
  });

  it("copies and verifies every blob, then switches the database to the new store", async () => {
    const from = store("from");
    const to = store("to");
    await claimBlobStore(db, from, NOW);
    const contents = ["model bytes", "tokenizer bytes", "x".repeat(300_000)];
    for (const c of contents) await from.put(Readable.from([Buffer.from(c)]));
    // One already there: verified, not copied again.
    await to.put(Readable.from([Buffer.from(contents[0]!)]));

    const report = await migrateBlobs(db, from, to, { switchStore: true, now: NOW });
    expect(report).toMatchObject({ sameStore: false, copied: 2, alreadyPresent: 1, failed: [], missing: [] });
    expect(report.bytes).toBe(contents.reduce((n, c) => n + Buffer.byteLength(c), 0));
    expect(report.switched).toBe(true);
    for (const c of contents) expect(await to.has(sha256(c))).toBe(true);
    expect((await recordedBlobStore(db))?.id).toBe((await to.identity()).id);
    // The old folder is now the wrong store.
    await expect(claimBlobStore(db, from, NOW)).rejects.toBeInstanceOf(BlobStoreMismatchError);
    await expect(claimBlobStore(db, to, NOW)).resolves.toBeTruthy();
  });

  it("refuses to spread a damaged source copy and does not switch", async () => {
    const from = store("from");
    const to = store("to");
    await claimBlobStore(db, from, NOW);
    const sound = await from.put(Readable.from([Buffer.from("sound")]));
    const damaged = await from.put(Readable.from([Buffer.from("will rot")]));
    writeFileSync(from.pathOf(damaged.sha256), "rotten!!");

    const report = await migrateBlobs(db, from, to, { switchStore: true, now: NOW });
    expect(report.copied).toBe(1);
    expect(report.failed.map((f) => f.sha256)).toEqual([damaged.sha256]);
    expect(report.failed[0]!.reason).toMatch(/sha256/i);
    expect(report.switched).toBe(false);
    expect(await to.has(sound.sha256)).toBe(true);
    expect(await to.has(damaged.sha256)).toBe(false);
    expect((await recordedBlobStore(db))?.id).toBe((await from.identity()).id);
  });

  it("does not switch while an artifact the log references is in neither store", async () => {
    const from = store("from");
    const to = store("to");
    await claimBlobStore(db, from, NOW);
    const kept = await from.put(Readable.from([Buffer.from("referenced and present")]));
    const lost = sha256("referenced, never stored");
    const added = (path: string, digest: string, size: number) => {
      const event = artifactAdded(path, 1, digest);
      return { ...event, data: { ...event.data, size } } as typeof event;
    };
    await db.write((tx) =>
      appendToStream(
        tx,
        "model-1",
        0,
        [
          modelCreated("m"),
          versionCreated(1),
          added("a.bin", kept.sha256, kept.size),
          added("b.bin", lost, 24),
        ],
        { actor: userActor("alice"), occurredAt: NOW, correlationId: null, causationId: null },
      ),
    );
    const report = await migrateBlobs(db, from, to, { switchStore: true, now: NOW });
    expect(report).toMatchObject({ copied: 1, failed: [], missing: [lost], switched: false });
    expect((await recordedBlobStore(db))?.id).toBe((await from.identity()).id);
  });

  it("the same store on both sides copies nothing and may record it (adopting a restored folder)", async () => {
    const a = store("a");
    await a.put(Readable.from([Buffer.from("kept")]));
    const report = await migrateBlobs(db, a, new FsBlobStore(a.root), { switchStore: true, now: NOW });
    expect(report).toMatchObject({ sameStore: true, copied: 0, alreadyPresent: 0, switched: true });
    expect((await recordedBlobStore(db))?.id).toBe((await a.identity()).id);
  });
});
