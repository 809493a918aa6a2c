// A cap on what clients hold open at once (uploads in progress, subscription connections), per
// client and in total. Each holder costs the server until it ends (a connection, buffers, a temp
// file); past the cap a client is told to come back later instead of being served.
//
// A client is its TCP peer address (an IPv6 peer, its /64), or, when that peer is a reverse proxy
// listed in TRUSTED_PROXIES, the address the proxy names in X-Forwarded-For (./trustedProxies.ts).
// From anyone else the header is ignored: anyone can send it.
import type { IncomingMessage, Server } from "node:http";
import ipaddr from "ipaddr.js";
import { systemAddress } from "./addressRanges.ts";
import type { IpAddress } from "./addressRanges.ts";
import { walkForwarded } from "./trustedProxies.ts";
import type { TrustedProxies } from "./trustedProxies.ts";

export interface SlotLimits {
  /** Slots one client address may hold at once. */
  readonly maxPerClient: number;
  /** Slots the server hands out at once, to all clients. */
  readonly maxTotal: number;
  /** The `Retry-After` (seconds) sent with a refusal. */
  readonly retryAfterSeconds?: number;
}

/** Why a slot was refused: the client's cap or the server's, and a sentence for the client. */
export interface SlotRefusal {
  readonly scope: "client" | "server";
  readonly limit: number;
  readonly message: string;
}

/** Gives a slot back; calling it again does nothing. */
export type ReleaseSlot = () => void;

export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * The client a request counts for: its IPv4 address (`::ffff:10.0.0.1` and `10.0.0.1` are the same
 * client), or the /64 its IPv6 address is in. A host is given a whole /64 (a home line, a cloud
 * instance), so counted address by address one host would have 2^64 clients' caps. Behind a trusted
 * proxy, the same for the client its X-Forwarded-For names (see trustProxies).
 */
export function clientAddress(req: IncomingMessage): string {
  // Parsed once per connection (about 11 µs each time, on every request of a keep-alive client).
  const socket = req.socket as IncomingMessage["socket"] | null;
  const known = socket === null ? undefined : clientOfSocket.get(socket);
  if (typeof known === "string") return known;
  if (known !== undefined) return forwardedClientAddress(req, known);
  const client = clientOf(socket?.remoteAddress ?? "unknown");
  if (socket !== null) clientOfSocket.set(socket, client);
  return client;
}

/**
 * The address of the client a request came from, in full (not its /64): the TCP peer's, or behind
 * a trusted proxy the forwarded client's. For allow-lists of networks (METRICS_ALLOWED_NETWORKS).
 */
export function clientIp(req: IncomingMessage): string | undefined {
  const socket = req.socket as IncomingMessage["socket"] | null;
  const known = socket === null ? undefined : clientOfSocket.get(socket);
  if (known === undefined || typeof known === "string") return socket?.remoteAddress;
  const walk = walkForwarded(known.peer, forwardedForOf(req), known.proxies);
  // A header the walk could not follow to its client names no one: no address, no network.
  return walk.proven ? walk.client.toString() : undefined;
}

/**
 * From now on, the requests of `server`'s connections from one of `proxies` count for the client
 * their X-Forwarded-For names; nothing changes when `proxies` is empty. Once, before it listens.
 */
export function trustProxies(server: Pick<Server, "on">, proxies: TrustedProxies): void {
  if (proxies.empty) return;
  server.on("connection", (socket: { remoteAddress?: string | undefined }) =>
    acceptForwardedFor(socket, proxies),
  );
}

/**
 * Decides, for one new connection, whether its requests may name their client: only when its peer
 * is one of `proxies`. A connection from anyone else counts for its peer, as without proxies.
 */
export function acceptForwardedFor(
  socket: { remoteAddress?: string | undefined },
  proxies: TrustedProxies,
): void {
  const peer = socket.remoteAddress === undefined ? null : systemAddress(socket.remoteAddress);
  if (peer === null) return;
  // Parsed now, the peer's client is remembered too: clientAddress need not parse it again.
  clientOfSocket.set(socket, proxies.trusts(peer) ? { peer, proxies } : clientOfParsed(peer));
}

/** A connection from a trusted proxy: each of its requests names its own client. */
interface ProxyConnection {
  readonly peer: IpAddress;
  readonly proxies: TrustedProxies;
}

// Per connection: its client (a string), or that it comes from a trusted proxy.
const clientOfSocket = new WeakMap<object, string | ProxyConnection>();
// Per request through a trusted proxy: the client its header named (rate limits look it up twice).
const clientOfRequest = new WeakMap<IncomingMessage, string>();

function forwardedClientAddress(req: IncomingMessage, connection: ProxyConnection): string {
  const known = clientOfRequest.get(req);
  if (known !== undefined) return known;
  const client = clientOfParsed(
    walkForwarded(connection.peer, forwardedForOf(req), connection.proxies).client,
  );
  clientOfRequest.set(req, client);
  return client;
}

/** The X-Forwarded-For list: Node joins repeated lines with ", "; an array only comes from elsewhere. */
function forwardedForOf(req: IncomingMessage): string | undefined {
  const header = req.headers["x-forwarded-for"] as string | readonly string[] | undefined;
  return typeof header === "string" || header === undefined ? header : header.join(", ");
}

function clientOf(address: string): string {
  const parsed = systemAddress(address); // IPv4-mapped IPv6 unwrapped
  return parsed === null ? address : clientOfParsed(parsed);
}

function clientOfParsed(parsed: IpAddress): string {
  if (parsed.kind() === "ipv4") return parsed.toString();
  const prefix = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...prefix, 0, 0, 0, 0]).toString()}/64`;
}

export class ClientSlots {
  readonly limits: Required<SlotLimits>;
  /** What a slot is, counted, for refusal messages: "uploads in progress". */
  readonly #held: string;
  readonly #perClient = new Map<string, number>();
  #total = 0;

  constructor(limits: SlotLimits, held: string) {
    for (const key of ["maxPerClient", "maxTotal"] as const)
      if (!Number.isInteger(limits[key]) || limits[key] < 1)
        throw new RangeError(`${key} must be a positive integer`);
    this.limits = { retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS, ...limits };
    this.#held = held;
  }

  /** Slots held now, by all clients. */
  get active(): number {
    return this.#total;
  }

  /** Why `take(client)` would be refused now, or null when it would succeed; takes nothing. */
  refusal(client: string): SlotRefusal | null {
    const mine = this.#perClient.get(client) ?? 0;
    const { maxPerClient, maxTotal } = this.limits;
    if (mine >= maxPerClient)
      return {
        scope: "client",
        limit: maxPerClient,
        message: `this client already has ${mine} ${this.#held}`,
      };
    if (this.#total >= maxTotal)
      return {
        scope: "server",
        limit: maxTotal,
        message: `the server already has ${this.#total} ${this.#held}`,
      };
    return null;
  }

  /** Takes a slot for `client`: its release, or why there is none free. */
  take(client: string): ReleaseSlot | SlotRefusal {
    const refusal = this.refusal(client);
    if (refusal !== null) return refusal;
    const mine = this.#perClient.get(client) ?? 0;
    this.#perClient.set(client, mine + 1);
    this.#total++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#total--;
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left === 0) this.#perClient.delete(client);
      else this.#perClient.set(client, left);
    };
  }
}
