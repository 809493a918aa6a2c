// Which client a connection counts for in the per-client caps (uploads, subscription connections).
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientAddress } from "../../src/http/clientSlots.ts";

const from = (remoteAddress: string | undefined) => ({ socket: { remoteAddress } }) as IncomingMessage;

describe("clientAddress", () => {
  it("is an IPv4 peer's address, written alike whether or not it came IPv4-mapped", () => {
    expect(clientAddress(from("10.0.0.1"))).toBe("10.0.0.1");
    expect(clientAddress(from("::ffff:10.0.0.1"))).toBe("10.0.0.1");
  });

  it("is an IPv6 peer's /64: the addresses of one host's prefix are one client", () => {
    const one = clientAddress(from("2001:db8:1:2:aaaa:bbbb:cccc:1"));
    expect(one).toBe("2001:db8:1:2::/64");
    expect(clientAddress(from("2001:0db8:0001:0002:ffff::2"))).toBe(one);
    expect(clientAddress(from("2001:db8:1:3::1"))).not.toBe(one);
    expect(clientAddress(from("::1"))).toBe("::/64");
  });

  it("keeps what is no address as it is", () => {
    expect(clientAddress(from(undefined))).toBe("unknown");
  });
});
