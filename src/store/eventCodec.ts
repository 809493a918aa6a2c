// How an event row's columns are stored, apart from what they mean. The chain hash is stored as its
// 32 bytes (BLOB on SQLite, bytea on PostgreSQL; migration 20261211000000_event_row) and read back
// as the lowercase hex text everything else uses: the hash input (../audit/eventHash.ts, which
// chains over the previous hash's hex), checkpoints, snapshots, backups and the audit log.

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

// `occurred_at` on SQLite is integer milliseconds since the epoch (migration
// 20261212000000_event_time): 6 bytes in the row and its index instead of 29 characters of ISO
// text. PostgreSQL's timestamp(3) is already 8 bytes and keeps its type. The column stays declared
// DATETIME, so Prisma's SQLite adapter reads the integers back as dates; Prisma's filters, which
// bind dates as ISO text, must not compare with it (the audit log's time window is raw SQL,
// ../audit/auditLogFilter.ts).

/** When an event occurred, as written and as compared with: integer milliseconds on SQLite. */
export const storedOccurredAt = (at: Date, dialect: "sqlite" | "postgresql"): Date | number =>
  dialect === "sqlite" ? at.getTime() : at;

/**
 * When an event occurred, as read: a Date from either form. Text (a row written before the
 * migration converted it, or outside Registro) is parsed as the ISO text it is.
 */
export function occurredAtOf(stored: unknown): Date {
  if (stored instanceof Date) return stored;
  if (typeof stored === "number" || typeof stored === "bigint") return new Date(Number(stored));
  return new Date(String(stored));
}
