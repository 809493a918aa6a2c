// Lists of addresses and CIDR ranges (src/http/addressRanges.ts): one strict reading for every
// setting that holds them (TRUSTED_PROXIES, METRICS_ALLOWED_NETWORKS, WEBHOOK_ALLOWED_TARGETS), and
// one match, an IPv4-mapped IPv6 address counting as the IPv4 address it maps on either side.
import type { IncomingMessage } from "node:http";
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import {
  inRanges,
  parseAddressRange,
  parseAddressRanges,
  systemAddress,
} from "../../src/http/addressRanges.ts";
import type { AddressRange } from "../../src/http/addressRanges.ts";
import { parseForwardedEntry } from "../../src/http/trustedProxies.ts";
import { LOOPBACK_ONLY, checkMetricsAccess } from "../../src/monitoring/metricsAccess.ts";
import type { MetricsAccessConfig } from "../../src/monitoring/metricsAccess.ts";
import { resolveTarget } from "../../src/webhooks/delivery/targetGuard.ts";
import type { Resolver } from "../../src/webhooks/delivery/targetGuard.ts";

const shown = (range: AddressRange | null) => (range === null ? null : `${range[0].toString()}/${range[1]}`);

/** Whether `address` (as a socket or resolver reports it) is in the list `text`. */
const holds = (text: string, address: string) => {
  const parsed = systemAddress(address);
  return parsed !== null && inRanges(parsed, parseAddressRanges(text));
};

const SETTINGS = ["TRUSTED_PROXIES", "METRICS_ALLOWED_NETWORKS", "WEBHOOK_ALLOWED_TARGETS"] as const;

describe("an entry", () => {
  it.each([
    ["10.0.0.0/8", "10.0.0.0/8"],
    ["10.1.2.3/8", "10.1.2.3/8"],
    ["127.0.0.1", "127.0.0.1/32"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["1.2.3.4/0", "1.2.3.4/0"],
    ["1.2.3.4/32", "1.2.3.4/32"],
    ["::1", "::1/128"],
    ["::", "::/128"],
    ["::/0", "::/0"],
    ["fd00::/8", "fd00::/8"],
    ["FD00::/8", "fd00::/8"],
    ["2001:db8::1/64", "2001:db8::1/64"],
    ["64:ff9b::/96", "64:ff9b::/96"],
    // IPv4-mapped: the IPv4 address or range it maps.
    ["::ffff:127.0.0.1", "127.0.0.1/32"],
    ["::FFFF:127.0.0.1", "127.0.0.1/32"],
    ["::ffff:7f00:1", "127.0.0.1/32"],
    ["0:0:0:0:0:ffff:7f00:1", "127.0.0.1/32"],
    ["::ffff:10.0.0.0/104", "10.0.0.0/8"],
    ["::ffff:1.2.3.4/128", "1.2.3.4/32"],
    ["::ffff:0:0/96", "0.0.0.0/0"],
  ])("reads %s as %s", (entry, range) => {
    expect(shown(parseAddressRange(entry))).toBe(range);
  });

  it.each([
    // Prefix lengths: in range, decimal, nothing else.
    "10.0.0.0/33",
    "::/129",
    "1.2.3.4/-1",
    "1.2.3.4/+8",
    "1.2.3.4/1e1",
    "1.2.3.4/0x8",
    "1.2.3.4/",
    "/8",
    "1.2.3.4/8/8",
    "1.2.3.4 /8",
    "1.2.3.4/ 8",
    "1.2.3.4/1000",
    // A leading zero: `/010` is 10 here and 8 to a reader that takes it as octal, like an octet.
    "1.2.3.4/08",
    "1.2.3.4/010",
    "1.2.3.4/00",
    "::/064",
    // IPv4 in four decimal parts without leading zeros only (ipaddr.js reads 010 as octal 8).
    "127.1",
    "10.1/16",
    "010.0.0.1",
    "1.2.3.04",
    "0x7f.0.0.1",
    "2130706433",
    "1.2.3",
    "1.2.3.4.5",
    "256.0.0.1",
    "１.2.3.4",
    // No port, bracket, zone or host name; white space is the list's to trim, not the entry's.
    "1.2.3.4:80",
    "[::1]",
    "fe80::1%eth0",
    "fe80::%eth0/64",
    "host.internal",
    " 1.2.3.4",
    "",
    // An embedded IPv4 only as IPv4-mapped, in four decimal parts; a mapped range within ::ffff:0:0/96.
    "::ffff:010.0.0.1",
    "::127.0.0.1",
    "64:ff9b::1.2.3.4",
    "0:0:0:0:0:ffff:127.0.0.1",
    "::ffff:10.0.0.0/95",
    "1:2:3:4:5:6:7:8:9",
    "a".repeat(100_000),
    `${"1:".repeat(50_000)}:1`,
  ])("refuses %j", (entry) => {
    expect(parseAddressRange(entry)).toBeNull();
  });
});

describe("a list", () => {
  it("is comma-separated, white space around entries and blank entries ignored", () => {
    const ranges = parseAddressRanges(" 127.0.0.1, 10.0.0.0/8 ,,\t::1\n, \u00a0fd00::/8");
    expect(ranges.map(shown)).toEqual(["127.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::/8"]);
    expect(parseAddressRanges("")).toEqual([]);
    expect(parseAddressRanges(" , ,")).toEqual([]);
  });

  it("names the first entry that is neither an address nor a range, and what is accepted", () => {
    expect(() => parseAddressRanges("10.0.0.0/8, 10.0.0.0/33, nope")).toThrow(
      "'10.0.0.0/33' is not an IP address or CIDR range (e.g. 127.0.0.1, 10.0.0.0/8, ::1, fd00::/8; " +
        "IPv4 in four decimal parts, numbers without leading zeros, no port or zone)",
    );
  });

  it("may be long: every entry is read, and the last one matches", () => {
    const entries = Array.from({ length: 65_536 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const ranges = parseAddressRanges(entries.join(","));
    expect(ranges).toHaveLength(65_536);
    expect(inRanges(systemAddress("10.255.255.9")!, ranges)).toBe(true);
    expect(inRanges(systemAddress("11.0.0.1")!, ranges)).toBe(false);
  });
});

describe("whether an address is in a list", () => {
  it("takes an IPv4-mapped address for the IPv4 address it maps, on either side", () => {
    for (const list of ["10.0.0.0/8", "::ffff:10.0.0.0/104", "::ffff:a00:0/104"])
      for (const address of ["10.0.0.1", "::ffff:10.0.0.1", "::FFFF:a00:1", "10.255.255.255"])
        expect(holds(list, address), `${address} in ${list}`).toBe(true);
    expect(holds("::ffff:10.0.0.0/104", "11.0.0.1")).toBe(false);
    // As ipaddr.js hands it over too, not unwrapped.
    expect(inRanges(ipaddr.parse("::ffff:10.0.0.1"), parseAddressRanges("10.0.0.0/8"))).toBe(true);
  });

  it("keeps the families apart: ::/0 holds no IPv4 address, 0.0.0.0/0 no IPv6 one", () => {
    for (const address of ["1.2.3.4", "::ffff:1.2.3.4", "0.0.0.0"]) {
      expect(holds("0.0.0.0/0", address), address).toBe(true);
      expect(holds("::/0", address), address).toBe(false);
    }
    for (const address of ["::1", "::", "2001:db8::1", "::a00:1", "64:ff9b::a00:1"]) {
      expect(holds("::/0", address), address).toBe(true);
      expect(holds("0.0.0.0/0", address), address).toBe(false);
      expect(holds("10.0.0.0/8", address), address).toBe(false);
    }
  });

  it("matches by the prefix: host bits of a range's address do not matter", () => {
    expect(holds("10.1.2.3/8", "10.200.0.1")).toBe(true);
    expect(holds("2001:db8:aa::/48", "2001:db8:aa:1::9")).toBe(true);
    expect(holds("2001:db8:aa::/48", "2001:db8:ab::1")).toBe(false);
    expect(holds("127.0.0.1", "127.0.0.2")).toBe(false);
    expect(holds("", "127.0.0.1")).toBe(false);
  });

  it("reads a reported address without its zone, and refuses what is no address", () => {
    expect(systemAddress("fe80::1%eth0")?.toString()).toBe("fe80::1");
    expect(holds("fe80::/10", "fe80::1%eth0")).toBe(true);
    expect(systemAddress("::ffff:127.0.0.1")?.toString()).toBe("127.0.0.1");
    for (const text of ["", "127.1", "unknown", "1.2.3.4%eth0", "1.2.3.4:80"])
      expect(systemAddress(text), text).toBeNull();
  });

  it("does not take the IPv4-compatible ::127.0.0.1 (::7f00:1) for 127.0.0.1, as ipaddr.js does", () => {
    expect(ipaddr.process("::127.0.0.1").toString()).toBe("127.0.0.1");
    expect(systemAddress("::127.0.0.1")).toBeNull();
    expect(holds("127.0.0.0/8", "::127.0.0.1")).toBe(false);
    // Written as hex, it is the IPv6 address it is.
    expect(holds("::/96", "::7f00:1")).toBe(true);
    expect(holds("127.0.0.0/8", "::7f00:1")).toBe(false);
  });

  it("is the same reading X-Forwarded-For entries get behind a trusted proxy", () => {
    for (const entry of ["::ffff:10.0.0.1", "10.0.0.1", "2001:db8::1", "010.0.0.1", "::127.0.0.1"])
      expect(parseForwardedEntry(entry)?.toString() ?? null, entry).toBe(
        systemAddress(entry)?.toString() ?? null,
      );
  });
});

describe("the settings that hold such lists", () => {
  it.each([
    "10.0.0.0/33",
    "::/129",
    "1.2.3.4/-1",
    "1.2.3.4/08",
    "127.1",
    "010.0.0.1",
    "fe80::1%eth0",
    "::ffff:10.0.0.0/90",
    "64:ff9b::1.2.3.4",
  ])("refuse %s alike at start-up, naming the setting and the entry", (entry) => {
    for (const setting of SETTINGS)
      expect(() => loadConfig({ [setting]: `127.0.0.1, ${entry}` }), setting).toThrow(
        `invalid configuration: ${setting}: '${entry}' is not an IP address or CIDR range`,
      );
  });

  it.each(["0.0.0.0/0", "::/0", " 10.0.0.0/8 , ::1 ", "::ffff:10.0.0.0/104", "2001:db8::/32,,192.168.4.7"])(
    "accept %j alike",
    (value) => {
      for (const setting of SETTINGS) expect(() => loadConfig({ [setting]: value }), setting).not.toThrow();
    },
  );

  const metricsFrom = (remoteAddress: string, config: MetricsAccessConfig) =>
    checkMetricsAccess({ socket: { remoteAddress }, headers: {} } as unknown as IncomingMessage, config);

  it("METRICS_ALLOWED_NETWORKS: an IPv4-mapped entry holds the IPv4 peer it maps", () => {
    const config = loadConfig({
      METRICS_ALLOWED_NETWORKS: "::ffff:10.0.0.0/104, ::ffff:192.168.4.7",
    }).metricsAccess;
    for (const peer of ["10.1.2.3", "::ffff:10.1.2.3", "192.168.4.7", "::ffff:192.168.4.7"])
      expect(metricsFrom(peer, config), peer).toBeNull();
    expect(metricsFrom("192.168.4.8", config)?.code).toBe("METRICS_ACCESS_DENIED");
  });

  it("METRICS_ALLOWED_NETWORKS unset: the IPv4-compatible ::127.0.0.1 is not loopback", () => {
    expect(metricsFrom("::127.0.0.1", LOOPBACK_ONLY)?.code).toBe("METRICS_ACCESS_DENIED");
    expect(metricsFrom("::ffff:127.0.0.1", LOOPBACK_ONLY)).toBeNull();
    expect(metricsFrom("fe80::1%eth0", LOOPBACK_ONLY)?.code).toBe("METRICS_ACCESS_DENIED");
  });

  const webhookTo = async (address: string, allowed: string) => {
    const resolver: Resolver = () => Promise.resolve([{ address, family: address.includes(":") ? 6 : 4 }]);
    const allow = loadConfig({ WEBHOOK_ALLOWED_TARGETS: allowed }).webhooks.allow!;
    return resolveTarget(new URL("http://hooks.example/"), allow, resolver);
  };

  it("WEBHOOK_ALLOWED_TARGETS: an IPv4-mapped entry allows the IPv4 address it maps", async () => {
    for (const address of ["127.0.0.1", "::ffff:127.0.0.1"])
      expect(await webhookTo(address, "::ffff:127.0.0.1"), address).toMatchObject({ address });
    expect(await webhookTo("10.9.9.9", "::ffff:10.0.0.0/104")).toMatchObject({
      address: "10.9.9.9",
    });
    expect(await webhookTo("127.0.0.2", "::ffff:127.0.0.1")).toHaveProperty("refused");
  });

  it("WEBHOOK_ALLOWED_TARGETS: a name that a URL reads as an IPv4 address is a misspelt address", () => {
    for (const entry of ["256.0.0.1", "1.2.3.4.5", "123", "0x7f.1", "hooks.10", "127.0.0.1.", "[127.1]/32"])
      expect(() => loadConfig({ WEBHOOK_ALLOWED_TARGETS: entry }), entry).toThrow(
        `invalid configuration: WEBHOOK_ALLOWED_TARGETS: '${entry}' is not an IP address or CIDR range`,
      );
    const allow = loadConfig({ WEBHOOK_ALLOWED_TARGETS: "Hooks.Internal, 10x.example, [::1], [127.0.0.1]" })
      .webhooks.allow!;
    expect(allow.hosts).toEqual(["hooks.internal", "10x.example"]);
    expect(allow.ranges.map(shown)).toEqual(["::1/128", "127.0.0.1/32"]);
  });
});
