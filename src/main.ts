// `npm start`: apply pending migrations, open the database, serve GraphQL; shut down cleanly on
// SIGINT/SIGTERM, within a deadline.
import "./productionMode.ts";
import os from "node:os";
import type { Logger } from "pino";
import { inFlightGraceMs, loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";
import { prepareStartup } from "./prepareStartup.ts";
import { describeStartupError } from "./startupErrors.ts";
import type { Registro } from "./registro.ts";

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  await prepareStartup(config, logger);
  // Loaded once the settings and folders have been checked: a start that fails on them (the common
  // mistake) answers without loading the whole server first (about 1.5 s of CPU).
  const { createRegistro } = await import("./registro.ts");
  const registro = await createRegistro({
    database: config.database,
    dataDir: config.dataDir,
    logger,
    artifacts: config.artifacts,
    inspection: config.inspection,
    corsOrigins: config.http.corsOrigins,
    allowedHosts: config.http.allowedHosts,
    trustedProxies: config.http.trustedProxies,
    requestBodies: config.requestBodies,
    uploads: config.uploads,
    subscriptionConnections: config.subscriptionConnections,
    rateLimits: config.rateLimits,
    authFailureLimits: config.authFailureLimits,
    subscriptions: { maxQueuedBytes: config.subscriberMaxQueuedBytes },
    audit: config.audit,
    webhooks: config.webhooks,
    metricsAccess: config.metricsAccess,
    usage: config.usage,
    auth: {
      mode: config.auth.mode,
      oidc: config.auth.oidc,
      defaultModelPermission: config.auth.defaultModelPermission,
      credentialRecheckMs: config.auth.credentialRecheckMs,
    },
    ...(logger.isLevelEnabled("trace")
      ? { onReadQuery: (sql: string, durationMs: number) => logger.trace({ sql, durationMs }, "read query") }
      : {}),
  });
  if (registro.migrationsApplied.length > 0)
    logger.info({ migrations: registro.migrationsApplied }, "applied migrations");
  const address = await registro.app.listen(config.port, config.host);
  const storage = config.database.provider === "sqlite" ? `SQLite ${config.database.file}` : "PostgreSQL";
  logger.info(`Registro listening on http://${config.host}:${address.port}/graphql (storage: ${storage})`);

  installShutdown(registro, logger, config.shutdownTimeoutMs, config.shutdownDelayMs);
}

/**
 * SIGINT/SIGTERM: /readyz fails at once (a load balancer stops sending), for `delayMs` requests are
 * still served, then the listener closes, subscriptions end and in-flight requests finish (those
 * still running when what the deadline leaves them has passed are cut: inFlightGraceMs), all within
 * `deadlineMs`; a request cut, or a deadline passed, exits non-zero. A second signal exits at once
 * (128 + its number, as a shell reports a process killed by it), for an operator who will not wait.
 */
function installShutdown(registro: Registro, logger: Logger, deadlineMs: number, delayMs: number) {
  let stopping = false;
  const stop = (signal: "SIGINT" | "SIGTERM") => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting without finishing the shutdown");
      process.exit(128 + os.constants.signals[signal]);
    }
    stopping = true;
    registro.app.beginShutdown();
    logger.info({ signal, deadlineMs, delayMs }, "shutting down");
    setTimeout(() => {
      logger.error({ deadlineMs }, "shutdown did not finish within its deadline; exiting");
      process.exit(1);
    }, deadlineMs);
    const graceMs = inFlightGraceMs(deadlineMs, delayMs);
    new Promise((resolve) => setTimeout(resolve, delayMs))
      .then(() => registro.close({ inFlightGraceMs: graceMs }))
      .then(
        ({ cutConnections }) => {
          if (cutConnections > 0) {
            logger.error(
              { cutConnections, graceMs },
              "requests in flight outlasted what SHUTDOWN_TIMEOUT_MS left them and were cut; stopped",
            );
            process.exit(1);
          }
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
