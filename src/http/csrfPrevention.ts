// Cross-site request forgery: a page on another site can make a browser send a GET, or a POST with
// a form, multipart or text/plain body, without asking the server first (no CORS preflight). Such
// requests must carry a header a browser only sends after a successful preflight; any custom
// header does, so each of the names below works, with any value. JSON POSTs are always preflighted
// cross-site, so ordinary GraphQL clients need nothing. The artifact PUT route needs nothing either:
// browsers preflight every cross-site PUT.
import type { IncomingMessage } from "node:http";
import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";

/**
 * `x-registro-csrf` is ours; Yoga's default and Apollo's are accepted too, so off-the-shelf clients
 * configured for those servers (e.g. apollo-upload-client with `Apollo-Require-Preflight: true`)
 * work unchanged.
 */
export const CSRF_HEADERS = ["x-registro-csrf", "x-graphql-yoga-csrf", "apollo-require-preflight"] as const;

export const CSRF_MESSAGE = `This request could be forged by another site: send the header '${CSRF_HEADERS[0]}: 1' (or ${CSRF_HEADERS.slice(1).join(" or ")}). JSON POSTs do not need it.`;

/** Yoga's own check, for everything Yoga parses (GET, form and text bodies). */
export const csrfPreventionPlugin = () => useCSRFPrevention({ requestHeaders: [...CSRF_HEADERS] });

// The bodies an HTML form or a no-cors fetch can send (the Fetch standard's CORS-safelisted types).
const SIMPLE_CONTENT_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"];

/**
 * True when a request to the GraphQL endpoint could have been sent cross-site without a preflight
 * and carries none of the CSRF headers. Same rule as Yoga's plugin, for the requests the server
 * answers before Yoga (streamed multipart uploads).
 */
export function lacksCsrfHeader(req: IncomingMessage): boolean {
  const contentType = (req.headers["content-type"] ?? "").trim().toLowerCase();
  const simple = contentType === "" || SIMPLE_CONTENT_TYPES.some((type) => contentType.startsWith(type));
  return simple && !CSRF_HEADERS.some((name) => req.headers[name] !== undefined);
}
