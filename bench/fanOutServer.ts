// The server side of the fan-out benchmark, in its own process so that the 10,000 clients' work is
// not counted as the server's. `registro` starts Registro as `npm start` does (SQLite in DATA_DIR,
// info logs to stdout); `bare` is the floor of the transport: a `ws` server speaking just enough of
// graphql-transport-ws to accept subscriptions, which on POST /promote sends one pre-serialized
// `next` message to every subscriber. Both answer on CONTROL_PORT: GET /memory (after a full
// garbage collection), GET /gc (milliseconds spent in garbage collection so far) and GET /subscribers.
import { mkdirSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { WebSocketServer } from "ws";
import type { WebSocket } from "ws";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/logger.ts";
import { createRegistro } from "../src/registro.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

// Time spent in garbage collection so far (GET /gc), for the GC share of a fan-out.
let gcMs = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
});
gcObserver.observe({ entryTypes: ["gc"] });

const mode = process.env.FANOUT_MODE;
const port = Number(process.env.PORT);
let subscribers: () => number;
let stop: () => Promise<void>;

if (mode === "registro") {
  const dataDir = path.resolve(process.env.DATA_DIR ?? ".");
  mkdirSync(dataDir, { recursive: true });
  const registro = await createRegistro({
    database: { provider: "sqlite", file: path.join(dataDir, "registro.db") },
    dataDir,
    logger: createLogger("info"),
    inspection: { enabled: false },
    // Every subscriber connects from 127.0.0.1 as one principal: fanOut.ts raises the caps to its
    // count through the SUBSCRIPTION_CONNECTIONS_* and SUBSCRIPTION_HANDSHAKES_* settings, read as
    // `npm start` reads them.
    subscriptionConnections: loadConfig().subscriptionConnections,
  });
  await registro.app.listen(port, "127.0.0.1");
  subscribers = () => registro.liveEvents.hub.subscriberCount;
  stop = async () => void (await registro.close());
} else if (mode === "bare") {
  const sockets = new Map<WebSocket, string>();
  let version = 0;
  const server = http.createServer((req, res) => {
    if (req.url === "/healthz") return void res.end("ok");
    if (req.method === "POST" && req.url === "/promote") {
      version++;
      const message = (id: string) =>
        JSON.stringify({
          id,
          type: "next",
          payload: {
            data: {
              modelVersionStageChanged: { version: 1, stage: "PRODUCTION", event: { position: version } },
            },
          },
        });
      const byId = new Map<string, string>();
      for (const [socket, id] of sockets) {
        let text = byId.get(id);
        if (text === undefined) byId.set(id, (text = message(id)));
        socket.send(text);
      }
      return void res.end("{}");
    }
    res.statusCode = 404;
    res.end();
  });
  const wss = new WebSocketServer({ server, handleProtocols: () => "graphql-transport-ws" });
  wss.on("connection", (socket) => {
    socket.on("message", (data: Buffer) => {
      const message = JSON.parse(data.toString("utf8")) as { type: string; id?: string };
      if (message.type === "connection_init") socket.send('{"type":"connection_ack"}');
      else if (message.type === "subscribe" && message.id !== undefined) sockets.set(socket, message.id);
    });
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  subscribers = () => sockets.size;
  stop = () =>
    new Promise((resolve) => {
      for (const socket of wss.clients) socket.terminate();
      server.close(() => resolve());
    });
} else {
  throw new Error(`FANOUT_MODE must be registro or bare (got ${mode})`);
}

const control = http.createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  if (req.url === "/memory") {
    gc();
    gc();
    return void res.end(JSON.stringify(process.memoryUsage()));
  }
  if (req.url === "/gc") return void res.end(JSON.stringify({ ms: gcMs }));
  if (req.url === "/subscribers") return void res.end(JSON.stringify({ count: subscribers() }));
  res.statusCode = 404;
  res.end("{}");
});
control.listen(Number(process.env.CONTROL_PORT), "127.0.0.1");

const shutdown = () =>
  void stop().then(() => {
    control.close();
    process.exit(0);
  });
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
