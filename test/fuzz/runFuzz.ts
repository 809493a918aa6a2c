// Drives a fuzz run against a running server: `count` hostile HTTP requests from a seed, with
// bounded concurrency, interleaved with hostile WebSocket sessions, and health probes between
// batches. Everything is bounded: every request has a deadline (a missing answer is a failure), and
// only 127.0.0.1 is ever contacted.
import { seededRandom } from "../support/random.ts";
import type { Random } from "../support/random.ts";
import { HangError, hostileRequest, missingErrorCode, sendRaw } from "./hostileRequests.ts";
import type { HostileRequest, RawResponse, Targets } from "./hostileRequests.ts";
import { hostileWebSocketSession, rawGarbageAfterUpgrade } from "./hostileWebSockets.ts";

export interface FuzzOptions {
  readonly port: number;
  readonly targets: Targets;
  readonly count: number;
  readonly seed: number;
  /** Requests in flight at once (kept under the per-client upload cap, so no 503 is expected). */
  readonly concurrency?: number;
  /** One hostile WebSocket session per this many requests. */
  readonly webSocketEvery?: number;
  /** Require every error answer to carry a code from the documented list. */
  readonly requireErrorCodes?: boolean;
  /** Called between batches (e.g. to sample memory or check the process's invariants). */
  readonly onBatch?: (done: number, failures: number) => void | Promise<void>;
}

export interface FuzzFailure {
  readonly kind: string;
  readonly problem: string;
  /** The request, abbreviated, to reproduce by hand (the seed reproduces all of them). */
  readonly request: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly requests: number;
  readonly webSocketSessions: number;
  readonly byKind: Record<string, number>;
  readonly byStatus: Record<string, number>;
  readonly failures: readonly FuzzFailure[];
}

const abbreviate = (request: HostileRequest) =>
  `${request.method} ${request.target.slice(0, 160)} ${JSON.stringify(request.headers).slice(0, 200)} ${
    request.body?.subarray(0, 200).toString("utf8") ?? ""
  }`;

/** What the answer to a request must not be, beyond "no 5xx". */
function judge(request: HostileRequest, response: RawResponse, requireErrorCodes: boolean): string | null {
  if (!(response.status >= 100 && response.status < 500)) return `status ${response.status}`;
  // A page of another site must never get a write through (a form or text/plain POST needs no preflight).
  if (request.kind === "cross-site" && response.status < 400)
    return `cross-site POST answered ${response.status}`;
  if (requireErrorCodes) return missingErrorCode(request, response);
  return null;
}

async function health(port: number): Promise<string | null> {
  try {
    const response = await sendRaw(port, {
      kind: "health",
      method: "POST",
      target: "/graphql",
      headers: [["Content-Type", "application/json"]],
      body: Buffer.from('{"query":"{ __typename }"}'),
    });
    const text = response.body.toString("utf8");
    if (response.status !== 200 || !text.includes('"Query"'))
      return `health query answered ${response.status}: ${text.slice(0, 200)}`;
    return null;
  } catch (error) {
    return `health query failed: ${(error as Error).message}`;
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const r: Random = seededRandom(options.seed);
  const concurrency = options.concurrency ?? 6;
  const webSocketEvery = options.webSocketEvery ?? 25;
  const byKind: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  let sessions = 0;
  let issued = 0;
  const batch = 500;

  // Requests are generated up front per batch, so the sequence depends only on the seed.
  while (issued < options.count) {
    const size = Math.min(batch, options.count - issued);
    const requests = Array.from({ length: size }, () => hostileRequest(r, options.targets));
    const wsSeeds = Array.from({ length: Math.floor(size / webSocketEvery) }, () => r.int(0, 2 ** 31));
    let next = 0;
    await Promise.all([
      ...Array.from({ length: concurrency }, async () => {
        while (next < requests.length) {
          const request = requests[next++]!;
          byKind[request.kind] = (byKind[request.kind] ?? 0) + 1;
          try {
            const response = await sendRaw(options.port, request);
            byStatus[response.status] = (byStatus[response.status] ?? 0) + 1;
            const problem = judge(request, response, options.requireErrorCodes ?? false);
            if (problem !== null)
              failures.push({
                kind: request.kind,
                problem: `${problem}: ${response.body.subarray(0, 300).toString("utf8")}`,
                request: abbreviate(request),
              });
          } catch (error) {
            byStatus.none = (byStatus.none ?? 0) + 1;
            // Node's HTTP parser may drop a connection whose request line it cannot read at all.
            if (
              error instanceof HangError ||
              !/closed without a response|ECONNRESET|EPIPE/.test(String(error))
            )
              failures.push({ kind: request.kind, problem: String(error), request: abbreviate(request) });
            else if (!["odd-request", "oversized-headers"].includes(request.kind))
              failures.push({ kind: request.kind, problem: String(error), request: abbreviate(request) });
          }
        }
      }),
      (async () => {
        for (const seed of wsSeeds) {
          const wr = seededRandom(seed);
          await (wr.chance(0.8)
            ? hostileWebSocketSession(wr, options.port)
            : rawGarbageAfterUpgrade(wr, options.port));
          sessions++;
        }
      })(),
    ]);
    issued += size;
    const unhealthy = await health(options.port);
    if (unhealthy !== null)
      failures.push({ kind: "health", problem: unhealthy, request: `after ${issued} requests` });
    await options.onBatch?.(issued, failures.length);
  }
  return { seed: options.seed, requests: issued, webSocketSessions: sessions, byKind, byStatus, failures };
}
