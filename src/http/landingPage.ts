// `GET /`: where a person who typed the registry's address lands. Browsers get the web interface
// (src/web/webInterface.ts); until it is built, a small self-contained page (no external assets, so
// it works offline) saying how to build it and linking GraphiQL, the health check and the
// documentation, which the registry serves itself (README.md and docs/). Clients that ask for JSON
// get the same links as JSON.
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { contentSecurityPolicy, inlineHash } from "./securityHeaders.ts";
import { sendJson } from "./sendJson.ts";

const LINKS = {
  graphiql: "/graphql",
  graphql: "/graphql",
  health: "/healthz",
  docs: "/docs",
  errors: "/docs/errors",
} as const;

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.6rem;margin-bottom:.25rem}p{margin:.5rem 0}ul{padding-left:1.2rem}li{margin:.4rem 0}
a{color:#0550ae}code{background:#f2f4f7;padding:.1rem .3rem;border-radius:4px}`;

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Registro</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Registro</h1>
<p>An event-sourced model registry for machine-learning teams, served over GraphQL.</p>
<p>The web interface is not built: run <code>npm run web:build</code> (<code>npm install</code> does it), then reload.</p>
<ul>
<li><a href="${LINKS.graphiql}">GraphiQL</a>: explore the schema, run queries, mutations and subscriptions. Programs POST to <code>${LINKS.graphql}</code>.</li>
<li><a href="${LINKS.health}">Health check</a> (<code>${LINKS.health}</code>).</li>
<li><a href="${LINKS.docs}">Documentation</a> (the README, which links every topic) and the <a href="${LINKS.errors}">list of error codes</a>.</li>
</ul>
</body>
</html>
`;

const HTML_CSP = contentSecurityPolicy("default-src 'none'", `style-src ${inlineHash(STYLE)}`);

/**
 * The documentation file a path names: `/docs` is the README, `/docs/<topic>` (or `<topic>.md`, as
 * the README's relative links resolve) a file of docs/. Topics are a fixed alphabet, so no path
 * can leave the folder.
 */
function docFor(pathname: string): string | undefined {
  if (pathname === "/docs" || pathname === "/docs/") return "README.md";
  if (!pathname.startsWith("/docs/")) return undefined;
  const topic = pathname.slice("/docs/".length).replace(/\.md$/, "");
  return /^[a-z][a-z-]{0,40}$/.test(topic) ? `docs/${topic}.md` : undefined;
}
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Media-range weight of `type` in an Accept header (1 when there is none): linear, no regex. */
function weight(accept: string | undefined, type: string): number {
  if (accept === undefined || accept.trim() === "") return 1;
  const [major] = type.split("/");
  let best = 0;
  let bestSpecificity = -1;
  for (const range of accept.split(",")) {
    const [name = "", ...params] = range.split(";").map((part) => part.trim().toLowerCase());
    const specificity = name === type ? 2 : name === `${major}/*` ? 1 : name === "*/*" ? 0 : -1;
    if (specificity < bestSpecificity || specificity < 0) continue;
    const q = params.find((p) => p.startsWith("q="));
    const value = q === undefined ? 1 : Number(q.slice(2));
    best = Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
    bestSpecificity = specificity;
  }
  return best;
}

/** Adds to a Vary header set earlier (CORS varies by Origin) instead of replacing it. */
const varyAlso = (res: ServerResponse, name: string) =>
  [res.getHeader("vary"), name].filter((v) => v !== undefined && v !== "").join(", ");

const wantsJson = (accept: string | undefined) =>
  weight(accept, "application/json") > weight(accept, "text/html");

function methodNotAllowed(req: IncomingMessage, res: ServerResponse, url: URL) {
  sendJson(
    res,
    405,
    { error: { code: "METHOD_NOT_ALLOWED", message: `${req.method} is not supported on ${url.pathname}` } },
    { allow: "GET, HEAD" },
  );
}

/** The self-contained page (GET or HEAD). */
export function landingHtml(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(HTML),
    "content-security-policy": HTML_CSP,
  });
  res.end(req.method === "HEAD" ? undefined : HTML);
}

/**
 * `/` and the documentation pages; returns false for every other path. `webPage` answers `/` for
 * browsers with the web interface (false while it is not built).
 */
export async function landingPage(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  webPage?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>,
): Promise<boolean> {
  const doc = docFor(url.pathname);
  if (url.pathname !== "/" && doc === undefined) return false;
  if (req.method !== "GET" && req.method !== "HEAD") {
    methodNotAllowed(req, res, url);
    return true;
  }
  if (doc !== undefined) {
    // An installation without the documentation files answers 404 like any unknown path.
    const text = await readFile(ROOT + doc).catch(() => null);
    if (text === null) return false;
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": text.length });
    res.end(text);
    return true;
  }
  if (wantsJson(req.headers.accept)) {
    sendJson(res, 200, { name: "Registro", links: LINKS }, { vary: varyAlso(res, "Accept") });
    return true;
  }
  res.setHeader("vary", varyAlso(res, "Accept"));
  if (webPage === undefined || !(await webPage(req, res))) landingHtml(req, res);
  return true;
}
