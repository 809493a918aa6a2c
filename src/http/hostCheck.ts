// Which Host a request may name. A page that rebinds its own host name to 127.0.0.1 (DNS rebinding)
// talks to the registry as its own origin: the browser sends `Host: evil.example` with a matching
// Origin, so CORS and the WebSocket origin check see "the registry's own pages". Where a request's
// network position is its credential (AUTH=local: every loopback caller is the local administrator;
// /metrics allowed by address), only hosts no attacker can point at the registry are served:
// loopback names and literals, and the hosts the operator lists in ALLOWED_HOSTS. Tokens are not
// ambient (the web interface keeps them in the origin's storage, and the registry sets no cookies),
// so under AUTH=required the rest of the API needs no check unless ALLOWED_HOSTS asks for one.
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import type { AuthMode } from "../access/authMode.ts";

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

const LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

/** An IP literal in its canonical text (IPv6 compressed, without brackets), or null. */
function canonicalIp(text: string): string | null {
  const bare = text.replace(/^\[(.*)\]$/, "$1");
  return isIP(bare) === 0 ? null : ipaddr.parse(bare).toString();
}

/**
 * ALLOWED_HOSTS: host names or IP addresses, comma-separated, without scheme or port; normalised
 * (lower case, IPs canonical). Wildcards are refused: `*` would switch the check off.
 */
export function parseAllowedHosts(text: string): string[] {
  const hosts: string[] = [];
  for (const item of text.split(",")) {
    const candidate = item.trim().toLowerCase();
    if (candidate === "") continue;
    const host = canonicalIp(candidate) ?? (HOST_NAME.test(candidate) ? candidate : null);
    if (host === null)
      throw new Error(
        `'${item.trim()}' is not a host name or IP address; list names like registry.example.com or 10.0.0.5, without scheme, port or wildcard, separated by commas`,
      );
    hosts.push(host);
  }
  if (hosts.length === 0) throw new Error("must list at least one host name");
  return [...new Set(hosts)];
}

/** The host of a Host header (`name`, `name:port`, `1.2.3.4:port`, `[::1]:port`), or null when malformed. */
function hostOf(header: string): string | null {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/i.exec(header.trim());
  if (match === null) return null;
  const host = match[1]!.toLowerCase();
  return canonicalIp(host) ?? (HOST_NAME.test(host) ? host : null);
}

/** Hosts only this machine answers for: `localhost`, `*.localhost` (RFC 6761), 127.0.0.0/8, ::1 (and ::ffff:127.x). */
const isLoopbackName = (host: string) =>
  isIP(host) === 0
    ? host === "localhost" || host.endsWith(".localhost")
    : ipaddr.process(host).range() === "loopback";

export interface HostCheck {
  /** Null when the request may be served, else the message of its 421 HOST_NOT_ALLOWED. */
  refusal(req: IncomingMessage): string | null;
  /** The same, for routes whose access rests on the caller's address (/metrics without METRICS_TOKEN). */
  refusalByAddress(req: IncomingMessage): string | null;
}

export interface HostCheckOptions {
  readonly mode: AuthMode;
  /** ALLOWED_HOSTS (normalised by parseAllowedHosts); null when unset. */
  readonly allowedHosts: readonly string[] | null;
}

export function hostCheck({ mode, allowedHosts }: HostCheckOptions): HostCheck {
  const listed = new Set(allowedHosts ?? []);
  // An IP literal cannot be rebound: a page whose host is an address always reaches that address.
  // Load balancers and Kubernetes probes name the pod's IP; under AUTH=local the server only listens
  // on loopback, where the literals of the loopback range are enough.
  const ipLiterals = mode === "required";
  const accepted = (host: string) =>
    isLoopbackName(host) || listed.has(host) || (ipLiterals && isIP(host) !== 0);

  // The last Host accepted alone: a client names the same host on every request, and the answer
  // depends on nothing else, so the parse (2.7 µs) runs once per change of host.
  let lastAccepted: string | undefined;

  function check(req: IncomingMessage): string | null {
    const forwarded = first(req.headers["x-forwarded-host"]);
    if (forwarded === undefined && req.headers.host !== undefined && req.headers.host === lastAccepted)
      return null;
    // HTTP/1.0 may omit Host; browsers never do, so such a request is not a rebound page's.
    const headers = [req.headers.host, forwarded?.split(",")[0]];
    for (const header of headers) {
      if (header === undefined) continue;
      const host = hostOf(header);
      if (host !== null && accepted(host)) continue;
      const shown = JSON.stringify(header.length > 100 ? `${header.slice(0, 100)}…` : header);
      return mode === "local"
        ? `this registry runs with AUTH=local and answers only for localhost, 127.0.0.1 and [::1], not for host ${shown}: list the host in ALLOWED_HOSTS if it really is this machine`
        : `host ${shown} is not listed in ALLOWED_HOSTS`;
    }
    if (forwarded === undefined) lastAccepted = req.headers.host;
    return null;
  }

  const everywhere = mode === "local" || allowedHosts !== null;
  return {
    refusal: (req) => (everywhere ? check(req) : null),
    refusalByAddress: check,
  };
}
