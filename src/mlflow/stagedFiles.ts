// The staging area of MLflow's artifact proxy (table mlflow_artifact_files): files MLflow clients
// write before `create_model_version` turns them into a version's artifacts. Each row names a blob
// of the blob store; writing a row again replaces it (MLflow lets clients overwrite a file).
import type { Database, Db } from "../db/database.ts";
import { placeholders, rowDate, rowInt } from "../db/sql.ts";
import type { SqlTx } from "../db/sql.ts";
import { ARTIFACT_LIMITS } from "../domain/artifacts.ts";

export interface StagedFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly mediaType: string;
  readonly createdAt: Date;
  readonly createdBy: string;
}

/** Entries of one listing, and files one registration takes: MLflow's proxy has no pages. */
export const MAX_LISTED = ARTIFACT_LIMITS.maxArtifactsPerVersion;

/** The folder holding a path ('' at the root). */
export const dirOf = (path: string) => {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
};

const ancestorsOf = (path: string): string[] => {
  const segments = path.split("/");
  return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join("/"));
};

/** A row of mlflow_artifact_files, from Prisma or (columns named as here) from a raw query. */
const fileOf = (row: {
  readonly path: string;
  readonly sha256: string;
  readonly size: unknown;
  readonly mediaType: string;
  readonly createdAt: unknown;
  readonly createdBy: string;
}): StagedFile => ({
  path: row.path,
  sha256: row.sha256,
  size: rowInt(row.size),
  mediaType: row.mediaType,
  createdAt: rowDate(row.createdAt),
  createdBy: row.createdBy,
});

export async function stagedFile(db: Db, path: string): Promise<StagedFile | null> {
  const row = await db.mlflowArtifactFile.findUnique({ where: { path } });
  return row === null ? null : fileOf(row);
}

/** What reads rows past Prisma: a database handle, or a transaction writing one. */
type Reads = Pick<Database, "query" | "provider"> | Pick<SqlTx, "query" | "dialect">;

const providerOf = (db: Reads) => ("provider" in db ? db.provider : db.dialect);

/**
 * The condition "`column` starts with `folder` + '/'", with its parameters: the range from
 * `folder/` up to `folder0` ('0' is the character after '/'), compared as bytes, which holds
 * exactly the strings with that prefix. Not LIKE (nor Prisma's startsWith, a LIKE): SQLite's LIKE
 * ignores the case of ASCII letters, and `%` and `_`, which paths may hold, are wildcards there (Prisma
 * does not escape them), so a LIMIT would be filled by rows of another folder (`CaseDir/` for
 * `casedir/`, `caseXdir/` for `case_dir/`) and the rows that match would be left out. SQLite compares
 * the column as bytes (its collation is BINARY), and its index serves the range; PostgreSQL
 * compares text by the database's collation, in which letter case or punctuation may weigh less
 * than the letters after them, so the range asks for "C" (bytes) there.
 */
function under(db: Reads, column: '"path"' | '"dir"', folder: string): { sql: string; params: string[] } {
  const binary = asBytes(db, column);
  return { sql: `${binary} >= ? AND ${binary} < ?`, params: [`${folder}/`, `${folder}0`] };
}

/** `column` compared as bytes (see `under`). */
const asBytes = (db: Reads, column: string) =>
  providerOf(db) === "postgresql" ? `${column} COLLATE "C"` : column;

/**
 * Why `path` cannot be a file: a folder of it is a file (`a` when writing `a/b`), or it is a
 * folder already (`a/b` exists when writing `a`). Null when it can be written (or overwritten).
 */
export async function stagedPathClash(db: Reads, path: string): Promise<string | null> {
  const ancestors = ancestorsOf(path);
  if (ancestors.length > 0) {
    const [file] = await db.query<{ path: string }>(
      `SELECT "path" FROM "mlflow_artifact_files" WHERE "path" IN (${placeholders(ancestors.length)}) LIMIT 1`,
      ancestors,
    );
    if (file !== undefined) return `'${file.path}' is a file, so it cannot hold '${path}'`;
  }
  const inside = under(db, '"path"', path);
  const [file] = await db.query<{ path: string }>(
    `SELECT "path" FROM "mlflow_artifact_files" WHERE ${inside.sql} LIMIT 1`,
    inside.params,
  );
  return file === undefined ? null : `'${path}' is a folder (it holds '${file.path}')`;
}

/** What a write of a staged file did. */
export type StagedWrite =
  | { readonly written: true }
  /** `clash`: why the path cannot be a file now; null: the file changed since it was checked. */
  | { readonly written: false; readonly clash: string | null };

/**
 * Records (or replaces) a file; its bytes are already in the blob store. In one serialised write
 * (SQLite's one writer; on PostgreSQL the append lock, held for the whole transaction), it checks
 * that the path can be a file (no file is a folder of it, it is no folder) and writes, so two PUTs
 * of `a` and `a/b` racing cannot both be stored. With `expected`, a compare-and-set: the row is written only
 * if the path still holds what the caller checked, no file (`null`) or the file of this sha256, so
 * a write that landed since the check is never overwritten unseen. When nothing was written the
 * blob stays unreferenced, and gc takes it after its retention (../artifacts/collectGarbage.ts).
 */
export async function writeStagedFile(
  db: Database,
  file: StagedFile,
  expected?: string | null,
): Promise<StagedWrite> {
  const values = [
    file.path,
    dirOf(file.path),
    file.sha256,
    file.size,
    file.mediaType,
    file.createdAt,
    file.createdBy,
  ];
  const insert = `INSERT INTO "mlflow_artifact_files" ("path", "dir", "sha256", "size", "media_type", "created_at", "created_by")
       VALUES (?, ?, ?, ?, ?, ?, ?)`;
  return db.write(async (tx): Promise<StagedWrite> => {
    const clash = await stagedPathClash(tx, file.path);
    if (clash !== null) return { written: false, clash };
    const written = await (expected === undefined
      ? tx.execute(
          `${insert}
       ON CONFLICT ("path") DO UPDATE SET "sha256" = excluded."sha256", "size" = excluded."size",
         "media_type" = excluded."media_type", "created_at" = excluded."created_at", "created_by" = excluded."created_by"`,
          values,
        )
      : expected === null
        ? tx.execute(`${insert} ON CONFLICT ("path") DO NOTHING`, values)
        : tx.execute(
            `UPDATE "mlflow_artifact_files" SET "sha256" = ?, "size" = ?, "media_type" = ?, "created_at" = ?, "created_by" = ?
       WHERE "path" = ? AND "sha256" = ?`,
            [file.sha256, file.size, file.mediaType, file.createdAt, file.createdBy, file.path, expected],
          ));
    return written > 0 ? { written: true } : { written: false, clash: null };
  });
}

/** Forgets a file; true when it existed. Its blob goes at the next gc unless something else names it. */
export async function deleteStagedFile(db: Database, path: string): Promise<boolean> {
  const deleted = await db.write((tx) =>
    tx.execute(`DELETE FROM "mlflow_artifact_files" WHERE "path" = ?`, [path]),
  );
  return deleted > 0;
}

export interface Listing {
  readonly files: readonly StagedFile[];
  /** Names of the folders directly inside. */
  readonly dirs: readonly string[];
}

/** One level of the folder `dir` ('' for the root): its files and the names of its sub-folders. */
export async function listStaged(db: Database, dir: string): Promise<Listing> {
  const files = await db.reader.mlflowArtifactFile.findMany({
    where: { dir },
    orderBy: { path: "asc" },
    take: MAX_LISTED,
  });
  return { files: files.map(fileOf), dirs: await subfolders(db, dir) };
}

/**
 * The names of the folders directly inside `dir`, at most MAX_LISTED, in byte order: a skip scan
 * over the "dir" index, so a folder whose first sub-folder holds thousands of others still lists
 * all of its own. One recursive statement, one seek per step: each step starts past every folder
 * of the name just found, at `prefix + name + '0'` ('0' follows '/', so it is above
 * `prefix + name + '/…'`); a folder that is the name itself is stepped over first (from the folder
 * followed by U+0001: only texts that go on with U+0000, which neither database's text holds, lie
 * between), since `prefix + name + '-x'` sorts between it and its sub-folders. Each name costs at
 * most two steps: 20,000 steps take about 0.1 s on PostgreSQL, each an index-only seek.
 */
async function subfolders(db: Database, dir: string): Promise<string[]> {
  const prefix = dir === "" ? "" : `${dir}/`;
  const postgres = db.provider === "postgresql";
  const column = (table: string) => asBytes(db, `${table}."dir"`);
  // SQL counts characters (code points), JavaScript UTF-16 units: the prefix's length as SQL sees it.
  const from = [...prefix].length + 1;
  const rest = `substr(walk.dir, ${from})`;
  const slash = postgres ? `strpos(${rest}, '/')` : `instr(${rest}, '/')`;
  const next = `CASE WHEN ${slash} = 0 THEN walk.dir || ${postgres ? "chr(1)" : "char(1)"}
    ELSE substr(walk.dir, 1, ${from - 1} + ${slash} - 1) || '0' END`;
  const end = dir === "" ? null : `${dir}0`;
  const below = (table: string) => (end === null ? "" : ` AND ${column(table)} < ?`);
  const rows = await db.query<{ dir: string }>(
    `WITH RECURSIVE walk(dir, step) AS (
       SELECT (SELECT f."dir" FROM "mlflow_artifact_files" f WHERE ${column("f")} > ?${below("f")}
                 ORDER BY ${column("f")} LIMIT 1), 1
       UNION ALL
       SELECT (SELECT f."dir" FROM "mlflow_artifact_files" f WHERE ${column("f")} >= (${next})${below("f")}
                 ORDER BY ${column("f")} LIMIT 1), walk.step + 1
       FROM walk WHERE walk.dir IS NOT NULL AND walk.step < ?
     )
     SELECT dir FROM walk WHERE dir IS NOT NULL`,
    end === null ? [prefix, 2 * MAX_LISTED] : [prefix, end, end, 2 * MAX_LISTED],
  );
  const names = new Set<string>();
  for (const row of rows) {
    if (names.size >= MAX_LISTED) break;
    const inside = row.dir.slice(prefix.length);
    const at = inside.indexOf("/");
    names.add(at < 0 ? inside : inside.slice(0, at));
  }
  // A name is found at its first folder: `a-/x` comes before `a/b` when `a` holds no file itself.
  return [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/**
 * The files a registration takes from `path`: the file itself, or every file below the folder,
 * at most `limit` + 1 (so that the caller can tell "too many").
 */
export async function stagedFilesUnder(db: Database, path: string, limit: number): Promise<StagedFile[]> {
  const single = await stagedFile(db.reader, path);
  if (single !== null) return [single];
  const inside = under(db, '"path"', path);
  const rows = await db.query<Parameters<typeof fileOf>[0]>(
    `SELECT "path", "sha256", "size", "media_type" AS "mediaType", "created_at" AS "createdAt",
         "created_by" AS "createdBy"
       FROM "mlflow_artifact_files" WHERE ${inside.sql} ORDER BY "path" LIMIT ?`,
    [...inside.params, limit + 1],
  );
  return rows.map(fileOf);
}
