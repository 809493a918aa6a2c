// The composition root: everything a running registry is made of, wired once. `npm start` and the
// end-to-end tests both build the server through here, so tests exercise exactly what ships.
import type { Logger } from "pino";
import type { DatabaseConfig } from "./config.ts";
import { openDatabase } from "./db/database.ts";
import type { Database } from "./db/database.ts";
import { migrate } from "./db/migrate.ts";
import { createApp } from "./http/server.ts";
import type { App } from "./http/server.ts";

export interface RegistroOptions {
  readonly database: DatabaseConfig;
  readonly dataDir: string;
  readonly logger: Logger;
  readonly clock?: () => Date;
}

export interface Registro {
  readonly app: App;
  readonly db: Database;
  readonly migrationsApplied: readonly string[];
  /** Stops accepting requests, finishes in-flight work, and closes the database. */
  close(): Promise<void>;
}

export async function createRegistro(options: RegistroOptions): Promise<Registro> {
  const migrationsApplied = await migrate(options.database);
  const db = openDatabase(options.database);
  const app = createApp({ db, logger: options.logger, ...(options.clock ? { clock: options.clock } : {}) });
  return {
    app,
    db,
    migrationsApplied,
    async close() {
      await app.close();
      await db.close();
    },
  };
}
