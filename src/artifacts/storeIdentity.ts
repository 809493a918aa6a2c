// Which blob store the database's artifacts live in. Events and blobs are kept in two places, and
// an instance pointed at the right database but the wrong store (its own folder on another host,
// while the others share a bucket) would accept uploads nobody else can serve and answer
// BLOB_MISSING for everything else. So the database records the identity of its store (the random
// id kept inside the store itself), and an instance whose store has another id is refused at start.
import type { Database } from "../db/database.ts";
import { rowDate } from "../db/sql.ts";
import { StartupError } from "../startupErrors.ts";
import type { BlobStoreIdentity } from "./blobStore.ts";

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

/**
 * Records `mine` as the database's store when none is recorded yet (the first instance to start,
 * or a registry that predates the record), and refuses (BlobStoreMismatchError) when another is.
 * Two instances starting at once: the first insert wins, the other compares with it.
 */
export async function claimBlobStore(
  db: Pick<Database, "query" | "write">,
  mine: BlobStoreIdentity,
  now: Date,
): Promise<RecordedBlobStore> {
  let recorded = await recordedBlobStore(db);
  if (recorded === null) {
    await db.write((tx) =>
      tx.execute(
        "INSERT INTO blob_store (slot, kind, store_id, location, recorded_at) VALUES (1, ?, ?, ?, ?) ON CONFLICT (slot) DO NOTHING",
        [mine.kind, mine.id, mine.location, now],
      ),
    );
    recorded = await recordedBlobStore(db);
    if (recorded === null) throw new Error("the blob store record vanished while it was written");
  }
  if (recorded.id !== mine.id) throw new BlobStoreMismatchError(mine, recorded);
  return recorded;
}

/**
 * For tools that read or delete blobs (verify, gc): refuses a store other than the recorded one,
 * whose blobs would all look missing or, worse, unreferenced. Records nothing.
 */
export async function checkBlobStore(db: Pick<Database, "query">, mine: BlobStoreIdentity): Promise<void> {
  const recorded = await recordedBlobStore(db);
  if (recorded !== null && recorded.id !== mine.id) throw new BlobStoreMismatchError(mine, recorded);
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
