// `npm start`: apply pending migrations, open the database, serve GraphQL; shut down cleanly on
// SIGINT/SIGTERM.
import { loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";
import { createRegistro } from "./registro.ts";
import { prepareStartup } from "./prepareStartup.ts";
import { describeStartupError } from "./startupErrors.ts";

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  await prepareStartup(config, logger);
  const registro = await createRegistro({
    database: config.database,
    dataDir: config.dataDir,
    logger,
    artifacts: config.artifacts,
    inspection: config.inspection,
    corsOrigins: config.http.corsOrigins,
    ...(logger.isLevelEnabled("trace")
      ? { onReadQuery: (sql: string, durationMs: number) => logger.trace({ sql, durationMs }, "read query") }
      : {}),
  });
  if (registro.migrationsApplied.length > 0)
    logger.info({ migrations: registro.migrationsApplied }, "applied migrations");
  const address = await registro.app.listen(config.port, config.host);
  const storage = config.database.provider === "sqlite" ? `SQLite ${config.database.file}` : "PostgreSQL";
  logger.info(`Registro listening on http://${config.host}:${address.port}/graphql (storage: ${storage})`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    registro.close().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "error during shutdown");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error(`Registro could not start: ${describeStartupError(error)}`);
  process.exit(1);
});
