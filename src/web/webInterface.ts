// The web interface (web/, built by Vite into web/dist): its page for `/` and every client-side
// route under `/models/`, and its hashed assets under `/assets/`. The page itself holds no data
// (everything it shows comes from /graphql, authenticated like any client), so it is public, like
// the landing page it replaces for browsers.
//
// Assets are looked up by name in one folder: a name is letters, digits, `.`, `-` and `_`, never
// starting with a dot, so no request can name a file elsewhere (`..`, `%2F`, `%00` and `\` are
// refused before the file system is asked). Their names carry a content hash, so they are cached
// for a year; the page is revalidated on every load, so a new build is picked up at once.
//
// With SSO sign-in configured (OIDC_WEB_CLIENT_ID), the page carries the issuer, client id and
// scopes in a `<meta name="registro-sso">` (the CSP forbids inline script, and a meta tag needs no
// second request), and its CSP lets the page fetch from the issuer's origin: the browser reads the
// discovery document and exchanges the code at the token endpoint itself (a public client, PKCE).
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { landingHtml } from "../http/landingPage.ts";
import { contentSecurityPolicy } from "../http/securityHeaders.ts";
import { sendJson } from "../http/sendJson.ts";

export const DEFAULT_WEB_DIST = fileURLToPath(new URL("../../web/dist/", import.meta.url));

/**
 * Scripts and styles from this origin only, no inline code, no eval; data from this origin only
 * (`connect-src 'self'` covers the same-origin WebSocket), plus the SSO issuer's origin when the
 * page signs in there; nothing from anywhere else.
 */
export const webCsp = (issuerOrigin: string | null = null) =>
  contentSecurityPolicy(
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob:",
    "font-src 'self'",
    issuerOrigin === null ? "connect-src 'self'" : `connect-src 'self' ${issuerOrigin}`,
    "manifest-src 'self'",
  );

export const WEB_CSP = webCsp();

/** The SSO sign-in the page offers: the issuer (OIDC_ISSUER) and the web client registered there. */
export interface WebSignIn {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: string;
}

/** Where the issuer sends the browser back with the code: a client-side route of the page. */
export const SSO_CALLBACK_PATH = "/models/sso/callback";

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);

/** The meta tag the page reads its sign-in settings from (JSON, HTML-escaped into an attribute). */
export const ssoMetaTag = (signIn: WebSignIn) =>
  `<meta name="registro-sso" content="${escapeHtml(
    JSON.stringify({ issuer: signIn.issuer, clientId: signIn.clientId, scopes: signIn.scopes }),
  )}" />`;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".json": "application/json; charset=utf-8",
};

const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/** The paths the page answers: `/models` and everything under it (client-side routes). */
const isPagePath = (pathname: string) => pathname === "/models" || pathname.startsWith("/models/");

export interface WebInterface {
  /** Whether web/dist holds a build. */
  readonly built: () => boolean;
  /**
   * `/assets/*` and the client-side routes (the landing page, saying how to build the interface,
   * while it is not built); false for every other path.
   */
  readonly route: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;
  /** Answers the page (index.html) when built; false when not. */
  readonly servePage: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

function refuse(res: ServerResponse, status: number, code: string, message: string, headers = {}) {
  sendJson(res, status, { error: { code, message } }, headers);
}

export function webInterface(
  distDir: string = DEFAULT_WEB_DIST,
  signIn: WebSignIn | null = null,
): WebInterface {
  const assetsDir = path.resolve(distDir, "assets");
  const indexFile = path.resolve(distDir, "index.html");
  /** Hashed names never change content: read once. */
  const assets = new Map<string, Buffer>();
  const csp = webCsp(signIn === null ? null : new URL(signIn.issuer).origin);
  // A function, not a string: `$&` or `$'` in a client id must not be read as replacement patterns.
  const withSignIn = (html: string) =>
    signIn === null ? html : html.replace("</head>", () => `  ${ssoMetaTag(signIn)}\n  </head>`);

  async function servePage(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const html = await readFile(indexFile, "utf8").catch(() => null);
    if (html === null) return false;
    const page = Buffer.from(withSignIn(html));
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "content-length": page.length,
      "cache-control": "no-cache",
      "content-security-policy": csp,
    });
    res.end(req.method === "HEAD" ? undefined : page);
    return true;
  }

  async function serveAsset(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const type = CONTENT_TYPES[path.extname(name)];
    const file = path.resolve(assetsDir, name);
    if (!ASSET_NAME.test(name) || type === undefined || path.dirname(file) !== assetsDir)
      return refuse(
        res,
        400,
        "BAD_REQUEST",
        "an asset name is letters, digits, '.', '-' and '_', with a known extension",
      );
    let bytes = assets.get(name);
    if (bytes === undefined) {
      bytes = (await readFile(file).catch(() => null)) ?? undefined;
      if (bytes === undefined) return refuse(res, 404, "NOT_FOUND", `no asset ${name}`);
      assets.set(name, bytes);
    }
    res.writeHead(200, {
      "content-type": type,
      "content-length": bytes.length,
      "cache-control": "public, max-age=31536000, immutable",
    });
    res.end(req.method === "HEAD" ? undefined : bytes);
  }

  return {
    built: () => existsSync(indexFile),
    servePage,
    async route(req, res, url) {
      const asset = url.pathname.startsWith("/assets/");
      if (!asset && !isPagePath(url.pathname)) return false;
      if (req.method !== "GET" && req.method !== "HEAD") {
        refuse(res, 405, "METHOD_NOT_ALLOWED", `${req.method} is not supported on ${url.pathname}`, {
          allow: "GET, HEAD",
        });
        return true;
      }
      if (asset) {
        await serveAsset(req, res, url.pathname.slice("/assets/".length));
        return true;
      }
      if (!(await servePage(req, res))) landingHtml(req, res);
      return true;
    },
  };
}
