// Checks made before the registry opens anything, so that a wrong setting stops start-up with its
// name and what to do instead of a driver's error from deep inside: the folders it writes to exist
// (or are created) and are writable, an existing SQLite file is a database, and a PostgreSQL
// database named in DATABASE_URL exists (or is created).
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { Logger } from "pino";
import { refuseAuthMode } from "./access/authMode.ts";
import type { Config } from "./config.ts";
import { ensurePostgresDatabase } from "./db/ensurePostgresDatabase.ts";
import { StartupError } from "./startupErrors.ts";

function reason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case "ENOTDIR":
    case "EEXIST":
      return "a part of the path is a file, not a folder";
    case "EACCES":
    case "EPERM":
      return `permission denied for user ${process.getuid?.() ?? "?"}`;
    case "EROFS":
      return "the file system is read-only";
    case "ENOSPC":
      return "the disk is full";
    default:
      return (error as Error).message;
  }
}

/** Creates `dir` if needed and proves it writable by writing and removing a file in it. */
async function usableFolder(dir: string, setting: string): Promise<void> {
  const info = await stat(dir).catch(() => null);
  if (info !== null && !info.isDirectory())
    throw new StartupError(`${setting} ${dir} is a file, not a folder. Set ${setting} to a folder.`);
  if (info === null) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw new StartupError(
        `${setting} ${dir} does not exist and cannot be created: ${reason(error)}. Set ${setting} to a folder this process can create or write.`,
      );
    }
  }
  const probe = path.join(dir, `.registro-write-check-${randomUUID()}`);
  try {
    await writeFile(probe, "");
  } catch (error) {
    throw new StartupError(
      `${setting} ${dir} is not writable: ${reason(error)}. Give this process write access or set ${setting} to another folder.`,
    );
  }
  await rm(probe, { force: true });
}

/** An existing file must open as a SQLite database (a wrong DATABASE_URL may point at anything). */
function usableSqliteFile(file: string, setting: string): void {
  if (!existsSync(file)) return; // the migrations create it
  let db: BetterSqlite3.Database | null = null;
  try {
    db = new BetterSqlite3(file, { fileMustExist: true, timeout: 10_000 });
    db.pragma("schema_version");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new StartupError(
      `${setting} ${file} cannot be used as a SQLite database: ${(error as Error).message}${typeof code === "string" ? ` (${code})` : ""}.`,
    );
  } finally {
    db?.close();
  }
}

export async function prepareStartup(config: Config, logger: Logger, env = process.env): Promise<void> {
  const authRefusal = refuseAuthMode(config.host, config.auth.mode);
  if (authRefusal !== null) throw new StartupError(authRefusal);
  if (config.database.provider === "sqlite") {
    const setting = env.DATABASE_URL ? "DATABASE_URL" : "DATA_DIR";
    await usableFolder(path.dirname(config.database.file), setting);
    usableSqliteFile(config.database.file, setting === "DATA_DIR" ? "the database file" : setting);
  } else if (await ensurePostgresDatabase(config.database.ownerUrl ?? config.database.url)) {
    logger.info(
      { database: new URL(config.database.url).pathname.slice(1) },
      "created the PostgreSQL database",
    );
  }
  await usableFolder(config.artifacts.dir, env.ARTIFACT_DIR ? "ARTIFACT_DIR" : "DATA_DIR (its blobs folder)");
}
