// A signal that fires when the connection a request arrived on is gone: the HTTP response closed
// (the client left, or the answer is complete) or the WebSocket closed. A subscription is tied to
// it, so it ends with its connection on every transport, whatever the transport's own cleanup
// does: Yoga started subscriptions for POSTs that accept only JSON or multipart/mixed and never
// ended them once the response was done, and each kept receiving (and queueing) every event.
import { setMaxListeners } from "node:events";
import type { ServerResponse } from "node:http";
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

export function responseClosed(res: ServerResponse): AbortSignal {
  return once(
    res,
    () => res.destroyed || res.writableFinished || res.socket === null || res.socket.destroyed,
    (abort) => res.once("close", abort),
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
