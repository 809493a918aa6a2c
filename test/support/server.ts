// Starts a real Registro (the same composition root as `npm start`) on a random loopback port,
// against a fresh database of the given provider, for end-to-end tests over HTTP.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { FsBlobStore } from "../../src/artifacts/fsBlobStore.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import { createRegistro } from "../../src/registro.ts";
import type { CloseOutcome } from "../../src/http/server.ts";
import type { Registro, RegistroOptions } from "../../src/registro.ts";
import { parseAllowList } from "../../src/webhooks/delivery/targetGuard.ts";
import { createTestDatabase } from "./databases.ts";

/** The OS user name test servers give their local administrator (AUTH=local). */
export const LOCAL_ADMIN = "local-admin";

export interface TestServer {
  readonly url: string;
  readonly graphqlUrl: string;
  readonly registro: Registro;
  readonly dataDir: string;
  /** The server's database (for CLI commands run against it). */
  readonly database: DatabaseConfig;
  /** POSTs a GraphQL operation as JSON and returns the response (status, headers, body unread). */
  post(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<Response>;
  /** POSTs a GraphQL operation and returns the parsed JSON body. */
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{ data?: T; errors?: { message: string }[] }>;
  /** Closes the registry (with `options`, as the server's shutdown does) and removes its data. */
  close(options?: { readonly inFlightGraceMs?: number }): Promise<CloseOutcome>;
}

export async function startTestServer(
  provider: DatabaseConfig["provider"],
  /** Artifact, body-rate and upload limits (the blob store lives in `<dataDir>/blobs`); a logger to see what the server logs. */
  options: Partial<
    Pick<
      RegistroOptions,
      | "artifacts"
      | "onReadQuery"
      | "logger"
      | "corsOrigins"
      | "allowedHosts"
      | "trustedProxies"
      | "requestBodies"
      | "uploads"
      | "subscriptionConnections"
      | "rateLimits"
      | "authFailureLimits"
      | "auth"
      | "auditExport"
      | "audit"
      | "webhooks"
      | "metricsAccess"
      | "instrumentation"
      | "usage"
      | "webDist"
    >
  > = {},
): Promise<TestServer> {
  const database = await createTestDatabase(provider);
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-e2e-"));
  const registro = await createRegistro({
    database: database.config,
    dataDir,
    logger: pino({ level: "silent" }),
    // Every test's client comes from 127.0.0.1, standing for many clients: the access matrix alone
    // sends hundreds of refused credentials in seconds. The limit stays on (and so is run by every
    // test) but does not run dry unless a test sets its own.
    authFailureLimits: { burst: 1_000_000 },
    ...options,
    // Test receivers listen on 127.0.0.1, which the SSRF guard refuses unless allowed.
    webhooks: { allow: parseAllowList("127.0.0.1"), ...options.webhooks },
    // AUTH=local unless a test says otherwise; the local administrator gets a fixed name.
    auth: { osUserName: LOCAL_ADMIN, ...options.auth },
  });
  const address = await registro.app.listen(0, "127.0.0.1");
  const url = `http://127.0.0.1:${address.port}`;
  const graphqlUrl = `${url}/graphql`;
  const post: TestServer["post"] = (query, variables, headers) =>
    fetch(graphqlUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json",
        ...headers,
      },
      body: JSON.stringify({ query, variables }),
    });
  return {
    url,
    graphqlUrl,
    registro,
    dataDir,
    database: database.config,
    post,
    async gql(query, variables, headers) {
      return (await (await post(query, variables, headers)).json()) as never;
    },
    async close(options) {
      const outcome = await registro.close(options);
      await database.destroy();
      rmSync(dataDir, { recursive: true, force: true });
      return outcome;
    },
  };
}

/** The registry's blob store as the folder it is by default, for tests that damage or inspect its files. */
export function folderStore(registro: Pick<Registro, "blobs">): FsBlobStore {
  if (!(registro.blobs instanceof FsBlobStore))
    throw new Error(`not a folder store: ${registro.blobs.location}`);
  return registro.blobs;
}
