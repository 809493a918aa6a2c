// `registro watch [MODEL]`: promotions and alias moves as they commit, over graphql-ws. The cursor of
// each notification is saved in a state file once printed, so the next run resumes where this one
// stopped: nothing is missed and nothing repeated (the server replays from the cursor).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { contextOf } from "../context.ts";
import type { CommandContext } from "../context.ts";
import { CliError, ExitCode, usageError } from "../exitCodes.ts";
import { ANSWER_LIMIT_BYTES } from "../graphqlClient.ts";

interface WatchOptions {
  state?: string;
  fromNow?: boolean;
  count?: string;
}

/** The state file: the cursor of the last change printed. */
interface WatchState {
  cursor?: string;
}

/** `$XDG_STATE_HOME/registro/watch-<hash of server and model>.json` (`~/.local/state/…`). */
function defaultStateFile(url: string, model: string | undefined): string {
  const base = process.env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state");
  const key = createHash("sha256")
    .update(`${url}\n${model ?? ""}`)
    .digest("hex")
    .slice(0, 16);
  return path.join(base, "registro", `watch-${key}.json`);
}

function readState(file: string): WatchState {
  try {
    const value = JSON.parse(readFileSync(file, "utf8")) as WatchState;
    return typeof value.cursor === "string" ? { cursor: value.cursor } : {};
  } catch {
    return {};
  }
}

function saveState(file: string, state: WatchState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(state) + "\n", { mode: 0o600 });
  renameSync(temp, file);
}

const WATCHED = ["ModelVersionStageTransitioned", "RegisteredModelAliasSet", "RegisteredModelAliasDeleted"];

// One subscription to the log (stage changes and alias moves in one total order), so one cursor
// says exactly where to resume.
const EVENTS = `subscription($filter: RegistryEventFilter, $after: String) {
  registryEvents(filter: $filter, after: $after) { cursor type modelId occurredAt actor { displayName } data } }`;

interface WatchedEvent {
  cursor: string;
  type: string;
  modelId: string;
  occurredAt: string;
  actor: { displayName: string };
  data: {
    version?: number;
    from?: string;
    to?: string;
    comment?: string | null;
    archived?: { version: number }[];
    alias?: string;
    previousVersion?: number | null;
  };
}

/** One line for people: `… fraud v2 STAGING → PRODUCTION by alice`, `… fraud alias champion → v2 (was v1)`. */
function describeEvent(event: WatchedEvent, model: string): string {
  const d = event.data;
  const by = ` by ${event.actor.displayName}`;
  if (event.type === "ModelVersionStageTransitioned")
    return (
      `${event.occurredAt} ${model} v${d.version} ${d.from} → ${d.to}${by}` +
      (d.archived?.length ? ` (archived ${d.archived.map((a) => a.version).join(", ")})` : "") +
      (d.comment ? `: ${d.comment}` : "")
    );
  if (event.type === "RegisteredModelAliasSet")
    return `${event.occurredAt} ${model} alias ${d.alias} → v${d.version}${d.previousVersion ? ` (was v${d.previousVersion})` : ""}${by}`;
  return `${event.occurredAt} ${model} alias ${d.alias} removed (was v${d.version})${by}`;
}

export function registerWatchCommand(program: Command): void {
  program
    .command("watch")
    .description("follow promotions and alias moves live, resuming from the last one seen")
    .argument("[model]", "only this model")
    .option("--state <file>", "where the resume cursor is kept (default: under ~/.local/state/registro)")
    .option("--from-now", "ignore the saved cursor: start with the next change")
    .option("--count <n>", "stop after this many changes")
    .action(async (model: string | undefined, options: WatchOptions, command: Command) => {
      const ctx = contextOf(command);
      const count = options.count === undefined ? Infinity : Number(options.count);
      if (count !== Infinity && (!Number.isInteger(count) || count < 1))
        throw usageError("--count must be a positive integer");
      const stateFile = options.state
        ? path.resolve(options.state)
        : defaultStateFile(ctx.settings.url, model);
      const state = options.fromNow ? {} : readState(stateFile);
      await watch(ctx, model, count, stateFile, state);
    });
}

/** Model names by id, for events of any model (the log names models by their stable id). */
async function modelNames(ctx: CommandContext): Promise<Map<string, string>> {
  const data = await ctx.client.request<{ registeredModels: { nodes: { modelId: string; name: string }[] } }>(
    `{ registeredModels(first: 500, filter: { includeDeleted: true }) { nodes { modelId name } } }`,
  );
  return new Map(data.registeredModels.nodes.map((m) => [m.modelId, m.name]));
}

async function watch(
  ctx: CommandContext,
  model: string | undefined,
  count: number,
  stateFile: string,
  state: WatchState,
) {
  const { out, settings } = ctx;
  let seen = 0;
  let failure: CliError | undefined;
  let names = new Map<string, string>();
  const nameOf = async (modelId: string) => {
    if (model !== undefined) return model;
    if (!names.has(modelId)) names = await modelNames(ctx).catch(() => names);
    return names.get(modelId) ?? modelId;
  };
  // Loaded here, not at start-up: every other command would pay for them.
  const [{ createClient }, { default: WebSocket }] = await Promise.all([import("graphql-ws"), import("ws")]);
  // One event is a few hundred bytes: a larger message (ws allows 100 MiB) closes the connection.
  class BoundedWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { maxPayload: ANSWER_LIMIT_BYTES });
    }
  }
  let activeSocket: InstanceType<typeof WebSocket> | undefined;
  let pongDeadline: NodeJS.Timeout | undefined;
  const client = createClient({
    url: `${settings.url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: BoundedWebSocket,
    connectionParams: settings.token ? { Authorization: `Bearer ${settings.token}` } : {},
    // graphql-ws would resubscribe by itself with the variables it started with; every resubscription
    // must carry the latest cursor, so it is restarted here instead.
    retryAttempts: 0,
    // Deadlines: the server must acknowledge the connection, and answer our pings, within the
    // timeout; a connection that went silent (a dead NAT entry) is closed and resumed from the cursor.
    connectionAckWaitTimeout: settings.timeoutMs,
    keepAlive: Math.min(10_000, settings.timeoutMs),
    on: {
      connected: (socket) => (activeSocket = socket as InstanceType<typeof WebSocket>),
      ping: (received) => {
        if (received) return;
        clearTimeout(pongDeadline);
        pongDeadline = setTimeout(() => activeSocket?.terminate(), settings.timeoutMs);
      },
      pong: (received) => {
        if (received) clearTimeout(pongDeadline);
      },
    },
  });
  out.note(`watching ${model ?? "every model"} on ${settings.url} (state ${stateFile})`);
  await new Promise<void>((resolve) => {
    let stopped = false;
    let dispose: () => void = () => undefined;
    const stop = (error?: CliError) => {
      if (stopped) return;
      stopped = true;
      failure = error;
      clearTimeout(pongDeadline);
      dispose();
      void client.dispose();
      resolve();
    };
    ctx.signal.addEventListener("abort", () => stop(), { once: true });
    // Printing is sequential (a name lookup may wait), so the saved cursor never passes a change not yet printed.
    let printing = Promise.resolve();
    const print = (event: WatchedEvent) => {
      printing = printing.then(async () => {
        if (stopped) return;
        const name = await nameOf(event.modelId);
        out.line({ model: name, ...event }, describeEvent(event, name));
        state.cursor = event.cursor;
        saveState(stateFile, state);
        if (++seen >= count) stop();
      });
    };
    const follow = (retry = 0) => {
      if (stopped) return;
      dispose = client.subscribe<{ registryEvents: WatchedEvent }>(
        {
          query: EVENTS,
          variables: {
            filter: { types: WATCHED, ...(model ? { models: [model] } : {}) },
            after: state.cursor ?? null,
          },
        },
        {
          next: ({ data, errors }) => {
            const error = errors?.[0];
            if (error) {
              const code = error.extensions?.code as string | undefined;
              if (code === "SUBSCRIBER_TOO_SLOW") return; // `complete` follows; we resume from our cursor.
              stop(
                code === "INVALID_CURSOR"
                  ? new CliError(
                      `${error.message}; the saved cursor is not this registry's: run with --from-now`,
                      ExitCode.failure,
                      code,
                    )
                  : CliError.fromApi(code, error.message),
              );
              return;
            }
            if (data?.registryEvents) print(data.registryEvents);
          },
          error: (error: unknown) => {
            const close = error as { code?: number; reason?: string; message?: string };
            if (close?.code === 4401 || close?.code === 4403) {
              stop(
                new CliError(
                  `the server refused the credentials (${close.reason ?? close.code}); set REGISTRO_TOKEN or run \`registro login\``,
                  ExitCode.permission,
                  "UNAUTHENTICATED",
                ),
              );
              return;
            }
            const wait = Math.min(30_000, 500 * 2 ** retry);
            out.note(
              `connection lost (${close?.reason || close?.message || close?.code}); retrying in ${wait / 1000} s`,
            );
            setTimeout(() => void printing.then(() => follow(retry + 1)), wait);
          },
          complete: () => setTimeout(() => void printing.then(() => follow()), 500),
        },
      );
    };
    follow();
  });
  if (failure) throw failure;
}
