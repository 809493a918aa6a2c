// Headers every answer carries. Most answers are JSON or artifact bytes, which a browser must never
// run as a page: their policy forbids everything, sandboxes the document (an HTML file uploaded as
// an artifact renders inert, in an opaque origin) and forbids framing. The two pages the registry
// serves (GraphiQL, the landing page) replace the policy with one that names exactly what they load.
import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";

const ALWAYS = ["frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"];

export const contentSecurityPolicy = (...directives: string[]) => [...directives, ...ALWAYS].join("; ");

/** For everything that is not one of our pages. */
export const DEFAULT_CSP = contentSecurityPolicy("default-src 'none'", "sandbox");

/** The CSP source that allows exactly this inline `<script>` or `<style>` text. */
export const inlineHash = (text: string) =>
  `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

export function applySecurityHeaders(res: ServerResponse) {
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("referrer-policy", "no-referrer");
  res.setHeader("x-frame-options", "DENY");
  res.setHeader("content-security-policy", DEFAULT_CSP);
}
