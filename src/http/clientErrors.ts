// Requests Node's HTTP parser refuses before any handler runs: bad syntax (400), headers over
// 16 KiB (431), headers that never finished arriving (408). Node answers them with an empty body;
// here they get the error shape of the endpoint they were for, as every other refusal does: MLflow's
// `{error_code, message}` on MLflow's paths (its clients read nothing else), GraphQL's on /graphql,
// the server's JSON elsewhere. The endpoint is read from the request line, when the bytes Node hands
// over (`rawPacket`, the chunk the parser failed in) still hold it: a request whose line arrived in
// an earlier chunk, or that has none, gets the server's shape. These bytes are whatever a client
// sent, so they are read within a bound and nothing here may throw.
import type { Duplex } from "node:stream";
import type { ServerRefusal } from "./bodyDeadline.ts";

/** The body of a refusal of a request for `url` in its endpoint's shape (the server's refusalBody). */
export type RefusalBody = (url: URL, refusal: ServerRefusal) => unknown;

/** Node's parser error, with what it adds: the chunk it failed in, and how far into it. */
interface ParserError extends Error {
  readonly code?: string;
  readonly rawPacket?: unknown;
  readonly bytesParsed?: number;
}

/** How long the answer may take to leave before the connection is cut anyway. */
const ANSWER_DEADLINE_MS = 5_000;

/** Longest request line read back: a target past Node's 16 KiB of headers cannot have parsed anyway. */
const MAX_LINE = 16 * 1024;

const REFUSALS = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: "Request Header Fields Too Large",
    code: "HEADERS_TOO_LARGE",
    message: "the request's headers are larger than the server accepts",
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: "Request Timeout",
    code: "REQUEST_TIMEOUT",
    message: "the request's headers did not arrive in time",
  },
} as const;

const BAD_REQUEST = {
  status: 400,
  reason: "Bad Request",
  code: "BAD_REQUEST",
  message: "the request is not valid HTTP/1.1",
} as const;

/**
 * The target of the request the parser failed on, as a URL, or null: the request line of the
 * message the failing byte belongs to (a chunk may end a previous keep-alive request first).
 */
export function failedRequestUrl(error: ParserError): URL | null {
  const packet = error.rawPacket;
  if (!Buffer.isBuffer(packet)) return null;
  const failedAt = Math.min(
    packet.length,
    typeof error.bytesParsed === "number" && error.bytesParsed >= 0 ? error.bytesParsed : packet.length,
  );
  // The message starts after the last blank line before the failing byte (or at the chunk's start).
  const previousEnd = packet.lastIndexOf("\r\n\r\n", Math.max(0, failedAt - 4));
  const start = previousEnd < 0 || previousEnd + 4 > failedAt ? 0 : previousEnd + 4;
  const head = packet.subarray(start, Math.min(packet.length, start + MAX_LINE)).toString("latin1");
  const line = head.split(/\r?\n/, 1)[0] ?? "";
  const target = line.split(" ")[1];
  if (target === undefined || !target.startsWith("/")) return null;
  try {
    return new URL(target, "http://registro.invalid");
  } catch {
    return null;
  }
}

/**
 * The `clientError` listener: answers the refusal in its endpoint's shape (`refusalBody`; the
 * server's JSON when the target cannot be read) and closes the connection.
 */
export function clientErrorAnswer(refusalBody: RefusalBody) {
  return (error: ParserError, socket: Duplex): void => {
    try {
      // Nothing to answer on a connection that is gone or whose response has begun (the answer would
      // land inside it), as Node itself does.
      const response = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (!socket.writable || error.code === "ECONNRESET" || response?.headersSent === true)
        return void socket.destroy();
      const { status, reason, code, message } = REFUSALS[error.code as keyof typeof REFUSALS] ?? BAD_REQUEST;
      const refusal: ServerRefusal = { status, code, message };
      const url = failedRequestUrl(error);
      const body = url === null ? { error: { code, message } } : refusalBody(url, refusal);
      const text = JSON.stringify(body);
      // Closed once the answer has left: the rest of what the client sends is not HTTP we can read.
      // A client that does not read the answer does not keep the socket past ANSWER_DEADLINE_MS.
      setTimeout(() => socket.destroy(), ANSWER_DEADLINE_MS).unref();
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
        () => socket.destroy(),
      );
    } catch {
      socket.destroy();
    }
  };
}
