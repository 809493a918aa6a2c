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

/** What a connection watch needs of a socket: a request built by hand may lack the rest. */
export type ClosingSocket = Pick<Socket, "destroyed" | "once" | "off">;

/** A watched TCP connection: one 'close' listener, and how many hold the watch. */
interface ConnectionWatch {
  readonly gone: AbortController;
  readonly abort: () => void;
  holders: number;
}

const connectionWatches = new WeakMap<object, ConnectionWatch>();

/** A hold on a connection's watch: its signal, and `release` once the holder no longer listens. */
export interface ConnectionHold {
  readonly closed: AbortSignal;
  readonly release: () => void;
}

const NOTHING_HELD = () => undefined;

/**
 * A signal that aborts when `socket` closes, held until `release`: the requests of one connection
 * (pipelined, or a WebSocket's) that listen at once share one 'close' listener on its socket and one
 * signal, and the listener goes with the last hold. A listener each would put Node's leak warning
 * in the log for any client that pipelines a dozen requests, and one kept for the connection's
 * life would stay on a keep-alive socket long after its request. The socket of a request is the
 * one to watch (`req.socket`, set once): a response's is null until its turn under pipelining.
 */
export function holdConnection(socket: ClosingSocket): ConnectionHold {
  // Already closed: its 'close' has been emitted, and there is nothing to listen for.
  if (socket.destroyed) return { closed: AbortSignal.abort(), release: NOTHING_HELD };
  let watch = connectionWatches.get(socket);
  if (watch === undefined) {
    const gone = new AbortController();
    // Each holder listens on the signal (how many is bounded by theirs): no leak warning.
    setMaxListeners(0, gone.signal);
    const created: ConnectionWatch = {
      gone,
      abort: () => {
        connectionWatches.delete(socket);
        gone.abort();
      },
      holders: 0,
    };
    socket.once("close", created.abort);
    connectionWatches.set(socket, (watch = created));
  }
  const held = watch;
  held.holders++;
  let released = false;
  return {
    closed: held.gone.signal,
    release: () => {
      if (released) return;
      released = true;
      if (--held.holders === 0 && connectionWatches.get(socket) === held) {
        socket.off("close", held.abort);
        connectionWatches.delete(socket);
      }
    },
  };
}

/**
 * Judged by the response's own state and its request's connection, not by `res.socket`: under
 * HTTP/1.1 pipelining Node gives a response its socket only once the one before it on the
 * connection has finished (a response detached after finishing is `writableFinished`), and a
 * response still waiting for its turn emits no 'close' if the connection goes first.
 */
export function responseClosed(res: ServerResponse): AbortSignal {
  const socket = res.req.socket;
  return once(
    res,
    () => res.destroyed || res.writableFinished || socket.destroyed,
    (abort) => {
      const connection = holdConnection(socket);
      connection.closed.addEventListener("abort", abort, { once: true });
      // The connection outlives a keep-alive response: its hold goes with the response.
      res.once("close", () => {
        connection.closed.removeEventListener("abort", abort);
        connection.release();
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
