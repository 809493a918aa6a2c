// Which blob store the database's artifacts live in. Events and blobs are kept in two places, and
// an instance pointed at the right database but the wrong store (its own folder on another host,
// while the others share a bucket) would accept uploads nobody else can serve and answer
// BLOB_MISSING for everything else. So the database records the identity of its store (the random
// id kept inside the store itself), and an instance whose store has another id is refused at start.
// On a registry's very first start the database also picks that id, so that instances starting
// together write the same one even where the service lets a later write replace the marker.
import { randomUUID } from "node:crypto";
import type { Database } from "../db/database.ts";
import { rowDate } from "../db/sql.ts";
import { StartupError } from "../startupErrors.ts";
import type { BlobStore, BlobStoreIdentity } from "./blobStore.ts";

export interface RecordedBlobStore extends BlobStoreIdentity {
  readonly recordedAt: Date;
}

/** An instance's blob store is not the one the database's artifacts live in. */
export class BlobStoreMismatchError extends StartupError {
  override name = "BlobStoreMismatchError";
  constructor(
    readonly mine: BlobStoreIdentity,
    readonly recorded: RecordedBlobStore,
  ) {
    super(
      `this instance's blob store (${describe(mine)}) is not the one this database's artifacts live in ` +
        `(${describe(recorded)}, recorded ${recorded.recordedAt.toISOString()}); start it with that store's settings ` +
        `(BLOB_STORE, S3_*, ARTIFACT_DIR), or move the artifacts with npm run artifacts:migrate -- --switch ` +
        `(docs/operations.md)`,
    );
  }
}

/** The recorded store has lost its marker: emptied, or replaced by a new one at the same place. */
export class BlobStoreReplacedError extends StartupError {
  override name = "BlobStoreReplacedError";
  constructor(readonly recorded: RecordedBlobStore) {
    super(
      `the blob store ${recorded.kind} ${recorded.location} has no store-id, although this database recorded it ` +
        `(id ${recorded.id}) at ${recorded.recordedAt.toISOString()}: it was emptied or replaced. Restore its ` +
        `contents from a backup, or check it with npm run verify and adopt it with npm run artifacts:migrate -- --from <folder> --switch ` +
        `(docs/operations.md)`,
    );
  }
}

/** How long after the record was written a store without a marker is taken for a racing first start. */
export const FIRST_START_WINDOW_MS = 10 * 60_000;

const describe = (store: BlobStoreIdentity) => `${store.kind} ${store.location}, id ${store.id}`;

export async function recordedBlobStore(db: Pick<Database, "query">): Promise<RecordedBlobStore | null> {
  const [row] = await db.query<{ kind: string; store_id: string; location: string; recorded_at: unknown }>(
    "SELECT kind, store_id, location, recorded_at FROM blob_store WHERE slot = 1",
  );
  if (row === undefined) return null;
  return {
    kind: row.kind === "s3" ? "s3" : "filesystem",
    id: row.store_id,
    location: row.location,
    recordedAt: rowDate(row.recorded_at),
  };
}

const INSERT_RECORD =
  "INSERT INTO blob_store (slot, kind, store_id, location, recorded_at) VALUES (1, ?, ?, ?, ?) ON CONFLICT (slot) DO NOTHING";

/**
 * At start: records the store as the database's when none is recorded yet (the first instance to
 * start, or a registry that predates the record), and refuses (BlobStoreMismatchError) another one.
 * A store without a marker gets the recorded id when the record names its place and is minutes
 * old (instances starting together, the first one's insert won), and is refused when the record is
 * older (BlobStoreReplacedError: the bytes the log names are not there).
 */
export async function claimBlobStore(
  db: Pick<Database, "query" | "write">,
  store: Pick<BlobStore, "kind" | "location" | "readIdentity" | "writeIdentity">,
  now: Date,
): Promise<RecordedBlobStore> {
  let mine = await store.readIdentity();
  let recorded = await recordedBlobStore(db);
  if (recorded === null) {
    const id = mine?.id ?? randomUUID();
    await db.write((tx) => tx.execute(INSERT_RECORD, [store.kind, id, store.location, now]));
    recorded = await recordedBlobStore(db);
    if (recorded === null) throw new Error("the blob store record vanished while it was written");
  }
  if (mine === null) {
    const samePlace = recorded.kind === store.kind && recorded.location === store.location;
    if (samePlace && now.getTime() - recorded.recordedAt.getTime() > FIRST_START_WINDOW_MS)
      throw new BlobStoreReplacedError(recorded);
    if (!samePlace)
      throw new BlobStoreMismatchError(
        { kind: store.kind, location: store.location, id: "none yet" },
        recorded,
      );
    mine = await store.writeIdentity(recorded.id);
  }
  if (recorded.id !== mine.id) throw new BlobStoreMismatchError(mine, recorded);
  return recorded;
}

/**
 * For tools that read or delete blobs (verify, gc): refuses a store other than the recorded one,
 * whose blobs would all look missing or, worse, unreferenced. Records nothing.
 */
export async function checkBlobStore(
  db: Pick<Database, "query">,
  store: Pick<BlobStore, "kind" | "location" | "readIdentity">,
): Promise<void> {
  const recorded = await recordedBlobStore(db);
  if (recorded === null) return;
  const mine = await store.readIdentity();
  if (mine === null) {
    if (recorded.kind === store.kind && recorded.location === store.location)
      throw new BlobStoreReplacedError(recorded);
    throw new BlobStoreMismatchError(
      { kind: store.kind, location: store.location, id: "none yet" },
      recorded,
    );
  }
  if (recorded.id !== mine.id) throw new BlobStoreMismatchError(mine, recorded);
}

/** Makes `store` the database's store (after a migration copied and verified every blob into it). */
export async function switchBlobStore(
  db: Pick<Database, "write">,
  store: BlobStoreIdentity,
  now: Date,
): Promise<void> {
  await db.write(async (tx) => {
    await tx.execute("DELETE FROM blob_store WHERE slot = 1");
    await tx.execute(
      "INSERT INTO blob_store (slot, kind, store_id, location, recorded_at) VALUES (1, ?, ?, ?, ?)",
      [store.kind, store.id, store.location, now],
    );
  });
}
