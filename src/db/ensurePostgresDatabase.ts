// `DATABASE_URL` may name a PostgreSQL database that does not exist yet (a fresh server, a new
// environment). The registry then creates it, if its role may, through the `postgres` maintenance
// database, as `createdb` would; otherwise start-up stops with the command that creates it.
import pg from "pg";
import { StartupError } from "../startupErrors.ts";

const CONNECT_TIMEOUT_MS = 10_000;
// SQLSTATE codes (PostgreSQL appendix A).
const INVALID_CATALOG_NAME = "3D000";
const DUPLICATE_DATABASE = "42P04";
const INSUFFICIENT_PRIVILEGE = "42501";

const sqlState = (error: unknown) => (error as { code?: unknown } | null)?.code;
const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

async function canConnect(connectionString: string): Promise<Error | null> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    return null;
  } catch (error) {
    return error as Error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function howToCreate(url: URL, database: string, role: string, reason: string): StartupError {
  const host = url.hostname || "localhost";
  const port = url.port || "5432";
  return new StartupError(
    `PostgreSQL database "${database}" (DATABASE_URL) does not exist and ${reason}. ` +
      `Create it once as a role that may, e.g. \`createdb -h ${host} -p ${port} -U postgres -O ${role} ${database}\` ` +
      `or in psql \`CREATE DATABASE ${quoteIdentifier(database)} OWNER ${quoteIdentifier(role)};\`, then start again.`,
  );
}

/** Returns true when it created the database; throws when it is missing and cannot be created. */
export async function ensurePostgresDatabase(connectionString: string): Promise<boolean> {
  const problem = await canConnect(connectionString);
  if (problem === null) return false;
  if (sqlState(problem) !== INVALID_CATALOG_NAME) throw problem;

  const url = new URL(connectionString);
  const role = decodeURIComponent(url.username) || "postgres";
  // Without a database in the URL, PostgreSQL uses the role's name.
  const database = decodeURIComponent(url.pathname.slice(1)) || role;
  const maintenance = new URL(connectionString);
  maintenance.pathname = "/postgres";
  const admin = new pg.Client({
    connectionString: maintenance.toString(),
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  try {
    await admin.connect();
  } catch (error) {
    throw howToCreate(
      url,
      database,
      role,
      `the maintenance database "postgres" is not reachable either (${(error as Error).message})`,
    );
  }
  try {
    await admin.query(`CREATE DATABASE ${quoteIdentifier(database)}`);
    return true;
  } catch (error) {
    // Another instance starting at the same moment created it first.
    if (sqlState(error) === DUPLICATE_DATABASE) return false;
    if (sqlState(error) === INSUFFICIENT_PRIVILEGE)
      throw howToCreate(url, database, role, `role "${role}" may not create databases`);
    throw error;
  } finally {
    await admin.end().catch(() => undefined);
  }
}
