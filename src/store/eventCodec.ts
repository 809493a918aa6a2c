// How an event row's columns are stored, apart from what they mean. The chain hash is stored as its
// 32 bytes (BLOB on SQLite, bytea on PostgreSQL; migration 20261211000000_event_row) and read back
// as the lowercase hex text everything else uses: the hash input (../audit/eventHash.ts, which
// chains over the previous hash's hex), checkpoints, snapshots, backups and the audit log.
// `occurred_at` needs no codec of its own: like every time column it is integer milliseconds on
// SQLite (migrations 20261212000000_event_time, 20261213000000_integer_times) and timestamp(3) on
// PostgreSQL, bound and read by ../db/sql.ts (sqliteDate, rowDate) like any other date.

/** The chain hash as written: its 32 bytes. */
export const storedHash = (hex: string): Buffer => Buffer.from(hex, "hex");

/**
 * The chain hash as read: lowercase hex. A value that is not bytes (text written into the column
 * outside Registro) is returned as it is, so the chain check reports it instead of a crash.
 */
export function hashOf(stored: unknown): string | null {
  if (stored === null || stored === undefined) return null;
  if (stored instanceof Uint8Array)
    return Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).toString("hex");
  return typeof stored === "string" ? stored : JSON.stringify(stored);
}

/** A UUID in the canonical lowercase form the server gives requests (node:crypto's randomUUID). */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * SQLite: the correlation id as `event_rows` stores it (migration 20261220000000_event_stream): a
 * canonical lowercase UUID as its 16 bytes, anything else (a client's X-Request-Id, a token's jti)
 * as the text it is. The `events` view formats the bytes back into that UUID, so every reader gets
 * the text that was hashed. The pattern is anchored and has no nested repetition (linear time).
 */
export const storedCorrelationId = (id: string | null): string | Buffer | null =>
  id !== null && CANONICAL_UUID.test(id) ? Buffer.from(id.replaceAll("-", ""), "hex") : id;
