// The rebuild's own connections and its shadow tables. The rebuild never writes the live projection
// tables while it replays: it fills shadow tables with identical definitions (taken from the live
// schema itself, so they follow every migration) in short transactions of its own, then swaps them
// in with one short transaction that holds the writers' lock. A running server keeps serving from the
// live tables throughout and addresses the new ones by the same names after the swap.
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { ACCESS_TABLES } from "../../access/projection.ts";
import type { DatabaseConfig } from "../../config.ts";
import { APPEND_LOCK_KEY, WRITERS_GATE_KEY } from "../../db/database.ts";
import type { Tx } from "../../db/database.ts";
import { PostgresTx, SqliteTx, pgTypes } from "../../db/sql.ts";
import type { SqlValue } from "../../db/sql.ts";
import { SQLITE_VERSION_ROWS } from "../modelVersions/versionRows.ts";
import { RenamingTx, renameIdentifiers } from "./renamingTx.ts";

/** Every projection table, children before the tables they reference. */
export const PROJECTION_TABLES = [
  "model_version_comments",
  "model_version_deployments",
  "review_requests",
  "model_version_artifacts",
  "model_aliases",
  "model_permissions",
  "model_version_tags",
  "model_version_metrics",
  "model_versions",
  "registered_model_tags",
  "registered_models",
  ...ACCESS_TABLES,
] as const;

export interface ShadowConnection {
  readonly dialect: Tx["dialect"];
  /** Reads the log through a connection of its own that sees every committed event. */
  read<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /**
   * Drops what an interrupted rebuild left behind and creates empty shadow tables. The secondary
   * indexes of `deferIndexesOf` may be left out until createDeferredIndexes: a bulk fill of plain
   * INSERTs is cheaper without them, and an index built over the filled table is one sort.
   */
  createShadow(deferIndexesOf?: readonly string[]): Promise<void>;
  /** Creates the indexes createShadow deferred, one write transaction each; reports each one's duration. */
  createDeferredIndexes(onIndex?: (durationMs: number) => void): Promise<void>;
  /** A short write transaction: `shadow` addresses the shadow tables, `live` the live ones. */
  write<T>(work: (shadow: Tx, live: Tx) => Promise<T>): Promise<T>;
  /** One transaction holding the writers' lock: `work` (the last catch-up), then the swap. */
  swap(work: (shadow: Tx, live: Tx) => Promise<void>): Promise<void>;
  /** How SQL names a projection table's shadow (quoted, qualified where needed). */
  shadowName(table: (typeof PROJECTION_TABLES)[number]): string;
  /** Drops the shadow tables (after a failed rebuild). */
  dropShadow(): Promise<void>;
  close(): Promise<void>;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long the rebuild keeps asking for SQLite's write lock before it gives up. */
const LOCK_DEADLINE_MS = 60_000;
const SQLITE_PREFIX = "rebuild_";

interface SchemaEntry {
  readonly type: "index" | "trigger";
  readonly name: string;
  readonly sql: string;
}

/**
 * SQLite's projection objects: PROJECTION_TABLES, where `model_versions` is a view over
 * `model_version_rows` (migration 20261222000000_version_model_ref), both shadowed: the writers
 * write the table, and whatever reads `model_versions` through the shadow session reads the shadow
 * view. Children before the tables they reference.
 */
const sqliteObjectsOf = (table: string): string[] =>
  table === "model_versions" ? [table, SQLITE_VERSION_ROWS] : [table];
const SQLITE_PROJECTION_NAMES: readonly string[] = PROJECTION_TABLES.flatMap(sqliteObjectsOf);

/**
 * SQLite: shadow tables `rebuild_<table>` in the same file (a table cannot be renamed across
 * attached databases), created from sqlite_master's own SQL with every projection table, index and
 * trigger name rewritten. The writer connection never waits inside SQLite for the lock: a server in
 * the same process runs on the same event loop, so a blocking wait could never be released.
 */
class SqliteShadow implements ShadowConnection {
  readonly dialect = "sqlite";
  private readonly writer: BetterSqlite3.Database;
  private readonly reader: BetterSqlite3.Database;
  private readonly tx: SqliteTx;
  private readonly readTx: SqliteTx;
  private readonly shadowTx: RenamingTx;
  /** The live indexes and triggers, restored under their own names by the swap. */
  private entries: SchemaEntry[] = [];
  /** Shadow index definitions left for after the bulk fill. */
  private deferred: string[] = [];
  /** The live views over projection tables and their triggers, created again by the swap. */
  private views: string[] = [];
  private viewNames = new Set<string>();

  constructor(file: string) {
    this.writer = new BetterSqlite3(file, { timeout: 0 });
    this.writer.pragma("journal_mode = WAL");
    // Shadow rows need no fsync per batch: a crash loses only a rebuild that starts over. The swap
    // itself is committed with synchronous=FULL.
    this.writer.pragma("synchronous = NORMAL");
    // Dropping the live tables in the swap must not cascade or check references row by row.
    this.writer.pragma("foreign_keys = OFF");
    // The shadow tables' indexes are written all over as streams arrive: with SQLite's default 2 MB
    // page cache nearly every insert fetched its index pages again from the OS.
    this.writer.pragma("cache_size = -262144");
    this.reader = new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: 10_000 });
    this.tx = new SqliteTx(this.writer, new Map());
    this.readTx = new SqliteTx(this.reader, new Map());
    this.shadowTx = new RenamingTx(
      this.tx,
      new Map(SQLITE_PROJECTION_NAMES.map((t) => [t, quote(SQLITE_PREFIX + t)])),
    );
  }

  read<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.readTx.query<T>(sql, params);
  }

  shadowName(table: (typeof PROJECTION_TABLES)[number]): string {
    return quote(SQLITE_PREFIX + table);
  }

  private async begin(): Promise<void> {
    const deadline = Date.now() + LOCK_DEADLINE_MS;
    for (;;) {
      try {
        this.writer.exec("BEGIN IMMEDIATE");
        return;
      } catch (error) {
        const busy = (error as { code?: string }).code?.startsWith("SQLITE_BUSY") === true;
        if (!busy || Date.now() > deadline) throw error;
        await sleep(1);
      }
    }
  }

  async write<T>(work: (shadow: Tx, live: Tx) => Promise<T>): Promise<T> {
    await this.begin();
    try {
      const result = await work(this.shadowTx, this.tx);
      this.writer.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.writer.inTransaction) this.writer.exec("ROLLBACK");
      throw error;
    }
  }

  /** Drops the named objects of the schema, views (which name the tables) first, then tables in list order. */
  private async dropObjects(tx: Tx, names: readonly string[]): Promise<void> {
    const objects = await tx.query<{ type: string; name: string }>(
      `SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name IN (${names.map(() => "?").join(", ")})`,
      [...names],
    );
    const typeOf = new Map(objects.map((o) => [o.name, o.type]));
    for (const type of ["view", "table"])
      for (const name of names)
        if (typeOf.get(name) === type) await tx.execute(`DROP ${type.toUpperCase()} ${quote(name)}`);
  }

  private dropShadowTables(tx: Tx): Promise<void> {
    return this.dropObjects(
      tx,
      SQLITE_PROJECTION_NAMES.map((t) => SQLITE_PREFIX + t),
    );
  }

  async createShadow(deferIndexesOf: readonly string[] = []): Promise<void> {
    this.deferred = [];
    await this.write(async (_shadow, tx) => {
      await this.dropShadowTables(tx);
      const rows = await tx.query<{ type: string; name: string; tbl_name: string; sql: string | null }>(
        `SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name IN (${SQLITE_PROJECTION_NAMES.map(() => "?").join(", ")}) AND sql IS NOT NULL`,
        [...SQLITE_PROJECTION_NAMES],
      );
      const names = new Map<string, string>(
        SQLITE_PROJECTION_NAMES.map((t) => [t, quote(SQLITE_PREFIX + t)]),
      );
      for (const row of rows)
        if (row.type !== "table" && row.type !== "view") names.set(row.name, quote(SQLITE_PREFIX + row.name));
      const views = new Set(rows.filter((r) => r.type === "view").map((r) => r.name));
      this.viewNames = views;
      // A stream table's indexes are those of the objects it is stored in (a view has none).
      const deferredTables = new Set(deferIndexesOf.flatMap(sqliteObjectsOf));
      this.entries = [];
      this.views = [];
      // Tables first, parents before children, then views (which name tables), then indexes and
      // triggers (which need both).
      const rank = { table: 0, view: 1000 } as Record<string, number>;
      const order = (r: { type: string; tbl_name: string }) =>
        (rank[r.type] ?? 2000) - SQLITE_PROJECTION_NAMES.indexOf(r.tbl_name);
      for (const row of rows.sort((a, b) => order(a) - order(b))) {
        if (row.sql === null) continue;
        const sql = renameIdentifiers(row.sql, names);
        if (row.type === "index" && deferredTables.has(row.tbl_name)) this.deferred.push(sql);
        else await tx.execute(sql);
        // A view cannot be renamed: the swap drops it (its triggers with it) and creates it again.
        if (row.type === "view" || views.has(row.tbl_name)) this.views.push(row.sql);
        else if (row.type === "index" || row.type === "trigger")
          this.entries.push({ type: row.type, name: row.name, sql: row.sql });
      }
    });
  }

  async createDeferredIndexes(onIndex?: (durationMs: number) => void): Promise<void> {
    // Each index build holds the writers' lock alone: a running server waits for one index at most.
    for (const sql of this.deferred.splice(0)) {
      const started = performance.now();
      await this.write((_shadow, tx) => tx.execute(sql));
      onIndex?.(performance.now() - started);
      // A server in the same process must get its writes in between, not only after the last index.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async swap(work: (shadow: Tx, live: Tx) => Promise<void>): Promise<void> {
    this.writer.pragma("synchronous = FULL");
    // Index names cannot be changed by ALTER: the swap rewrites them in sqlite_master, which SQLite's
    // defensive mode (on by default in better-sqlite3) forbids, on this connection only.
    this.writer.unsafeMode(true);
    try {
      await this.write(async (_shadow, tx) => {
        await work(this.shadowTx, tx);
        // Views first: renaming a table checks every view of the schema, and a view cannot be renamed.
        await this.dropObjects(tx, SQLITE_PROJECTION_NAMES);
        for (const view of this.viewNames) await tx.execute(`DROP VIEW ${quote(SQLITE_PREFIX + view)}`);
        const tables = SQLITE_PROJECTION_NAMES.filter((t) => !this.viewNames.has(t));
        // Renaming rewrites the shadow tables' references to each other to the live names.
        for (const t of tables)
          await tx.execute(`ALTER TABLE ${quote(SQLITE_PREFIX + t)} RENAME TO ${quote(t)}`);
        for (const sql of this.views) await tx.execute(sql);
        const [version] = await tx.query<{ schema_version: number }>("PRAGMA schema_version");
        this.writer.pragma("writable_schema = ON");
        for (const entry of this.entries)
          await tx.execute("UPDATE sqlite_master SET name = ?, sql = ? WHERE type = ? AND name = ?", [
            entry.name,
            entry.sql,
            entry.type,
            SQLITE_PREFIX + entry.name,
          ]);
        // Every connection (the server's too) reloads the schema, and its statements recompile.
        this.writer.pragma(`schema_version = ${(version?.schema_version ?? 0) + 1}`);
        this.writer.pragma("writable_schema = OFF");
      });
    } finally {
      this.writer.unsafeMode(false);
      this.writer.pragma("synchronous = NORMAL");
    }
  }

  async dropShadow(): Promise<void> {
    await this.write((_shadow, tx) => this.dropShadowTables(tx));
  }

  close(): Promise<void> {
    this.reader.close();
    this.writer.close();
    return Promise.resolve();
  }
}

const PG_SHADOW = "registro_rebuild";
const PG_OLD = "registro_rebuild_old";

/**
 * PostgreSQL: shadow tables of the same names in a schema of their own, created from the catalog
 * (columns with defaults, generated expressions and checks through LIKE; keys, indexes, foreign keys,
 * triggers and grants through their catalog definitions, under their own names). The swap moves the
 * live tables out and the shadow ones in with ALTER TABLE … SET SCHEMA, which keeps every name.
 */
class PostgresShadow implements ShadowConnection {
  readonly dialect = "postgresql";
  private readonly pool: pg.Pool;
  private readonly types = pgTypes(pg.types);
  private live: string | null = null;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 2, allowExitOnIdle: true });
  }

  read<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return new PostgresTx(this.pool, this.types).query<T>(sql, params);
  }

  shadowName(table: (typeof PROJECTION_TABLES)[number]): string {
    return `${quote(PG_SHADOW)}.${quote(table)}`;
  }

  private async liveSchema(): Promise<string> {
    if (this.live === null) {
      const [row] = await this.read<{ schema: string }>("SELECT current_schema() AS schema");
      this.live = row?.schema ?? "public";
    }
    return this.live;
  }

  private async transaction<T>(work: (client: pg.PoolClient, tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client, new PostgresTx(client, this.types));
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private shadowNames(): Map<string, string> {
    return new Map(PROJECTION_TABLES.map((t) => [t, `${quote(PG_SHADOW)}.${quote(t)}`]));
  }

  async write<T>(work: (shadow: Tx, live: Tx) => Promise<T>): Promise<T> {
    const names = this.shadowNames();
    return this.transaction((_client, tx) => work(new RenamingTx(tx, names), tx));
  }

  /** PostgreSQL's shadow tables are created with their indexes: nothing is deferred. */
  createDeferredIndexes(): Promise<void> {
    return Promise.resolve();
  }

  async createShadow(): Promise<void> {
    const live = await this.liveSchema();
    await this.transaction(async (client, tx) => {
      await tx.execute(`DROP SCHEMA IF EXISTS ${quote(PG_OLD)} CASCADE`);
      await tx.execute(`DROP SCHEMA IF EXISTS ${quote(PG_SHADOW)} CASCADE`);
      await tx.execute(`CREATE SCHEMA ${quote(PG_SHADOW)}`);
      // Definitions are read with only the live schema on the path, so they name live tables bare,
      // and run with the shadow schema first, so those bare names resolve to the shadow tables.
      await client.query(`SET LOCAL search_path TO ${quote(live)}`);
      const tables = [...PROJECTION_TABLES].reverse();
      const ddl: string[] = [];
      const later: string[] = [];
      for (const t of tables) {
        const target = `${quote(PG_SHADOW)}.${quote(t)}`;
        const source = `${quote(live)}.${quote(t)}`;
        ddl.push(
          `CREATE TABLE ${target} (LIKE ${source} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)`,
        );
        const constraints = await tx.query<{ name: string; type: string; def: string }>(
          `SELECT conname AS name, contype AS type, pg_get_constraintdef(oid) AS def FROM pg_constraint
            WHERE conrelid = ?::regclass AND contype IN ('p', 'u', 'x', 'f') ORDER BY conname`,
          [source],
        );
        for (const c of constraints)
          (c.type === "f" ? later : ddl).push(
            `ALTER TABLE ${target} ADD CONSTRAINT ${quote(c.name)} ${c.def}`,
          );
        // Indexes but those of the table's own constraints (added above). A foreign key elsewhere that
        // refers to this table names the unique index it relies on too (its conindid): such an index
        // is still this table's to create.
        const indexes = await tx.query<{ def: string }>(
          `SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
            WHERE i.indrelid = ?::regclass
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
            ORDER BY i.indexrelid`,
          [source],
        );
        for (const { def } of indexes)
          ddl.push(def.replace(/^(CREATE (?:UNIQUE )?INDEX \S+ ON )(?:ONLY )?\S+( USING )/, `$1${target}$2`));
        const triggers = await tx.query<{ def: string }>(
          "SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgrelid = ?::regclass AND NOT tgisinternal",
          [source],
        );
        for (const { def } of triggers) later.push(def.replace(/ ON \S+ /, ` ON ${target} `));
        const grants = await tx.query<{ privilege: string; grantee: string }>(
          `SELECT a.privilege_type AS privilege, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee
             FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
            WHERE c.oid = ?::regclass AND a.grantee <> c.relowner`,
          [source],
        );
        for (const g of grants) later.push(`GRANT ${g.privilege} ON ${target} TO ${g.grantee}`);
      }
      await client.query(`SET LOCAL search_path TO ${quote(PG_SHADOW)}, ${quote(live)}`);
      for (const statement of [...ddl, ...later]) await tx.execute(statement);
    });
  }

  async swap(work: (shadow: Tx, live: Tx) => Promise<void>): Promise<void> {
    const live = await this.liveSchema();
    const names = this.shadowNames();
    await this.transaction(async (client, tx) => {
      // The writers' locks: no event commits between the last catch-up and the swap. The gate first:
      // it waits for the concurrent writes in flight, which take the append lock only at their end.
      await client.query("SELECT pg_advisory_xact_lock($1)", [WRITERS_GATE_KEY]);
      await client.query("SELECT pg_advisory_xact_lock($1)", [APPEND_LOCK_KEY]);
      await work(new RenamingTx(tx, names), tx);
      // A reader holding a table for long must not keep every later query waiting behind the swap.
      await client.query("SET LOCAL lock_timeout = '10s'");
      await tx.execute(`CREATE SCHEMA ${quote(PG_OLD)}`);
      for (const t of PROJECTION_TABLES)
        await tx.execute(`ALTER TABLE ${quote(live)}.${quote(t)} SET SCHEMA ${quote(PG_OLD)}`);
      for (const t of PROJECTION_TABLES)
        await tx.execute(`ALTER TABLE ${quote(PG_SHADOW)}.${quote(t)} SET SCHEMA ${quote(live)}`);
      // Dropping is cheap in PostgreSQL (files are unlinked at commit), so the old tables go now.
      await tx.execute(`DROP SCHEMA ${quote(PG_OLD)} CASCADE`);
      await tx.execute(`DROP SCHEMA ${quote(PG_SHADOW)}`);
    });
  }

  async dropShadow(): Promise<void> {
    await this.transaction((_client, tx) => tx.execute(`DROP SCHEMA IF EXISTS ${quote(PG_SHADOW)} CASCADE`));
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** Opens the rebuild's connections. On PostgreSQL pass a URL allowed to create and drop tables (the owner's). */
export function openShadowConnection(target: DatabaseConfig): ShadowConnection {
  return target.provider === "sqlite" ? new SqliteShadow(target.file) : new PostgresShadow(target.url);
}
