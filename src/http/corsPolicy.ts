// Which browser origins may use the API. By default only the registry's own pages (GraphiQL, the
// landing page): no CORS headers are sent, so a page elsewhere can send simple requests but never
// read an answer, and its preflights fail. CORS_ORIGINS lists the other origins that may (a web UI
// served elsewhere). Credentials are never allowed: the registry uses no cookies.
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "./sendJson.ts";

/** The headers a browser script on an allowed origin may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = [
  "etag",
  "repr-digest",
  "content-range",
  "content-disposition",
  "accept-ranges",
  "location",
  "retry-after",
  "x-artifact-version",
  "x-artifact-role",
].join(", ");

// Every method a route serves: the MLflow routes update with PATCH and delete with DELETE.
const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";
const PREFLIGHT_MAX_AGE_SECONDS = "600";

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export interface CorsPolicy {
  /**
   * Answers preflights and plain OPTIONS requests (returns true then), and adds CORS headers to
   * other requests from an allowed origin.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Whether a request's Origin (if it has one) is the registry's own or an allowed one. */
  originAllowed(req: IncomingMessage): boolean;
}

/** The origin of the request's own host, as a browser on the registry's pages would send it. */
function sameHost(req: IncomingMessage, origin: string): boolean {
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  // Behind a proxy that rewrites Host, the public host arrives as X-Forwarded-Host (which a
  // browser cannot set); the scheme is not compared because TLS may end at that proxy.
  const forwarded = first(req.headers["x-forwarded-host"])?.split(",")[0]?.trim().toLowerCase();
  return host === req.headers.host?.toLowerCase() || (forwarded !== undefined && host === forwarded);
}

export function corsPolicy(allowedOrigins: readonly string[]): CorsPolicy {
  const allowed = new Set(allowedOrigins);
  return {
    originAllowed(req) {
      const origin = first(req.headers.origin);
      return origin === undefined || allowed.has(origin) || sameHost(req, origin);
    },
    handle(req, res) {
      const origin = first(req.headers.origin);
      const listed = origin !== undefined && allowed.has(origin);
      // Answers differ by Origin as soon as any origin is listed: caches must keep them apart.
      if (allowed.size > 0) res.setHeader("vary", "Origin");
      if (req.method !== "OPTIONS") {
        if (listed) {
          res.setHeader("access-control-allow-origin", origin);
          res.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
        }
        return false;
      }
      const preflight = origin !== undefined && req.headers["access-control-request-method"] !== undefined;
      if (!preflight) {
        res.writeHead(204, { allow: `${ALLOWED_METHODS}, OPTIONS`, "content-length": 0 });
        res.end();
        return true;
      }
      if (!listed && !sameHost(req, origin)) {
        sendJson(res, 403, {
          error: {
            code: "CORS_ORIGIN_NOT_ALLOWED",
            message: `origin ${origin} may not call this registry from a browser; list it in CORS_ORIGINS to allow it`,
          },
        });
        return true;
      }
      const requested = first(req.headers["access-control-request-headers"]);
      res.writeHead(204, {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": ALLOWED_METHODS,
        // An allowed origin is trusted like the registry's own pages: whatever headers it asks for.
        ...(requested ? { "access-control-allow-headers": requested } : {}),
        "access-control-max-age": PREFLIGHT_MAX_AGE_SECONDS,
        "content-length": 0,
      });
      res.end();
      return true;
    },
  };
}
