// An SSE subscription pipelined (HTTP/1.1) behind another request on the same connection: Node
// gives its response a socket only once the response before it has finished, and the subscription
// must not take that for a closed connection. Here the first request waits on its credential check
// until the subscription has started, then is answered; the subscription then delivers an event
// committed afterwards. And when the connection goes while the subscription still waits for its
// turn, the subscription ends (Node emits no 'close' on a response that never got its socket).
import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Caller } from "../../src/access/principal.ts";
import { eventually } from "../support/eventually.ts";
import { InMemoryPrincipalDirectory, principal } from "../support/principalDirectory.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

/** A directory whose token checks wait, while `held` is set, for it to resolve. */
class SlowDirectory extends InMemoryPrincipalDirectory {
  held: Promise<void> | null = null;
  override async verifyToken(secret: string, now: Date): Promise<Caller | null> {
    if (this.held !== null) await this.held;
    return super.verifyToken(secret, now);
  }
}

const SUBSCRIPTION = JSON.stringify({ query: "subscription { registryEvents { type modelId } }" });
const QUERY = JSON.stringify({ query: "{ __typename }" });

const post = (body: string, headers: Record<string, string>) =>
  `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
  Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("") +
  `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe("an SSE subscription pipelined behind another request (sqlite)", () => {
  let server: TestServer | undefined;
  let release: () => void = () => undefined;
  afterEach(async () => {
    release();
    await server?.close();
    server = undefined;
    vi.restoreAllMocks();
  });

  /**
   * A server under AUTH=local whose token checks wait until `release`, a raw connection that sent a
   * query with a token (held) and then an SSE subscription as the local administrator (no
   * credentials), and a promise of the subscription's start.
   */
  async function pipelined() {
    const directory = new SlowDirectory();
    const { secret } = directory.issueToken(principal("alice"));
    directory.held = new Promise((resolve) => (release = resolve));
    const s = (server = await startTestServer("sqlite", { auth: { mode: "local", directory } }));
    const { hub } = s.registro.liveEvents;
    const started = new Promise<void>((resolve) => {
      const subscribe = hub.subscribe.bind(hub);
      vi.spyOn(hub, "subscribe").mockImplementation((options) => {
        const subscription = subscribe(options);
        // Once this returns, the subscription has also looked at its connection's signal (the
        // same synchronous step): resolved callbacks run after it.
        resolve();
        return subscription;
      });
    });
    const socket = net.connect(Number(new URL(s.url).port), "127.0.0.1");
    socket.on("error", () => undefined);
    let received = "";
    socket.on("data", (chunk: Buffer) => (received += String(chunk)));
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      post(QUERY, { Authorization: `Bearer ${secret}` }) +
        post(SUBSCRIPTION, { Accept: "text/event-stream" }),
    );
    return { s, socket, started, received: () => received };
  }

  it("delivers an event committed after the response before it was answered", async () => {
    const { s, socket, started, received } = await pipelined();
    // The subscription started while the first response (its credential check held) was unsent.
    await started;
    expect(received()).toBe("");
    release();
    // The query's answer, then the subscription's response head.
    await eventually(() => /text\/event-stream/.test(received()), 10_000, "the SSE response head");
    expect(received()).toContain('{"data":{"__typename":"Query"}}');
    const created = await s.gql<{ createRegisteredModel: { __typename: string } }>(
      'mutation { createRegisteredModel(input: { name: "pipelined" }) { __typename } }',
    );
    expect(created.data?.createRegisteredModel.__typename).toBe("RegisteredModelPayload");
    await eventually(
      () => /event: (next|complete)/.test(received()),
      10_000,
      "an SSE event, or the end of the stream",
    );
    expect(received()).not.toContain("event: complete");
    expect(received()).toMatch(/event: next\r?\ndata: .*RegisteredModelCreated/);
    socket.destroy();
  });

  it("ends the subscription when the connection closes before its response's turn", async () => {
    const { s, socket, started } = await pipelined();
    const { hub } = s.registro.liveEvents;
    await started;
    await eventually(() => hub.subscriberCount === 1, 10_000, "the subscription to run");
    socket.destroy();
    await eventually(() => hub.subscriberCount === 0, 10_000, "the subscription to end");
  });
});
