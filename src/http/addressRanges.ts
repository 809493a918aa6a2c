// Lists of addresses and CIDR ranges, as the operator writes them in TRUSTED_PROXIES,
// METRICS_ALLOWED_NETWORKS and WEBHOOK_ALLOWED_TARGETS, and whether an address falls in one.
//
// Text people write (a setting, an X-Forwarded-For entry) is read strictly: IPv4 in the usual four
// decimal parts only (`127.1`, `0x7f.0.0.1`, `2130706433` or `010.0.0.1` mean something else to each
// reader: ipaddr.js reads `010` as octal 8), IPv6 without a zone, a prefix length in plain decimal.
// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack socket reports for an IPv4
// peer) is the IPv4 address it maps, on both sides of a match, so `10.0.0.0/8` holds it and
// `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
import ipaddr from "ipaddr.js";

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** An address and how many of its leading bits a member shares with it (ipaddr.parseCIDR's shape). */
export type AddressRange = readonly [IpAddress, number];

/** What a setting says of an entry that is neither an address nor a CIDR range. */
export const notAnAddressOrRange = (item: string): string =>
  `'${item}' is not an IP address or CIDR range (e.g. 127.0.0.1, 10.0.0.0/8, ::1, fd00::/8; ` +
  "IPv4 in four decimal parts, numbers without leading zeros, no port or zone)";

/**
 * A setting's list: addresses and CIDR ranges, comma-separated, white space around each ignored,
 * blank items skipped (so an empty text is an empty list). Throws naming the first bad entry.
 */
export function parseAddressRanges(text: string): AddressRange[] {
  const ranges: AddressRange[] = [];
  for (const raw of text.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    const range = parseAddressRange(item);
    if (range === null) throw new Error(notAnAddressOrRange(item));
    ranges.push(range);
  }
  return ranges;
}

/**
 * One entry: an address (a range of one) or `address/prefix`, the prefix 0 to 32 for IPv4 and 0 to
 * 128 for IPv6, in decimal without a leading zero (`/010` is 8 to readers that take it as octal,
 * like the octets). An IPv4-mapped range is the IPv4 range it maps, so its prefix is at least 96.
 * Null for anything else.
 */
export function parseAddressRange(item: string): AddressRange | null {
  const slash = item.indexOf("/");
  const written = slash === -1 ? item : item.slice(0, slash);
  const address = parseAddress(written);
  if (address === null) return null;
  const ipv6 = written.includes(":");
  // parseAddress unwraps an IPv4-mapped address: its prefix then counts 96 bits fewer.
  const mapped = ipv6 && address.kind() === "ipv4";
  const width = ipv6 ? 128 : 32;
  if (slash === -1) return [address, mapped ? 32 : width];
  const bitsText = item.slice(slash + 1);
  if (bitsText.length > 3 || !allDigits(bitsText, 0, bitsText.length)) return null;
  if (bitsText.length > 1 && bitsText.charCodeAt(0) === 0x30) return null;
  const bits = Number(bitsText);
  if (bits > width || (mapped && bits < 96)) return null;
  return [address, mapped ? bits - 96 : bits];
}

/** Whether `address` is in one of `ranges` (as parseAddressRange gives them); IPv4-mapped IPv6 as IPv4. */
export function inRanges(address: IpAddress, ranges: readonly AddressRange[]): boolean {
  const unwrapped = isMapped(address) ? address.toIPv4Address() : address;
  const kind = unwrapped.kind();
  for (const [base, bits] of ranges) if (base.kind() === kind && unwrapped.match(base, bits)) return true;
  return false;
}

const isMapped = (address: IpAddress): address is ipaddr.IPv6 =>
  address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress();

/**
 * An address the system reports (a socket's peer, a resolver's answer), for inRanges: as
 * parseAddress reads it, without the zone Node appends to a link-local peer (`fe80::1%eth0`: a
 * range holds the address on every interface). Null for anything else, and so in no range: among
 * them the deprecated IPv4-compatible `::127.0.0.1` (::7f00:1), which ipaddr.js would take for the
 * IPv4-mapped `::ffff:127.0.0.1`.
 */
export function systemAddress(text: string): IpAddress | null {
  const zone = text.includes(":") ? text.indexOf("%") : -1;
  return parseAddress(zone === -1 ? text : text.slice(0, zone));
}

/**
 * An address people write: IPv4 as four decimal parts, IPv6 without a zone, IPv4-mapped IPv6
 * unwrapped to IPv4; null for anything else. Text longer than any address is refused before
 * ipaddr.js, which parses IPv6 with regular expressions, sees it.
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

/** IPv4 in four decimal parts from 0 to 255, without leading zeros; null for anything else. */
export function parseIPv4(text: string): ipaddr.IPv4 | null {
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

/** Whether `text` holds ASCII digits only from `from` to `to`, and at least one. */
export function allDigits(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return to > from;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
