// `npm start`: apply pending migrations, open the database, serve GraphQL; shut down cleanly on
// SIGINT/SIGTERM.
import { loadConfig } from "./config.ts";
import { openDatabase } from "./db/database.ts";
import { migrate } from "./db/migrate.ts";
import { createApp } from "./http/server.ts";
import { createLogger } from "./logger.ts";

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const applied = await migrate(config.database);
  if (applied.length > 0) logger.info({ migrations: applied }, "applied migrations");
  const db = openDatabase(config.database);
  const app = createApp({ db, logger });
  const address = await app.listen(config.port, config.host);
  const where = config.database.provider === "sqlite" ? config.database.file : "PostgreSQL";
  logger.info(`Registro listening on http://${config.host}:${address.port}/graphql (storage: ${config.database.provider} ${where})`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    void app
      .close()
      .then(() => db.close())
      .then(() => {
        logger.info("stopped");
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, "error during shutdown");
        process.exit(1);
      });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
