// How a webhook's host name becomes addresses, without the thread pool. getaddrinfo (dns.lookup)
// runs on libuv's thread pool, four threads that file I/O shares (artifact uploads and downloads,
// the blob store's fsyncs), and keeps its thread until the system resolver gives up, whatever
// deadline its caller set: a handful of webhooks naming hosts whose nameserver never answers
// stalled every upload. A cap on lookups in flight only moved the problem: one tenant's slow names
// then held the cap and starved every other tenant's deliveries.
//
// So names are resolved the way getaddrinfo does by default, in two steps that need no thread: the
// hosts file first (read as text), then DNS through c-ares (node:dns's Resolver), which runs on the
// event loop, bounds every query by its own timeout and retries, and holds nothing once they end.
// Names are resolved as written: no search domains (a webhook URL names a fully qualified host).
import { readFile } from "node:fs/promises";
import { Resolver as DnsResolver } from "node:dns/promises";
import ipaddr from "ipaddr.js";

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Where the hosts file is, and how DNS is asked: replaced in tests. */
export interface HostResolverOptions {
  readonly hostsFile?: string;
  /** Nameservers (`host` or `host:port`); the system's (/etc/resolv.conf) when absent. */
  readonly servers?: readonly string[];
  /** Each query's first timeout (ms), doubled per retry by c-ares. */
  readonly timeoutMs?: number;
  readonly tries?: number;
}

/** 1.5 s, tried twice: about 4.5 s at worst per name, within registration's 10 s deadline. */
const DEFAULTS = { hostsFile: "/etc/hosts", timeoutMs: 1_500, tries: 2 } as const;

/** The hosts file's addresses of `host` (lowercase), in file order; empty when it has none. */
export function addressesInHostsFile(text: string, host: string): ResolvedAddress[] {
  const found: ResolvedAddress[] = [];
  for (const line of text.split("\n")) {
    const fields = line.replace(/#.*/, "").trim().split(/\s+/);
    const [address, ...names] = fields;
    if (address === undefined || names.length === 0 || !ipaddr.isValid(address)) continue;
    if (names.some((name) => name.toLowerCase() === host))
      found.push({ address, family: address.includes(":") ? 6 : 4 });
  }
  return found;
}

/** DNS answers that mean "no such address", as opposed to a failure to ask. */
const NO_ADDRESS = new Set(["ENODATA", "ENOTFOUND", "ENONAME"]);

/** A webhook host resolver: the hosts file, then DNS (A and AAAA) with bounded queries. */
export function hostResolver(options: HostResolverOptions = {}) {
  const { hostsFile, timeoutMs, tries } = { ...DEFAULTS, ...options };
  const dns = new DnsResolver({ timeout: timeoutMs, tries });
  if (options.servers) dns.setServers([...options.servers]);
  return async (host: string): Promise<readonly ResolvedAddress[]> => {
    // A hosts file that cannot be read (absent in a container) holds no name.
    const hosts = await readFile(hostsFile, "utf8").catch(() => "");
    const listed = addressesInHostsFile(hosts, host.toLowerCase());
    if (listed.length > 0) return listed;
    const [v4, v6] = await Promise.allSettled([dns.resolve4(host), dns.resolve6(host)]);
    const addresses = [
      ...(v4.status === "fulfilled" ? v4.value.map((address) => ({ address, family: 4 })) : []),
      ...(v6.status === "fulfilled" ? v6.value.map((address) => ({ address, family: 6 })) : []),
    ];
    if (addresses.length > 0) return addresses;
    // Neither family answered: the first real failure (a timeout, a refused query) says why, else
    // the name has no address.
    const failures = [v4, v6].flatMap((r) =>
      r.status === "rejected" ? [r.reason as NodeJS.ErrnoException] : [],
    );
    throw failures.find((e) => !NO_ADDRESS.has(String(e.code))) ?? failures[0] ?? new Error("no address");
  };
}
