// The SSRF guard: a webhook may only reach public unicast addresses, unless the operator allows a
// host or a range (WEBHOOK_ALLOWED_TARGETS). The host is resolved once per delivery, every address
// it resolves to is classified, and the connection is pinned to the address that was checked (a
// custom `lookup`), so a DNS answer that changes between the check and the connect (rebinding)
// cannot slip through. Classification is ipaddr.js's, which knows the special ranges; IPv4-mapped
// IPv6 forms are unwrapped first.
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { inRanges, notAnAddressOrRange, parseAddressRange, systemAddress } from "../../http/addressRanges.ts";
import type { AddressRange } from "../../http/addressRanges.ts";
import { hostResolver } from "./hostResolver.ts";

export interface TargetAllowList {
  /** Host names (lowercase) allowed whatever they resolve to. */
  readonly hosts: readonly string[];
  /** Ranges allowed even though internal (e.g. 127.0.0.1/32 for tests). */
  readonly ranges: readonly AddressRange[];
}

export const EMPTY_ALLOW_LIST: TargetAllowList = { hosts: [], ranges: [] };

/**
 * Parses `host,10.0.0.0/8,127.0.0.1,[::1]` (hosts, addresses and CIDR ranges, addresses and ranges
 * as ../../http/addressRanges.ts reads them); throws naming the first entry that is none of them.
 */
export function parseAllowList(text: string): TargetAllowList {
  const hosts: string[] = [];
  const ranges: AddressRange[] = [];
  for (const raw of text.split(",")) {
    const written = raw.trim();
    const item = written.toLowerCase();
    if (item === "") continue;
    // An address may be bracketed as in a URL (`[::1]`), a range may not.
    const bracketed = item.startsWith("[") && item.endsWith("]") && !item.includes("/");
    const range = parseAddressRange(bracketed ? item.slice(1, -1) : item);
    if (range !== null) {
      ranges.push(range);
      continue;
    }
    // No host name holds a slash or a colon, nor ends in a number: URL parsing reads `127.1`,
    // `0x7f.0.0.1` or `2130706433` as an IPv4 address, so such an entry is a misspelt one.
    if (item.includes("/") || item.includes(":") || endsInANumber(item))
      throw new Error(notAnAddressOrRange(written));
    if (!/^[a-z0-9.-]{1,253}$/.test(item))
      throw new Error(`'${written}' is neither a host name, an address nor a CIDR range`);
    hosts.push(item);
  }
  return { hosts, ranges };
}

/** Whether a URL would take the host for an IPv4 address: its last label is a number (WHATWG URL). */
function endsInANumber(host: string): boolean {
  const labels = host.split(".");
  if (labels.length > 1 && labels.at(-1) === "") labels.pop();
  return /^(?:[0-9]+|0x[0-9a-f]*)$/.test(labels.at(-1)!);
}

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");

/** What to call an address's range, or null when it is public unicast (allowed). */
export function internalRange(address: string): string | null {
  if (!ipaddr.isValid(address)) return "not an IP address";
  // process() unwraps IPv4-mapped IPv6 (::ffff:127.0.0.1) into the IPv4 address it stands for.
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  if (range !== "unicast") return range;
  // ipaddr.js calls every IPv6 address it has no range for unicast, among them the deprecated
  // IPv4-compatible ::a.b.c.d (`::127.0.0.1`) and the rest of the space IANA has not allocated:
  // only 2000::/3 is global unicast.
  if (parsed.kind() === "ipv6" && !parsed.match(GLOBAL_UNICAST_V6)) return "reserved";
  return null;
}

export interface ResolvedTarget {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to its addresses (every family). */
export type Resolver = (host: string) => Promise<readonly { address: string; family: number }[]>;

/** The hosts file, then DNS through c-ares: no thread of the pool file I/O needs (./hostResolver.ts). */
const systemResolver: Resolver = hostResolver();

/** How long a webhook's host may take to resolve when it is registered (deliveries use their deadline). */
export const RESOLVE_TIMEOUT_MS = 10_000;

/** The URL's host without IPv6 brackets, lowercase. */
export const urlHost = (url: URL): string =>
  (url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname).toLowerCase();

/**
 * Resolves the URL's host and returns the address to connect to, or why it is refused. Every
 * address the name resolves to must be allowed (a name that answers with one public and one
 * private address is refused: the connect could pick either).
 */
export async function resolveTarget(
  url: URL,
  allow: TargetAllowList,
  resolver: Resolver = systemResolver,
  /**
   * How long the name may take to resolve: a resolver that does not answer (the system's bounds its
   * queries, an injected one may not) must hold neither a delivery queue nor a registering request.
   */
  timeoutMs = RESOLVE_TIMEOUT_MS,
): Promise<ResolvedTarget | { refused: string }> {
  const host = urlHost(url);
  const hostAllowed = allow.hosts.includes(host);
  let addresses: readonly { address: string; family: number }[];
  if (ipaddr.isValid(host)) addresses = [{ address: host, family: host.includes(":") ? 6 : 4 }];
  else {
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = await Promise.race([
        resolver(host),
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), timeoutMs);
        }),
      ]);
      if (answer === null) return { refused: `its host ${host} did not resolve within ${timeoutMs} ms` };
      addresses = answer;
    } catch (error) {
      return {
        refused: `its host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      };
    } finally {
      clearTimeout(timer);
    }
  }
  const first = addresses[0];
  if (first === undefined) return { refused: `its host ${host} does not resolve` };
  if (!hostAllowed)
    for (const { address } of addresses) {
      const range = internalRange(address);
      if (range === null) continue;
      const parsed = systemAddress(address);
      if (parsed === null || !inRanges(parsed, allow.ranges))
        return {
          refused: `${host} resolves to ${address}, a ${range} address; allow it with WEBHOOK_ALLOWED_TARGETS if this is intended`,
        };
    }
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A `lookup` for http.request that answers with the checked address only (no second DNS query). */
export function pinnedLookup(target: ResolvedTarget): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as unknown as LookupFunction;
}
