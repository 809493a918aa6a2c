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
import ipaddr from "ipaddr.js";

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

type Range = readonly [IpAddress, number];

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

  readonly #ranges: readonly Range[];

  constructor(ranges: readonly Range[]) {
    this.#ranges = ranges;
  }

  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  /** Whether `address` (IPv4-mapped IPv6 unwrapped, as parseAddress gives it) is a trusted proxy. */
  trusts(address: IpAddress): boolean {
    const kind = address.kind();
    for (const [range, bits] of this.#ranges)
      if (range.kind() === kind && address.match(range, bits)) return true;
    return false;
  }
}

/**
 * TRUSTED_PROXIES: addresses and CIDR ranges, comma-separated; blank items are skipped, so an empty
 * value trusts no one. IPv4 in the usual four decimal parts only (`127.1`, `010.0.0.1` or a port
 * would mean something else to each reader), IPv6 without a zone. An IPv4-mapped range
 * (`::ffff:10.0.0.0/104`) is taken as the IPv4 range it maps, since peers are matched unwrapped.
 */
export function parseTrustedProxies(text: string): TrustedProxies {
  const ranges: Range[] = [];
  for (const raw of text.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    const range = parseRange(item);
    if (range === null)
      throw new Error(
        `'${item}' is not an IP address or CIDR range (e.g. 127.0.0.1, 10.0.0.0/8, ::1, fd00::/8)`,
      );
    ranges.push(range);
  }
  return ranges.length === 0 ? TrustedProxies.NONE : new TrustedProxies(ranges);
}

function parseRange(item: string): Range | null {
  const slash = item.indexOf("/");
  const written = slash === -1 ? item : item.slice(0, slash);
  const address = parseAddress(written);
  if (address === null) return null;
  // parseAddress unwraps an IPv4-mapped address: its prefix then counts 96 bits fewer.
  const mapped = address.kind() === "ipv4" && written.includes(":");
  const width = written.includes(":") ? 128 : 32;
  const bitsText = slash === -1 ? String(width) : item.slice(slash + 1);
  if (bitsText.length > 3 || !allDigits(bitsText, 0, bitsText.length)) return null;
  const bits = Number(bitsText);
  if (bits > width || (mapped && bits < 96)) return null;
  return [address, mapped ? bits - 96 : bits];
}

/**
 * An IP address in the text a proxy writes: IPv4 as four decimal parts, IPv6 without a zone,
 * IPv4-mapped IPv6 unwrapped to IPv4; null for anything else. Run only on short text (callers cap
 * it): ipaddr.js parses IPv6 with regular expressions.
 */
export function parseAddress(text: string): IpAddress | null {
  if (text.length === 0 || text.length > 45) return null;
  if (!text.includes(":")) return parseIPv4(text);
  // Hex digits, colons and dots (an embedded IPv4) only: no zone, nothing ipaddr.js would read loosely.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) || c === 0x3a || c === 0x2e))
      return null;
  }
  // An embedded IPv4 only as an IPv4-mapped address (`::ffff:10.0.0.1`), in the usual four parts:
  // ipaddr.js reads `::ffff:010.0.0.1` as 10.0.0.1 and the deprecated `::10.0.0.1` as mapped.
  const dot = text.indexOf(".");
  if (dot !== -1) {
    const colon = text.lastIndexOf(":");
    if (colon > dot || text.slice(0, colon + 1).toLowerCase() !== "::ffff:") return null;
    return parseIPv4(text.slice(colon + 1));
  }
  if (!ipaddr.IPv6.isValid(text)) return null;
  const address = ipaddr.IPv6.parse(text);
  return address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
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

function parseIPv4(text: string): ipaddr.IPv4 | null {
  if (text.length > 15) return null;
  const octets: number[] = [];
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && text.charCodeAt(i) !== 0x2e) continue;
    const length = i - start;
    // 1 to 3 digits, no leading zero (`010` is octal to some readers, decimal to others).
    if (length < 1 || length > 3 || !allDigits(text, start, i)) return null;
    if (length > 1 && text.charCodeAt(start) === 0x30) return null;
    const octet = Number(text.slice(start, i));
    if (octet > 255) return null;
    octets.push(octet);
    start = i + 1;
  }
  return octets.length === 4 ? new ipaddr.IPv4(octets) : null;
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

function allDigits(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return to > from;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
