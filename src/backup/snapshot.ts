// One consistent read of a live database, for a backup taken while writes continue. SQLite: a read
// transaction on a separate read-only connection; in WAL mode its first SELECT pins a snapshot that
// later commits never change. PostgreSQL: a REPEATABLE READ READ ONLY transaction, whose snapshot is
// taken by its first statement. In both, events commit in log-position order (SQLite has one writer;
// PostgreSQL appends hold the append lock of ../db/database.ts), so a snapshot holds every event up to
// its highest position and never a gap that a later commit fills.
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import type { DatabaseConfig } from "../config.ts";
import { PostgresTx, SqliteTx, pgTypes } from "../db/sql.ts";
import type { SqlTx } from "../db/sql.ts";

export interface Snapshot {
  readonly tx: SqlTx;
  /** Ends the read transaction and closes its connection. */
  close(): Promise<void>;
}

export async function openSnapshot(config: DatabaseConfig): Promise<Snapshot> {
  if (config.provider === "sqlite") {
    const connection = new BetterSqlite3(config.file, {
      readonly: true,
      fileMustExist: true,
      timeout: 10_000,
    });
    connection.exec("BEGIN");
    return {
      tx: new SqliteTx(connection, new Map()),
      close: () => {
        connection.exec("COMMIT");
        connection.close();
        return Promise.resolve();
      },
    };
  }
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  } catch (error) {
    await client.end();
    throw error;
  }
  return {
    // A Client runs queries exactly like the pool's clients PostgresTx is written for.
    tx: new PostgresTx(client as unknown as pg.PoolClient, pgTypes(pg.types)),
    async close() {
      try {
        await client.query("COMMIT");
      } finally {
        await client.end();
      }
    },
  };
}
