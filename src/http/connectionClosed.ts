// A signal that fires when the connection a request arrived on is gone: the HTTP response closed
// (the client left, or the answer is complete) or the WebSocket closed. A subscription is tied to
// it, so it ends with its connection on every transport, whatever the transport's own cleanup
// does: Yoga started subscriptions for POSTs that accept only JSON or multipart/mixed and never
// ended them once the response was done, and each kept receiving (and queueing) every event.
import { setMaxListeners } from "node:events";
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { WebSocket } from "ws";

const signals = new WeakMap<object, AbortSignal>();

function once(
  connection: object,
  isClosed: () => boolean,
  onClose: (abort: () => void) => void,
): AbortSignal {
  const known = signals.get(connection);
  if (known) return known;
  const controller = new AbortController();
  // Every subscription on the connection listens (a WebSocket may carry hundreds, each bounded by
  // the connection's byte budget): no "possible leak" warning past Node's default of 10.
  setMaxListeners(0, controller.signal);
  if (isClosed()) controller.abort();
  else onClose(() => controller.abort());
  signals.set(connection, controller.signal);
  return controller.signal;
}

/**
 * The TCP connection's: one listener on its socket, however many requests (pipelined) wait on it.
 * The request's socket, which Node sets once and keeps: a response's is null until its turn.
 */
function socketClosed(socket: Socket): AbortSignal {
  return once(
    socket,
    () => socket.destroyed,
    (abort) => socket.once("close", abort),
  );
}

/**
 * Judged by the response's own state and its request's connection, not by `res.socket`: under
 * HTTP/1.1 pipelining Node gives a response its socket only once the one before it on the
 * connection has finished (a response detached after finishing is `writableFinished`), and a
 * response still waiting for its turn emits no 'close' if the connection goes first.
 */
export function responseClosed(res: ServerResponse): AbortSignal {
  const connection = socketClosed(res.req.socket);
  return once(
    res,
    () => res.destroyed || res.writableFinished || connection.aborted,
    (abort) => {
      connection.addEventListener("abort", abort, { once: true });
      // The connection outlives a keep-alive response: its listener goes with the response.
      res.once("close", () => {
        connection.removeEventListener("abort", abort);
        abort();
      });
    },
  );
}

/** One listener per socket, however many subscriptions it carries. */
export function webSocketClosed(socket: WebSocket): AbortSignal {
  return once(
    socket,
    () => socket.readyState === socket.CLOSING || socket.readyState === socket.CLOSED,
    (abort) => socket.once("close", abort),
  );
}
