// Reverse proxies whose word on the client is believed (TRUSTED_PROXIES). Behind a proxy every
// request comes from the proxy's address; the proxy names the client by appending the address it
// saw to X-Forwarded-For. Anyone can send that header, so it is read only from a trusted peer, and
// only from the right: each trusted hop appended the entry to its left's address, so the entries
// are believed right to left for as long as the hop that wrote them is trusted. The first address
// that is not a trusted proxy is the client; what lies left of it was written by the client itself.
//
// The header is client input: it is looked at from its end only, at most MAX_FORWARDED_HOPS entries
// of at most MAX_ENTRY_CHARS characters each, without regular expressions, so a megabyte of it
// costs what 32 addresses do. An entry that is no address (`unknown`, garbage, an empty one) stops
// the walk at the last address proven so far: the hop that wrote it, which is trusted, never the
// text itself (it would be a client key anyone could choose).
import { allDigits, inRanges, parseAddress, parseAddressRanges, parseIPv4 } from "./addressRanges.ts";
import type { AddressRange, IpAddress } from "./addressRanges.ts";

/** Entries of X-Forwarded-For looked at, from the right; past them the last trusted hop is the client. */
export const MAX_FORWARDED_HOPS = 32;

/**
 * Characters of one entry, spaces around it included: `[ffff:…:255.255.255.255]:65535` is 53, and
 * proxies separate entries with ", ".
 */
const MAX_ENTRY_CHARS = 64;

export class TrustedProxies {
  /** Trust no one: X-Forwarded-For is never read (the default). */
  static readonly NONE = new TrustedProxies([]);

  readonly #ranges: readonly AddressRange[];

  constructor(ranges: readonly AddressRange[]) {
    this.#ranges = ranges;
  }

  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  /** Whether `address` (an IPv4-mapped IPv6 one as the IPv4 address it maps) is a trusted proxy. */
  trusts(address: IpAddress): boolean {
    return inRanges(address, this.#ranges);
  }
}

/**
 * TRUSTED_PROXIES: addresses and CIDR ranges, comma-separated, as ./addressRanges.ts reads them;
 * blank items are skipped, so an empty value trusts no one.
 */
export function parseTrustedProxies(text: string): TrustedProxies {
  const ranges = parseAddressRanges(text);
  return ranges.length === 0 ? TrustedProxies.NONE : new TrustedProxies(ranges);
}

/**
 * One X-Forwarded-For entry: an address as parseAddress reads it, or an IPv4 address with a port
 * (`198.51.100.7:5678`) or a bracketed IPv6 address with or without one (`[2001:db8::7]:443`), as
 * some load balancers write them (the port is dropped). An unbracketed IPv6 address has no port:
 * `2001:db8::1:443` is an address.
 */
export function parseForwardedEntry(entry: string): IpAddress | null {
  const text = entry.trim();
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1 || !validPortSuffix(text, close + 1)) return null;
    const inside = text.slice(1, close);
    return inside.includes(":") ? parseAddress(inside) : null;
  }
  const colon = text.indexOf(":");
  if (colon !== -1 && colon === text.lastIndexOf(":") && text.includes(".")) {
    // One colon after dotted parts: IPv4 with a port (no IPv6 address has a single colon).
    return validPortSuffix(text, colon) ? parseIPv4(text.slice(0, colon)) : null;
  }
  return parseAddress(text);
}

/**
 * The client of a request that came from `peer`, which named it in `forwardedFor` (Node joins
 * repeated header lines with ", "): `peer` itself unless it is trusted; else, walking the entries
 * from the right, the first that is not a trusted proxy. With no header, the peer; when every entry
 * looked at is trusted, the leftmost of them (the farthest hop proven); at an entry that is no
 * address, the last address proven (the trusted hop that wrote it).
 *
 * With it, whether the walk ended where it should: at an untrusted address, at the header's end,
 * or with no header at all; not at an entry that is no address (or too long) or past
 * MAX_FORWARDED_HOPS, where the client is only the nearest hop proven. An allow-list must not let
 * such a request pass as that hop (a proxy on loopback would pass anyone off as loopback).
 */
export function walkForwarded(
  peer: IpAddress,
  forwardedFor: string | undefined,
  proxies: TrustedProxies,
): { readonly client: IpAddress; readonly proven: boolean } {
  let proven = peer;
  if (forwardedFor === undefined || !proxies.trusts(peer)) return { client: proven, proven: true };
  let end = forwardedFor.length;
  for (let hop = 0; hop < MAX_FORWARDED_HOPS && end >= 0; hop++) {
    // The entry before `end`: scanned back to its comma, MAX_ENTRY_CHARS at most.
    let start = end;
    while (start > 0 && end - start < MAX_ENTRY_CHARS && forwardedFor.charCodeAt(start - 1) !== 0x2c) start--;
    // Longer than any address.
    if (start > 0 && forwardedFor.charCodeAt(start - 1) !== 0x2c) return { client: proven, proven: false };
    const address = parseForwardedEntry(forwardedFor.slice(start, end));
    if (address === null) return { client: proven, proven: false };
    if (!proxies.trusts(address)) return { client: address, proven: true };
    proven = address;
    end = start - 1; // before the comma; -1 once the leftmost entry has been read
  }
  return { client: proven, proven: end < 0 };
}

/** `:` and a port (1 to 65535, at most 5 digits) from `at` to the end, or nothing at all. */
function validPortSuffix(text: string, at: number): boolean {
  if (at === text.length) return true;
  if (text.charCodeAt(at) !== 0x3a) return false;
  const digits = text.length - at - 1;
  if (digits < 1 || digits > 5 || !allDigits(text, at + 1, text.length)) return false;
  const port = Number(text.slice(at + 1));
  return port >= 1 && port <= 65_535;
}
