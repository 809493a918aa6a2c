// The SSRF guard: every internal spelling of an address is refused unless allow-listed; a DNS name
// is judged by every address it resolves to; the connection is pinned to the checked address.
import { describe, expect, it } from "vitest";
import {
  EMPTY_ALLOW_LIST,
  internalRange,
  parseAllowList,
  pinnedLookup,
  resolveTarget,
} from "../../src/webhooks/delivery/targetGuard.ts";
import type { Resolver } from "../../src/webhooks/delivery/targetGuard.ts";

const noDns: Resolver = () => Promise.reject(Object.assign(new Error("no"), { code: "ENOTFOUND" }));
const dns =
  (answers: Record<string, string[]>): Resolver =>
  (host) =>
    Promise.resolve(
      (answers[host] ?? []).map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
    );

const refused = async (url: string, allow = EMPTY_ALLOW_LIST, resolver: Resolver = noDns) =>
  "refused" in (await resolveTarget(new URL(url), allow, resolver));

describe("the webhook target guard", () => {
  it.each([
    "http://127.0.0.1/",
    "http://127.1/",
    "http://0x7f.0.0.1/",
    "http://2130706433/",
    "http://017700000001/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.0.1/",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://[ff02::1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://198.18.0.1/",
    // IPv4-compatible IPv6 (deprecated) and IPv6 space outside 2000::/3 (IANA reserved).
    "http://[::127.0.0.1]/",
    "http://[::a9fe:a9fe]/",
    "http://[::1:0:0:1]/",
    "http://[4000::1]/",
  ])("refuses %s", async (url) => {
    expect(await refused(url)).toBe(true);
  });

  it.each([
    "http://8.8.8.8/",
    "https://1.1.1.1/x",
    "http://[2606:4700:4700::1111]/",
    "http://172.32.0.1/",
    "http://100.128.0.1/",
  ])("accepts the public address %s", async (url) => {
    expect(await refused(url)).toBe(false);
  });

  it("judges a DNS name by every address it resolves to", async () => {
    const resolver = dns({
      "loopback.example": ["127.0.0.1"],
      "mixed.example": ["93.184.216.34", "10.0.0.5"],
      "public.example": ["93.184.216.34", "2606:2800:220:1::1"],
      "mapped.example": ["::ffff:10.1.2.3"],
    });
    expect(await refused("http://loopback.example/", EMPTY_ALLOW_LIST, resolver)).toBe(true);
    expect(await refused("http://mixed.example/", EMPTY_ALLOW_LIST, resolver)).toBe(true);
    expect(await refused("http://mapped.example/", EMPTY_ALLOW_LIST, resolver)).toBe(true);
    expect(await refused("http://nowhere.example/", EMPTY_ALLOW_LIST, resolver)).toBe(true);
    expect(await resolveTarget(new URL("http://public.example/"), EMPTY_ALLOW_LIST, resolver)).toEqual({
      address: "93.184.216.34",
      family: 4,
    });
  });

  it("gives up on a name that does not resolve in time (registration and delivery alike)", async () => {
    const never: Resolver = () => new Promise(() => undefined);
    const started = Date.now();
    const outcome = await resolveTarget(new URL("http://hangs.example/"), parseAllowList(""), never, 50);
    expect(outcome).toEqual({ refused: "its host hangs.example did not resolve within 50 ms" });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("allows listed addresses, ranges and hosts, and nothing else", async () => {
    const allow = parseAllowList(" 127.0.0.1, 10.1.0.0/16,[::1], hooks.internal ");
    const resolver = dns({ "hooks.internal": ["10.9.9.9"], "other.internal": ["10.9.9.9"] });
    expect(await refused("http://127.0.0.1:9/", allow)).toBe(false);
    expect(await refused("http://127.1/", allow)).toBe(false);
    expect(await refused("http://[::ffff:127.0.0.1]/", allow)).toBe(false);
    expect(await refused("http://127.0.0.2/", allow)).toBe(true);
    expect(await refused("http://10.1.200.3/", allow)).toBe(false);
    expect(await refused("http://10.2.0.1/", allow)).toBe(true);
    expect(await refused("http://[::1]/", allow)).toBe(false);
    expect(await refused("http://hooks.internal/", allow, resolver)).toBe(false);
    expect(await refused("http://other.internal/", allow, resolver)).toBe(true);
    expect(() => parseAllowList("not a host!")).toThrow();
    expect(() => parseAllowList("10.0.0.0/99")).toThrow();
  });

  it("names the range of an address", () => {
    expect(internalRange("169.254.169.254")).toBe("linkLocal");
    expect(internalRange("::ffff:10.0.0.1")).toBe("private");
    expect(internalRange("8.8.8.8")).toBeNull();
  });

  it("pins the connection to the checked address", async () => {
    const lookup = pinnedLookup({ address: "93.184.216.34", family: 4 }) as unknown as (
      host: string,
      options: { all?: boolean },
      cb: (...args: unknown[]) => void,
    ) => void;
    const one = await new Promise((resolve) => lookup("evil.example", {}, (...args) => resolve(args)));
    expect(one).toEqual([null, "93.184.216.34", 4]);
    const all = await new Promise((resolve) =>
      lookup("evil.example", { all: true }, (...args) => resolve(args)),
    );
    expect(all).toEqual([null, [{ address: "93.184.216.34", family: 4 }]]);
  });
});
