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
