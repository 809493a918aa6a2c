// Who may scrape /metrics (and read /readyz's details): METRICS_ALLOWED_NETWORKS (CIDR ranges of
// the client's address) and METRICS_TOKEN (a bearer token). Both set: both must hold. Neither set:
// loopback only, the safe default for a server whose metrics would otherwise be public. The client
// is the TCP peer, or behind a proxy listed in TRUSTED_PROXIES the client it names in
// X-Forwarded-For (../http/clientSlots.ts): the list is about who asks, and a proxy on loopback would
// otherwise pass every client on the internet off as loopback. From anyone else the header is not
// trusted: any client can write it.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { inRanges, parseAddressRanges, systemAddress } from "../http/addressRanges.ts";
import type { AddressRange } from "../http/addressRanges.ts";
import { clientIp } from "../http/clientSlots.ts";

export interface MetricsAccessConfig {
  /** Bearer token scrapers must send; null: none needed. */
  readonly token: string | null;
  /** Networks scrapers may connect from; null: any (only with a token), empty: loopback only. */
  readonly networks: readonly AddressRange[] | null;
}

/** Loopback only: what applies when neither a token nor networks are configured. */
export const LOOPBACK_ONLY: MetricsAccessConfig = {
  token: null,
  networks: parseAddressRanges("127.0.0.0/8, ::1"),
};

/**
 * METRICS_ALLOWED_NETWORKS: CIDR ranges or single addresses, separated by commas, as
 * ../http/addressRanges.ts reads them; at least one.
 */
export function parseNetworks(text: string): AddressRange[] {
  const ranges = parseAddressRanges(text);
  if (ranges.length === 0) throw new Error("must list at least one IP address or CIDR range");
  return ranges;
}

/** The settings as configured: networks or a token, or loopback only when neither is given. */
export function metricsAccess(
  token: string | undefined,
  networks: AddressRange[] | undefined,
): MetricsAccessConfig {
  if (token === undefined && networks === undefined) return LOOPBACK_ONLY;
  return { token: token ?? null, networks: networks ?? null };
}

export type MetricsRefusal =
  | { readonly status: 401; readonly code: "UNAUTHENTICATED"; readonly message: string }
  | { readonly status: 403; readonly code: "METRICS_ACCESS_DENIED"; readonly message: string };

const digest = (text: string) => createHash("sha256").update(text).digest();

function fromAllowedNetwork(address: string | undefined, networks: readonly AddressRange[]): boolean {
  // IPv4-mapped IPv6 (::ffff:127.0.0.1, what a dual-stack socket reports) is matched as IPv4.
  const peer = address === undefined ? null : systemAddress(address);
  return peer !== null && inRanges(peer, networks);
}

/** Null when the request may read the metrics, else why not. */
export function checkMetricsAccess(req: IncomingMessage, config: MetricsAccessConfig): MetricsRefusal | null {
  if (config.networks !== null && !fromAllowedNetwork(clientIp(req), config.networks))
    return {
      status: 403,
      code: "METRICS_ACCESS_DENIED",
      message: "this address may not read the metrics (METRICS_ALLOWED_NETWORKS)",
    };
  if (config.token === null) return null;
  const header = req.headers.authorization ?? "";
  const match = /^Bearer ([^\s]+)$/i.exec(header);
  if (match === null)
    return {
      status: 401,
      code: "UNAUTHENTICATED",
      message: "the metrics need `Authorization: Bearer <METRICS_TOKEN>`",
    };
  // Equal-length digests: timingSafeEqual neither throws on a length difference nor leaks one.
  if (!timingSafeEqual(digest(match[1]!), digest(config.token)))
    return { status: 403, code: "METRICS_ACCESS_DENIED", message: "the metrics token is not accepted" };
  return null;
}
