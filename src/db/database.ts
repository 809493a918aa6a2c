// Opens the projection/event database for either provider behind one type. We program against the
// SQLite client's types; the PostgreSQL client has the same models and is cast in exactly one place.
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type { DatabaseConfig } from "../config.ts";
import { PrismaClient as PostgresPrismaClient } from "./generated/postgresql/client.ts";
import { PrismaClient } from "./generated/sqlite/client.ts";
import type { Prisma } from "./generated/sqlite/client.ts";

export type Db = PrismaClient;
export type Tx = Prisma.TransactionClient;
export type { Prisma };

/** An arbitrary constant: the key of the transaction-scoped lock that serialises appends on PostgreSQL. */
const APPEND_LOCK_KEY = 0x5265_6769; // "Regi"

/** PostgreSQL NOTIFY channel announcing the newest event position when a write transaction commits. */
export const APPEND_CHANNEL = "registro_events";

export interface Database {
  readonly provider: DatabaseConfig["provider"];
  /** Client for queries. On SQLite a separate read-only connection, so reads never see uncommitted writes. */
  readonly reader: Db;
  /**
   * Runs `work` in a write transaction. Writers are serialised: on SQLite by the single writer
   * connection, on PostgreSQL by a transaction-scoped advisory lock, so global positions commit in
   * order and a reader tailing the log by position can never skip a late commit.
   */
  write<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** The pg pool on PostgreSQL (for LISTEN/NOTIFY), null on SQLite. */
  readonly pgPool: pg.Pool | null;
  close(): Promise<void>;
}

const TRANSACTION_OPTIONS = { maxWait: 30_000, timeout: 60_000 } as const;

function openSqlite(file: string): Database {
  // Durability first: FULL fsyncs the WAL on every commit, so an acknowledged registration survives
  // a power cut. busy_timeout covers a CLI command (e.g. a rebuild) holding the write lock briefly.
  const writer = new PrismaClient({
    adapter: new PrismaBetterSQLite3({ url: file, timeout: 10_000 }),
  });
  const reader = new PrismaClient({
    adapter: new PrismaBetterSQLite3({ url: file, readonly: true, fileMustExist: true, timeout: 10_000 }),
  });
  let pragmas: Promise<unknown> | null = null;
  const ready = () =>
    (pragmas ??= Promise.all([
      writer.$queryRawUnsafe("PRAGMA synchronous = FULL"),
      writer.$queryRawUnsafe("PRAGMA foreign_keys = ON"),
    ]));
  return {
    provider: "sqlite",
    reader,
    pgPool: null,
    async write(work) {
      await ready();
      return writer.$transaction(work, TRANSACTION_OPTIONS);
    },
    async close() {
      await Promise.all([writer.$disconnect(), reader.$disconnect()]);
    },
  };
}

function openPostgres(url: string): Database {
  const pool = new pg.Pool({ connectionString: url, max: 10, allowExitOnIdle: true });
  // Same models, different generated class: this is the one place the two client types meet.
  const client = new PostgresPrismaClient({ adapter: new PrismaPg(pool) }) as unknown as PrismaClient;
  return {
    provider: "postgresql",
    reader: client,
    pgPool: pool,
    write(work) {
      return client.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${APPEND_LOCK_KEY})`;
        const result = await work(tx);
        // Wakes subscription tailers in every instance; delivered at (and only on) commit. Under the
        // lock, MAX(position) is this transaction's last event (or the previous one if it appended none).
        await tx.$executeRaw`SELECT pg_notify(${APPEND_CHANNEL}, (SELECT COALESCE(MAX(position), 0) FROM events)::text)`;
        return result;
      }, TRANSACTION_OPTIONS);
    },
    async close() {
      await client.$disconnect();
      await pool.end();
    },
  };
}

export function openDatabase(config: DatabaseConfig): Database {
  return config.provider === "sqlite" ? openSqlite(config.file) : openPostgres(config.url);
}
