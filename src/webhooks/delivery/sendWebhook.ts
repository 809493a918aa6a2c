// One HTTP POST of a signed message: a total deadline (connect, headers and body), a cap on the
// response read, no redirects followed (a 3xx is a failure: following one could lead anywhere), and
// the connection pinned to the address the SSRF guard checked.
import http from "node:http";
import https from "node:https";
import { performance } from "node:perf_hooks";
import type { Duplex } from "node:stream";
import { pinnedLookup, resolveTarget } from "./targetGuard.ts";
import type { Resolver, TargetAllowList } from "./targetGuard.ts";
import { storablePrefix } from "../../domain/validation.ts";

export interface SendLimits {
  /** Whole request deadline, including the response body. */
  readonly timeoutMs: number;
  /** Response bytes read; more is a failure (the excerpt keeps the first ones). */
  readonly maxResponseBytes: number;
  readonly allow: TargetAllowList;
  readonly resolver?: Resolver;
}

export interface SendOutcome {
  readonly ok: boolean;
  readonly responseCode: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
  /** The start of the response body (at most EXCERPT_CHARS characters). */
  readonly responseExcerpt: string | null;
}

const EXCERPT_CHARS = 1024;
/** Characters of a receiver's `Location` kept in a failed delivery's error (and its log line). */
const LOCATION_CHARS = 200;

/** The start of where a receiver redirected to: the header is the receiver's, up to Node's 16 KiB. */
function locationOf(response: http.IncomingMessage): string {
  const location = response.headers.location ?? "?";
  return location.length > LOCATION_CHARS ? `${storablePrefix(location, LOCATION_CHARS)}…` : location;
}

// Keep-alive spares a busy receiver a TCP (and TLS) handshake per event, but an idle connection is
// the receiver's to hold open, and each one pooled for a host and port is a file descriptor of
// ours: with no bound, receivers that never close (or one webhook whose URL is changed and pinged
// over and over, a new host name each time) piled up idle sockets without end. So an idle socket
// is closed after IDLE_SOCKET_MS, and past MAX_IDLE_SOCKETS idle ones (all receivers together) a
// finished connection is closed instead of pooled.
const IDLE_SOCKET_MS = 5_000;
const MAX_IDLE_SOCKETS = 64;

function boundIdleSockets<A extends http.Agent>(agent: A): A {
  // Node's own rule (it honours a receiver's `Keep-Alive: timeout=` hint) returns false to close.
  const keepSocketAlive: (socket: Duplex) => unknown = agent.keepSocketAlive.bind(agent);
  agent.keepSocketAlive = (socket: Duplex) => {
    let idle = 0;
    for (const pooled of Object.values(agent.freeSockets)) idle += pooled?.length ?? 0;
    return idle < MAX_IDLE_SOCKETS && keepSocketAlive(socket) !== false;
  };
  return agent;
}

const agentOptions = { keepAlive: true, maxSockets: 64, timeout: IDLE_SOCKET_MS };
const agents = {
  http: boundIdleSockets(new http.Agent(agentOptions)),
  https: boundIdleSockets(new https.Agent(agentOptions)),
};

export async function sendWebhook(
  url: string,
  headers: Readonly<Record<string, string>>,
  body: string,
  limits: SendLimits,
): Promise<SendOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const fail = (
    error: string,
    responseCode: number | null = null,
    excerpt: string | null = null,
  ): SendOutcome => ({
    ok: false,
    responseCode,
    latencyMs: elapsed(),
    error,
    responseExcerpt: excerpt,
  });
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return fail("invalid URL");
  }
  // The deadline covers resolving the host too.
  const resolved = await resolveTarget(target, limits.allow, limits.resolver, limits.timeoutMs);
  if ("refused" in resolved) return fail(`target refused: ${resolved.refused}`);
  const secure = target.protocol === "https:";
  const payload = Buffer.from(body);
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: SendOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(outcome);
    };
    const request = (secure ? https : http).request(
      target,
      {
        method: "POST",
        agent: secure ? agents.https : agents.http,
        lookup: pinnedLookup(resolved),
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": String(payload.length),
          "user-agent": "Registro-Webhooks/1",
        },
      },
      (response) => {
        const code = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > limits.maxResponseBytes) {
            chunks.push(chunk.subarray(0, Math.max(0, chunk.length - (size - limits.maxResponseBytes))));
            const excerpt = storablePrefix(Buffer.concat(chunks).toString("utf8"), EXCERPT_CHARS);
            finish(fail(`response larger than ${limits.maxResponseBytes} bytes`, code, excerpt));
            response.destroy();
            return;
          }
          chunks.push(chunk);
        });
        response.on("end", () => {
          // The receiver's bytes, as stored: a NUL in them failed the delivery's record on PostgreSQL.
          const excerpt =
            size === 0 ? null : storablePrefix(Buffer.concat(chunks).toString("utf8"), EXCERPT_CHARS);
          if (code >= 200 && code < 300)
            finish({
              ok: true,
              responseCode: code,
              latencyMs: elapsed(),
              error: null,
              responseExcerpt: excerpt,
            });
          else if (code >= 300 && code < 400)
            finish(fail(`redirect to ${locationOf(response)} not followed`, code, excerpt));
          else finish(fail(`HTTP ${code}`, code, excerpt));
        });
        response.on("error", (error) => finish(fail(error.message, code)));
      },
    );
    const deadline = setTimeout(
      () => {
        finish(fail(`no complete answer within ${limits.timeoutMs} ms`));
        request.destroy();
      },
      Math.max(0, limits.timeoutMs - elapsed()),
    );
    request.on("error", (error: NodeJS.ErrnoException) => finish(fail(error.code ?? error.message)));
    request.end(payload);
  });
}
