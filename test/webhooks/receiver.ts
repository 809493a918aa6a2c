// A webhook receiver on 127.0.0.1 for tests: records every request and verifies its signature with
// the `standardwebhooks` library (an implementation independent of the server's). Its answer is
// programmable: up (204), down (503), or hanging.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface Received {
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly body: string;
  readonly message: { type: string; timestamp: string; data: Record<string, any> };
  /** Whether standardwebhooks accepted the signature (with the secret known when it arrived). */
  readonly verified: boolean;
  /** What the receiver answered. */
  readonly answered: number | "hung";
}

export type Behaviour = "up" | "down" | "hang" | ((r: Omit<Received, "answered">) => number | "hang");

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Only the messages answered 2xx, in arrival order. */
  accepted(): Received[];
  secret: string | null;
  behaviour: Behaviour;
  /** How long a status answer (not a hang) is held back (ms; default 0): a slow receiver. */
  answerDelayMs: number;
  /** Answers the requests left hanging so far with `status`. */
  answerHanging(status: number): void;
  close(): Promise<void>;
}

export async function startReceiver(path = "/hook"): Promise<Receiver> {
  const received: Received[] = [];
  const hanging = new Set<http.ServerResponse>();
  const delayed = new Set<NodeJS.Timeout>();
  const state: Receiver = {
    url: "",
    received,
    accepted: () => received.filter((r) => typeof r.answered === "number" && r.answered < 300),
    secret: null,
    behaviour: "up",
    answerDelayMs: 0,
    answerHanging: (status) => {
      for (const res of hanging) {
        res.writeHead(status, { "content-type": "text/plain" });
        res.end("");
      }
      hanging.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of delayed) clearTimeout(timer);
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const header = (name: string) => String(req.headers[name] ?? "");
      let verified = false;
      if (state.secret !== null)
        try {
          new Webhook(state.secret).verify(body, {
            "webhook-id": header("webhook-id"),
            "webhook-timestamp": header("webhook-timestamp"),
            "webhook-signature": header("webhook-signature"),
          });
          verified = true;
        } catch {
          verified = false;
        }
      const base = {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
        message: JSON.parse(body) as Received["message"],
        verified,
      };
      const b = state.behaviour;
      const answer = typeof b === "function" ? b(base) : b === "up" ? 204 : b === "down" ? 503 : "hang";
      received.push({ ...base, answered: answer === "hang" ? "hung" : answer });
      if (answer === "hang") {
        hanging.add(res);
        return;
      }
      const send = () => {
        res.writeHead(answer, { "content-type": "text/plain" });
        res.end(answer < 300 ? "" : "unavailable");
      };
      if (state.answerDelayMs <= 0) return send();
      const timer = setTimeout(() => {
        delayed.delete(timer);
        send();
      }, state.answerDelayMs);
      delayed.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { url: `http://127.0.0.1:${port}${path}` });
}

export { eventually } from "../support/eventually.ts";
