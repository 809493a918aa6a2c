// Helpers for subscription tests: a Registro with tunable subscription options, a graphql-ws client
// that records what it receives, an SSE client, and the mutations the tests drive.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "graphql-ws";
import type { Client, FormattedExecutionResult } from "graphql-ws";
import { pino } from "pino";
import WebSocket from "ws";
import type { DatabaseConfig } from "../../src/config.ts";
import { createRegistro } from "../../src/registro.ts";
import type { Registro, RegistroOptions } from "../../src/registro.ts";
import { createTestDatabase } from "../support/databases.ts";
import { LOCAL_ADMIN } from "../support/server.ts";
import type { TestDatabase } from "../support/databases.ts";

export interface SubscriptionServer {
  readonly url: string;
  readonly graphqlUrl: string;
  readonly wsUrl: string;
  readonly registro: Registro;
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: any[] }>;
  close(): Promise<void>;
}

/** A Registro on a random port; on `database` when given (shared), else on a fresh one it destroys. */
export async function startServer(
  provider: DatabaseConfig["provider"],
  options: {
    database?: TestDatabase;
    subscriptions?: RegistroOptions["subscriptions"];
    auth?: RegistroOptions["auth"];
    /** Another instance of the same registry: its blob store folder, shared (the default is a folder of its own). */
    blobDir?: string;
  } = {},
): Promise<SubscriptionServer> {
  const database = options.database ?? (await createTestDatabase(provider));
  const dataDir = mkdtempSync(path.join(tmpdir(), "registro-subs-"));
  const registro = await createRegistro({
    database: database.config,
    dataDir,
    logger: pino({ level: "silent" }),
    auth: { osUserName: LOCAL_ADMIN, ...options.auth },
    ...(options.subscriptions ? { subscriptions: options.subscriptions } : {}),
    ...(options.blobDir === undefined ? {} : { artifacts: { dir: options.blobDir } }),
  });
  const address = await registro.app.listen(0, "127.0.0.1");
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    wsUrl: `ws://127.0.0.1:${address.port}/graphql`,
    registro,
    gql: (query, variables) => gql(`${url}/graphql`, query, variables),
    async close() {
      await registro.close();
      if (!options.database) await database.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function gql<T = any>(
  graphqlUrl: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ data?: T; errors?: any[] }> {
  const response = await fetch(graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as never;
}

/**
 * Runs a mutation as the local administrator (no credentials) and returns its (typed-union) payload,
 * failing on any error. `select` holds the payload's fragment (`... on PrincipalPayload { … }`).
 */
export async function mutate(graphqlUrl: string, field: string, input: Record<string, unknown>, select = "") {
  const type = `${field.charAt(0).toUpperCase()}${field.slice(1)}Input`;
  const result = await gql(
    graphqlUrl,
    `mutation($input: ${type}!) { ${field}(input: $input) { __typename ... on Error { message } ${select} } }`,
    { input },
  );
  const payload = result.data?.[field];
  if (result.errors || !payload || "message" in payload)
    throw new Error(`${field} failed: ${JSON.stringify(result.errors ?? payload)}`);
  return payload;
}

export const createModel = (url: string, name: string) => mutate(url, "createRegisteredModel", { name });
export const createVersion = (url: string, name: string) =>
  mutate(url, "createModelVersion", { name, source: `s3://models/${name}` });
export const transition = (
  url: string,
  name: string,
  version: number,
  stage: string,
  archiveExistingVersions = false,
) => mutate(url, "transitionModelVersionStage", { name, version, stage, archiveExistingVersions });
export const setAlias = (url: string, name: string, version: number, alias: string) =>
  mutate(url, "setRegisteredModelAlias", { name, version, alias });
export const tag = (url: string, name: string, key: string, value: string) =>
  mutate(url, "setRegisteredModelTag", { name, key, value });

/** A graphql-ws client that fails fast (no retries) so tests see errors. */
export function wsClient(
  wsUrl: string,
  options: { connectionParams?: Record<string, unknown>; webSocketImpl?: unknown } = {},
): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: options.webSocketImpl ?? WebSocket,
    retryAttempts: 0,
    lazy: true,
    ...(options.connectionParams ? { connectionParams: options.connectionParams } : {}),
  });
}

export interface Recorder<T = any> {
  readonly results: FormattedExecutionResult<T, unknown>[];
  readonly data: T[];
  error: unknown;
  completed: boolean;
  /** Resolves once `n` results have arrived (rejects on error/complete before that, or timeout). */
  waitFor(n: number, timeoutMs?: number): Promise<T[]>;
  /** Resolves when the operation ends (complete or error). */
  ended(timeoutMs?: number): Promise<void>;
  dispose(): void;
}

/** Subscribes through graphql-ws and records every result. */
export function record<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Recorder<T> {
  const waiters = new Set<() => void>();
  const poke = () => waiters.forEach((w) => w());
  const recorder: Recorder<T> = {
    results: [],
    data: [],
    error: undefined,
    completed: false,
    waitFor: (n, timeoutMs = 10_000) =>
      until(
        () => recorder.data.length >= n,
        timeoutMs,
        () => `${recorder.data.length}/${n} results`,
        recorder,
      ).then(() => recorder.data.slice(0, n)),
    ended: (timeoutMs = 10_000) =>
      until(
        () => recorder.completed || recorder.error !== undefined,
        timeoutMs,
        () => "the end of the operation",
      ),
    dispose: () => unsubscribe(),
  };
  function until(done: () => boolean, timeoutMs: number, what: () => string, failFast?: Recorder<T>) {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (done()) return finish(resolve);
        if (failFast && (failFast.error !== undefined || failFast.completed))
          finish(() =>
            reject(new Error(`ended before ${what()}: ${JSON.stringify(failFast.error ?? "complete")}`)),
          );
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timed out waiting for ${what()}`))),
        timeoutMs,
      );
      const finish = (then: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        then();
      };
      waiters.add(check);
      check();
    });
  }
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        recorder.results.push(result);
        if (result.data) recorder.data.push(result.data);
        poke();
      },
      error: (error) => {
        recorder.error = error;
        poke();
      },
      complete: () => {
        recorder.completed = true;
        poke();
      },
    },
  );
  return recorder;
}

export { eventually } from "../support/eventually.ts";

export interface SseEvent {
  readonly event: string;
  readonly data: any;
}

/**
 * GraphQL over SSE (distinct connections mode): POST with Accept: text/event-stream, parse the
 * stream. `headers` carry credentials when the subscriber is not the local administrator.
 */
export async function sseSubscribe(
  graphqlUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  const controller = new AbortController();
  const response = await fetch(graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", ...headers },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  let ended = false;
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let boundary: number;
        while ((boundary = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue; // keep-alive comment
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (data.length > 0 || event !== "message")
            events.push({ event, data: data.length > 0 ? JSON.parse(data.join("\n") || "null") : null });
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      ended = true;
    }
  })();
  return {
    response,
    events,
    get ended() {
      return ended;
    },
    next: () => events.filter((e) => e.event === "next").map((e) => e.data),
    close: async () => {
      controller.abort();
      await reading.catch(() => undefined);
    },
    finished: () => reading,
  };
}
