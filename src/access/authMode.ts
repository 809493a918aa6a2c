// Which authentication mode a server runs in. Local mode (credential-less callers act as the local
// administrator) is for one person on their own machine: it is the default only on loopback, and a
// server reachable from elsewhere refuses to start in it.
import { isIP } from "node:net";

export type AuthMode = "local" | "required";

/** 127.0.0.0/8, ::1 (and ::ffff:127.x.x.x), or `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6)
    return bare === "::1" || /^(0{0,4}:){0,5}(::)?ffff:127\./.test(bare) || /^::ffff:127\./.test(bare);
  return false;
}

/** AUTH when given, otherwise local on loopback and required everywhere else. */
export const defaultAuthMode = (host: string, configured: AuthMode | undefined): AuthMode =>
  configured ?? (isLoopbackHost(host) ? "local" : "required");

export const HOW_TO_CONFIGURE_AUTH =
  "Use AUTH=required (the default off loopback) with API tokens (create the first admin and token with `npm run access:bootstrap`, then send `Authorization: Bearer rgo_…`) or single sign-on (set OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL or OIDC_JWKS_FILE), or listen on loopback only (HOST=127.0.0.1).";

/** Why the server must not start in this mode on this host, or null when it may. */
export function refuseAuthMode(host: string, mode: AuthMode): string | null {
  if (mode === "local" && !isLoopbackHost(host))
    return `AUTH=local is only allowed when HOST is a loopback address, but HOST is ${host}: anyone who can reach it would act as the administrator. ${HOW_TO_CONFIGURE_AUTH}`;
  return null;
}
