// Trusted proxies (TRUSTED_PROXIES): which client a request counts for when it came through a
// reverse proxy. X-Forwarded-For is believed only from a trusted peer, walked from the right past
// trusted hops; garbage stops the walk at the last proven hop; the work per header is bounded.
import { EventEmitter } from "node:events";
import type { IncomingMessage, Server } from "node:http";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { acceptForwardedFor, clientAddress, clientIp, trustProxies } from "../../src/http/clientSlots.ts";
import {
  MAX_FORWARDED_HOPS,
  TrustedProxies,
  parseForwardedEntry,
  parseTrustedProxies,
} from "../../src/http/trustedProxies.ts";
import { LOOPBACK_ONLY, checkMetricsAccess } from "../../src/monitoring/metricsAccess.ts";

type FakeSocket = { remoteAddress: string | undefined };

/** A connection from `peer`, as the server sees it once TRUSTED_PROXIES is `trusted`. */
function connection(peer: string | undefined, trusted: string): FakeSocket {
  const socket = { remoteAddress: peer };
  acceptForwardedFor(socket, parseTrustedProxies(trusted));
  return socket;
}

/** A request on `socket` carrying these X-Forwarded-For values (one header line each). */
function request(socket: FakeSocket, ...forwardedFor: string[]): IncomingMessage {
  // Node joins repeated header lines with ", " (checked over HTTP in trustedProxies.e2e.test.ts).
  const headers = forwardedFor.length === 0 ? {} : { "x-forwarded-for": forwardedFor.join(", ") };
  return { socket, headers } as unknown as IncomingMessage;
}

const client = (peer: string, trusted: string, ...forwardedFor: string[]) =>
  clientAddress(request(connection(peer, trusted), ...forwardedFor));

describe("TRUSTED_PROXIES", () => {
  it("is empty unset or blank: no one is trusted", () => {
    expect(loadConfig({}).http.trustedProxies.empty).toBe(true);
    expect(loadConfig({ TRUSTED_PROXIES: "" }).http.trustedProxies.empty).toBe(true);
    expect(loadConfig({ TRUSTED_PROXIES: " , " }).http.trustedProxies.empty).toBe(true);
  });

  it("reads addresses and CIDR ranges, IPv4 and IPv6, an IPv4-mapped range as IPv4", () => {
    const proxies = loadConfig({
      TRUSTED_PROXIES: " 127.0.0.1, 10.0.0.0/8 ,::1,2001:db8:aa::/48, ::ffff:192.168.0.0/112",
    }).http.trustedProxies;
    const trusts = (text: string) => proxies.trusts(parseForwardedEntry(text)!);
    for (const address of ["127.0.0.1", "10.200.3.4", "::1", "2001:db8:aa:1::9", "192.168.7.7"])
      expect(trusts(address), address).toBe(true);
    for (const address of ["127.0.0.2", "11.0.0.1", "::2", "2001:db8:ab::1", "192.169.0.1"])
      expect(trusts(address), address).toBe(false);
    // A dual-stack socket reports IPv4 peers IPv4-mapped: the same peer.
    expect(trusts("::ffff:127.0.0.1")).toBe(true);
  });

  it.each([
    ["10.0.0.0/33", "10.0.0.0/33"],
    ["2001:db8::/129", "2001:db8::/129"],
    ["proxy.internal", "proxy.internal"],
    ["127.1", "127.1"],
    ["10.1/16", "10.1/16"],
    ["010.0.0.1", "010.0.0.1"],
    ["1.2.3.4:80", "1.2.3.4:80"],
    ["[::1]", "[::1]"],
    ["fe80::1%eth0", "fe80::1%eth0"],
    ["127.0.0.1, nope", "nope"],
    ["10.0.0.0/", "10.0.0.0/"],
    ["::ffff:10.0.0.0/90", "::ffff:10.0.0.0/90"],
    ["::ffff:010.0.0.1", "::ffff:010.0.0.1"],
    ["::127.0.0.1", "::127.0.0.1"],
  ])("refuses TRUSTED_PROXIES=%s at start-up, naming the setting and the item", (value, item) => {
    expect(() => loadConfig({ TRUSTED_PROXIES: value })).toThrow(
      `invalid configuration: TRUSTED_PROXIES: '${item}' is not an IP address or CIDR range`,
    );
  });
});

describe("the client behind a trusted proxy", () => {
  it("ignores X-Forwarded-For from a peer that is not trusted (anyone can write it)", () => {
    expect(client("203.0.113.50", "", "198.51.100.1")).toBe("203.0.113.50");
    expect(client("203.0.113.50", "10.0.0.0/8", "198.51.100.1")).toBe("203.0.113.50");
    // Nor from a peer in no list at all (a server without TRUSTED_PROXIES never calls acceptForwardedFor).
    expect(clientAddress(request({ remoteAddress: "203.0.113.50" }, "198.51.100.1"))).toBe("203.0.113.50");
  });

  it("is the entry the trusted proxy appended, not what the client wrote before it", () => {
    expect(client("127.0.0.1", "127.0.0.1", "198.51.100.7")).toBe("198.51.100.7");
    // A client claiming to be 10.0.0.9 (trusted) or anyone else: the proxy's entry comes last.
    expect(client("127.0.0.1", "127.0.0.1,10.0.0.0/8", "10.0.0.9, 198.51.100.7")).toBe("198.51.100.7");
    expect(client("127.0.0.1", "127.0.0.1", "1.1.1.1, 2.2.2.2, 198.51.100.7")).toBe("198.51.100.7");
  });

  it("walks a chain of trusted proxies from the right to the first untrusted address", () => {
    // client 198.51.100.9 -> CDN 10.0.0.5 -> ingress 10.0.0.3 -> registry (peer 10.0.0.2)
    expect(client("10.0.0.2", "10.0.0.0/8", "198.51.100.9, 10.0.0.5, 10.0.0.3")).toBe("198.51.100.9");
    // The same chain sent as one header line per hop.
    expect(client("10.0.0.2", "10.0.0.0/8", "198.51.100.9", "10.0.0.5", "10.0.0.3")).toBe("198.51.100.9");
    expect(client("::1", "::1, 2001:db8:f::/48", "198.51.100.9,2001:db8:f::3")).toBe("198.51.100.9");
  });

  it("is the leftmost entry when every entry is trusted, the peer when there is no header", () => {
    expect(client("10.0.0.2", "10.0.0.0/8", "10.0.0.5, 10.0.0.3")).toBe("10.0.0.5");
    expect(client("10.0.0.2", "10.0.0.0/8")).toBe("10.0.0.2");
  });

  it.each([
    ["unknown", "10.0.0.2"],
    ["", "10.0.0.2"],
    ["198.51.100.9,", "10.0.0.2"],
    ["198.51.100.9, , 10.0.0.3", "10.0.0.3"],
    ["198.51.100.9, unknown, 10.0.0.3", "10.0.0.3"],
    ["198.51.100.9, garbage\u0000, 10.0.0.3", "10.0.0.3"],
    ["198.51.100.9, 10.0.0.3 10.0.0.4", "10.0.0.2"],
    ["198.51.100.9, 1.2.3.4:99999", "10.0.0.2"],
    ["198.51.100.9, 1.2.3.4:", "10.0.0.2"],
    ["198.51.100.9, 1.2.3", "10.0.0.2"],
    ["198.51.100.9, 256.1.1.1", "10.0.0.2"],
    ["198.51.100.9, 01.2.3.4", "10.0.0.2"],
    ["198.51.100.9, 0x7f.0.0.1", "10.0.0.2"],
    ["198.51.100.9, [2001:db8::1", "10.0.0.2"],
    ["198.51.100.9, fe80::1%eth0", "10.0.0.2"],
    ["198.51.100.9, _gazonk", "10.0.0.2"],
    // An embedded IPv4 only as IPv4-mapped, in four decimal parts.
    ["198.51.100.9, ::ffff:010.0.0.1", "10.0.0.2"],
    ["198.51.100.9, ::198.51.100.1", "10.0.0.2"],
    ["198.51.100.9, 64:ff9b::198.51.100.1", "10.0.0.2"],
  ])(
    "stops at an entry that is no address (%j): the last trusted hop, never the text",
    (header, expected) => {
      expect(client("10.0.0.2", "10.0.0.0/8", header)).toBe(expected);
    },
  );

  it("accepts an IPv4 address with a port and a bracketed IPv6 address with or without one", () => {
    expect(client("127.0.0.1", "127.0.0.1", "198.51.100.7:5678")).toBe("198.51.100.7");
    expect(client("127.0.0.1", "127.0.0.1", "[2001:db8:1:2::7]:443")).toBe("2001:db8:1:2::/64");
    expect(client("127.0.0.1", "127.0.0.1", "[2001:db8:1:2::7]")).toBe("2001:db8:1:2::/64");
    // Trusted hops with ports are walked past like any other.
    expect(client("127.0.0.1", "127.0.0.1,10.0.0.0/8", "198.51.100.7, 10.0.0.3:41000")).toBe("198.51.100.7");
    // Unbracketed, the last group is a group, not a port.
    expect(parseForwardedEntry("2001:db8::1:443")?.toString()).toBe("2001:db8::1:443");
  });

  it("counts a forwarded IPv6 client by its /64, and an IPv4-mapped one as IPv4", () => {
    const a = client("127.0.0.1", "127.0.0.1", "2001:db8:1:2:aaaa::1");
    expect(a).toBe("2001:db8:1:2::/64");
    expect(client("127.0.0.1", "127.0.0.1", "2001:db8:1:2:ffff::2")).toBe(a);
    expect(client("127.0.0.1", "127.0.0.1", "2001:db8:1:3::1")).not.toBe(a);
    expect(client("::ffff:127.0.0.1", "127.0.0.1", "::ffff:198.51.100.7")).toBe("198.51.100.7");
    expect(client("127.0.0.1", "::ffff:127.0.0.1", "198.51.100.7")).toBe("198.51.100.7");
  });

  it(`looks at ${MAX_FORWARDED_HOPS} entries at most, and a huge header costs no more`, () => {
    const trustedHops = Array.from({ length: MAX_FORWARDED_HOPS }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    // The client is one hop too far: the walk stops at the last trusted hop it looked at.
    expect(client("10.0.0.2", "10.0.0.0/8", ["198.51.100.9", ...trustedHops].join(", "))).toBe("10.0.0.0");
    expect(client("10.0.0.2", "10.0.0.0/8", ["198.51.100.9", ...trustedHops.slice(1)].join(", "))).toBe(
      "198.51.100.9",
    );
    const socket = connection("10.0.0.2", "10.0.0.0/8");
    // Flat strings, as Node's parser hands headers over (a concatenation would be flattened on first
    // read, a copy of the whole megabyte that is no work of the walk).
    const flat = (text: string) => Buffer.from(text, "latin1").toString("latin1");
    const huge = [
      `${"10.0.0.7, ".repeat(200_000)}10.0.0.7`,
      `198.51.100.9, ${"a".repeat(1_000_000)}`,
      "1".repeat(1_000_000),
      ",".repeat(1_000_000),
      `${" ".repeat(1_000_000)}198.51.100.9`,
      ":".repeat(1_000_000),
      `[${"1:".repeat(500_000)}]`,
    ].map((header) => request(socket, flat(header)));
    const clients = huge.map((req) => clientAddress(req));
    expect(clients).toEqual([
      "10.0.0.7",
      "10.0.0.2",
      "10.0.0.2",
      "10.0.0.2",
      "10.0.0.2",
      "10.0.0.2",
      "10.0.0.2",
    ]);
    // Each header is looked at from its end only: about 40 µs for the 32 hops of the first, under
    // 2 µs for the others. Reading one whole (a split of the first takes about 50 ms) would take
    // seconds here. Fresh requests each time: a request's client is remembered.
    const started = performance.now();
    for (let i = 0; i < 100; i++)
      for (const req of huge) clientAddress(request(socket, req.headers["x-forwarded-for"] as string));
    expect(performance.now() - started).toBeLessThan(500);
  });

  it("is found per request on a kept-alive proxy connection, never remembered for the connection", () => {
    const socket = connection("127.0.0.1", "127.0.0.1");
    expect(clientAddress(request(socket, "198.51.100.1"))).toBe("198.51.100.1");
    expect(clientAddress(request(socket, "198.51.100.2"))).toBe("198.51.100.2");
    expect(clientAddress(request(socket))).toBe("127.0.0.1");
    expect(clientAddress(request(socket, "198.51.100.1"))).toBe("198.51.100.1");
  });

  it("trusts by the peer the connection came from, a peer without an address never", () => {
    expect(client("10.0.0.2", "10.0.0.0/8", "198.51.100.9")).toBe("198.51.100.9");
    expect(clientAddress(request(connection(undefined, "10.0.0.0/8"), "198.51.100.9"))).toBe("unknown");
  });

  it("gives the full forwarded address for allow-lists, and metrics access is decided by it", () => {
    const socket = connection("127.0.0.1", "127.0.0.1");
    const outside = request(socket, "2001:db8:1:2::7");
    expect(clientIp(outside)).toBe("2001:db8:1:2::7");
    expect(clientIp(request(socket))).toBe("127.0.0.1");
    expect(clientIp(request({ remoteAddress: "::ffff:10.0.0.1" }, "198.51.100.1"))).toBe("::ffff:10.0.0.1");
    // Loopback only (the default): a client outside, through a proxy on loopback, is not loopback.
    expect(checkMetricsAccess(outside, LOOPBACK_ONLY)?.code).toBe("METRICS_ACCESS_DENIED");
    expect(checkMetricsAccess(request(socket, "198.51.100.1"), LOOPBACK_ONLY)?.code).toBe(
      "METRICS_ACCESS_DENIED",
    );
    // Prometheus scraping the registry on loopback directly, through no proxy, still may.
    expect(checkMetricsAccess(request(socket), LOOPBACK_ONLY)).toBeNull();
    expect(checkMetricsAccess(request(socket, "127.0.0.1"), LOOPBACK_ONLY)).toBeNull();
    // A header the walk cannot follow to its client names no one: the allow-list refuses it, while
    // the limits count it for the proxy that wrote the entry.
    for (const header of ["unknown", "unix:", "198.51.100.6, unknown", "fe80::1%eth0", "x".repeat(100)]) {
      const unproven = request(socket, header);
      expect(clientIp(unproven)).toBeUndefined();
      expect(checkMetricsAccess(unproven, LOOPBACK_ONLY)?.code).toBe("METRICS_ACCESS_DENIED");
      expect(clientAddress(unproven)).toBe("127.0.0.1");
    }
    const chain = Array.from({ length: MAX_FORWARDED_HOPS + 1 }, () => "127.0.0.1").join(", ");
    expect(clientIp(request(socket, chain))).toBeUndefined();
    expect(clientIp(request(socket, chain.split(", ").slice(1).join(", ")))).toBe("127.0.0.1");
    // Without TRUSTED_PROXIES the header is nobody's word: the peer decides, as before.
    expect(
      checkMetricsAccess(request({ remoteAddress: "127.0.0.1" }, "198.51.100.1"), LOOPBACK_ONLY),
    ).toBeNull();
  });

  it("is switched on for a server's connections only when some proxy is trusted", () => {
    const server = new EventEmitter() as unknown as Server;
    trustProxies(server, TrustedProxies.NONE);
    expect(server.listenerCount("connection")).toBe(0);
    trustProxies(server, parseTrustedProxies("127.0.0.1"));
    const socket = { remoteAddress: "127.0.0.1" };
    server.emit("connection", socket);
    expect(clientAddress(request(socket, "198.51.100.1"))).toBe("198.51.100.1");
  });
});
