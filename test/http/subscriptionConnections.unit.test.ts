// The two pools of subscription connections without a server: WebSockets wait in the handshake pool
// (per address, in total, oldest evicted) until they authenticate, then count in the authenticated
// pool by address and by principal; and the variables that configure them.
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { SubscriptionConnections } from "../../src/http/subscriptionConnections.ts";
import type { ConnectionRefusal, UpgradeAdmission } from "../../src/http/subscriptionConnections.ts";

const request = (address: string) => ({ socket: { remoteAddress: address } }) as IncomingMessage;

/** A TCP socket that is open until `close()` or `destroy()`; like a real one, it says "close" later. */
function fakeSocket() {
  const socket = Object.assign(new EventEmitter(), {
    destroyed: false,
    destroy() {
      if (socket.destroyed) return;
      socket.destroyed = true;
      queueMicrotask(() => socket.emit("close"));
    },
  });
  return {
    socket: socket as unknown as Duplex,
    close: () => {
      socket.destroyed = true;
      socket.emit("close");
    },
  };
}

interface Upgrade {
  readonly admission: UpgradeAdmission;
  readonly socket: Duplex;
  readonly close: () => void;
  /** Why the pool evicted this connection, if it did. */
  readonly evicted: ConnectionRefusal | null;
}

function upgrade(connections: SubscriptionConnections, address: string): Upgrade {
  const { socket, close } = fakeSocket();
  const evictions: ConnectionRefusal[] = [];
  const admission = connections.admitUpgrade(request(address), socket, (refusal) => evictions.push(refusal));
  return {
    admission,
    socket,
    close,
    get evicted() {
      return evictions[0] ?? null;
    },
  };
}

function admitted(result: Upgrade) {
  if (!result.admission.ok) throw new Error(result.admission.refusal.closeReason);
  return result.admission.connection;
}

const errorOf = (refusal: ConnectionRefusal | null) => refusal?.body.errors[0];

describe("SubscriptionConnections", () => {
  it("evicts the oldest waiting connection when the handshake pool is full, and refuses an address over its own cap", () => {
    const connections = new SubscriptionConnections({
      maxPerClient: 10,
      maxTotal: 10,
      maxHandshakesPerClient: 2,
      maxHandshakesTotal: 3,
    });
    const first = upgrade(connections, "10.0.0.1");
    const second = upgrade(connections, "10.0.0.1");
    const third = upgrade(connections, "10.0.0.2");
    expect(connections.authenticating).toBe(3);

    const over = upgrade(connections, "10.0.0.1");
    expect(over.admission.ok).toBe(false);
    expect(!over.admission.ok && errorOf(over.admission.refusal)).toEqual({
      message: "this client already has 2 subscription connections waiting to authenticate; retry later",
      extensions: { code: "TOO_MANY_CONNECTIONS", scope: "client", limit: 2, retryAfterSeconds: 5 },
    });

    const fourth = upgrade(connections, "10.0.0.3");
    expect(fourth.admission.ok).toBe(true);
    expect(first.evicted?.closeReason).toBe(
      "TOO_MANY_CONNECTIONS: the server already has 3 subscription connections waiting to authenticate; retry later",
    );
    expect([second.evicted, third.evicted]).toEqual([null, null]);
    expect(connections.authenticating).toBe(3);
    // An evicted connection takes nothing when it authenticates after all; its close frees nothing twice.
    expect(admitted(first).authenticated("p")).toBeNull();
    first.close();
    expect(connections.active).toBe(3);

    // Authenticating moves a connection out of the handshake pool.
    expect(admitted(second).authenticated("p")).toBeNull();
    expect(connections.authenticating).toBe(2);
    expect(connections.active).toBe(3);
    second.close();
    expect(connections.active).toBe(2);
  });

  it("cuts an evicted connection's socket before its slot goes to the new one: never more open than the cap", async () => {
    const connections = new SubscriptionConnections({
      maxPerClient: 100,
      maxTotal: 100,
      maxHandshakesPerClient: 100,
      maxHandshakesTotal: 3,
    });
    const upgrades: Upgrade[] = [];
    const openSockets = () => upgrades.filter((u) => u.admission.ok && !u.socket.destroyed).length;
    for (let i = 0; i < 10; i++) {
      const next = upgrade(connections, `10.0.0.${i % 4}`);
      upgrades.push(next);
      expect(next.admission.ok).toBe(true);
      // At every moment, not once the evicted sockets got round to closing.
      expect(openSockets()).toBeLessThanOrEqual(3);
      expect(connections.authenticating).toBe(Math.min(i + 1, 3));
    }
    expect(upgrades.slice(0, 7).every((u) => u.socket.destroyed && u.evicted !== null)).toBe(true);
    // Their "close" comes later and gives back nothing twice.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(connections.authenticating).toBe(3);
    expect(connections.active).toBe(3);
  });

  it("counts authenticated connections per principal across addresses, and refuses an upgrade its address could not hold", () => {
    const connections = new SubscriptionConnections({ maxPerClient: 2, maxTotal: 10, maxPerPrincipal: 2 });
    const a = upgrade(connections, "10.0.0.1");
    const b = upgrade(connections, "10.0.0.2");
    const c = upgrade(connections, "10.0.0.3");
    expect(admitted(a).authenticated("alice")).toBeNull();
    expect(admitted(b).authenticated("alice")).toBeNull();
    const refusal = admitted(c).authenticated("alice");
    expect(errorOf(refusal)?.extensions).toEqual({
      code: "TOO_MANY_CONNECTIONS",
      scope: "principal",
      limit: 2,
      retryAfterSeconds: 5,
    });
    expect(refusal?.closeReason).toBe(
      "TOO_MANY_CONNECTIONS: this principal already has 2 subscription connections open; retry later",
    );
    // Refused, it stays in the handshake pool until it closes.
    expect(connections.authenticating).toBe(1);
    expect(admitted(c).authenticated("bob")).toBeNull();
    c.close();
    expect(connections.active).toBe(2);

    // 10.0.0.1 holds one authenticated connection: one more fits, then its upgrades are refused at once.
    expect(admitted(upgrade(connections, "10.0.0.1")).authenticated("bob")).toBeNull();
    const full = upgrade(connections, "10.0.0.1");
    expect(!full.admission.ok && errorOf(full.admission.refusal)?.extensions).toMatchObject({
      scope: "client",
      limit: 2,
    });
    a.close();
    expect(admitted(upgrade(connections, "10.0.0.1")).authenticated("alice")).toBeNull();
  });

  it("refuses limits that are not positive integers", () => {
    expect(() => new SubscriptionConnections({ maxPerClient: 1, maxTotal: 1, maxPerPrincipal: 0 })).toThrow(
      /maxPerPrincipal must be a positive integer/,
    );
    expect(
      () => new SubscriptionConnections({ maxPerClient: 1, maxTotal: 1, handshakeTimeoutMs: 1.5 }),
    ).toThrow(/handshakeTimeoutMs/);
  });
});

describe("configuration of the handshake pool and the per-principal cap", () => {
  it("defaults to 1,000 per principal, 100 waiting per address, 2,000 waiting in total and 5 s, and reads the variables", () => {
    expect(loadConfig({}).subscriptionConnections).toMatchObject({
      maxPerPrincipal: 1_000,
      maxHandshakesPerClient: 100,
      maxHandshakesTotal: 2_000,
      handshakeTimeoutMs: 5_000,
    });
    const config = loadConfig({
      SUBSCRIPTION_CONNECTIONS_MAX_PER_PRINCIPAL: "7",
      SUBSCRIPTION_HANDSHAKES_MAX_PER_CLIENT: "3",
      SUBSCRIPTION_HANDSHAKES_MAX_CONCURRENT: "30",
      SUBSCRIPTION_HANDSHAKE_TIMEOUT_MS: "2500",
    });
    expect(config.subscriptionConnections).toMatchObject({
      maxPerPrincipal: 7,
      maxHandshakesPerClient: 3,
      maxHandshakesTotal: 30,
      handshakeTimeoutMs: 2_500,
    });
  });

  it.each([
    ["SUBSCRIPTION_CONNECTIONS_MAX_PER_PRINCIPAL", "0"],
    ["SUBSCRIPTION_HANDSHAKES_MAX_PER_CLIENT", "-1"],
    ["SUBSCRIPTION_HANDSHAKES_MAX_CONCURRENT", "many"],
    ["SUBSCRIPTION_HANDSHAKE_TIMEOUT_MS", "50"],
    ["SUBSCRIPTION_HANDSHAKE_TIMEOUT_MS", "600000"],
  ])("refuses %s=%s", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`invalid configuration: ${name}: `));
  });
});
