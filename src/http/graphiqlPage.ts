// GraphiQL served entirely by the registry: Yoga's default page loads its code from a CDN, which
// most company networks cannot reach (a blank "Loading…" page). @graphql-yoga/render-graphiql
// inlines the whole application (script, styles, editor workers as blob: URLs) into one page, and
// its policy allows exactly that inline script (by hash), and network access to this server only
// (HTTP and the WebSocket for subscriptions).
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import type { GraphiQLOptions, Plugin } from "graphql-yoga";
import { contentSecurityPolicy, inlineHash } from "./securityHeaders.ts";

interface RenderedPage {
  readonly html: string;
  readonly csp: string;
}

function render(options: GraphiQLOptions): RenderedPage {
  const html = renderGraphiQL(options);
  const start = html.indexOf("<script>") + "<script>".length;
  const end = html.lastIndexOf("</script>");
  const csp = contentSecurityPolicy(
    "default-src 'none'",
    `script-src ${inlineHash(html.slice(start, end))}`,
    // The editor sets style attributes and adds style elements as it runs.
    "style-src 'unsafe-inline'",
    "img-src data: blob:",
    "font-src data:",
    "worker-src blob:",
    // 'self' covers ws: and wss: to the same host for the subscription WebSocket.
    "connect-src 'self'",
  );
  return { html, csp };
}

export interface GraphiQLPage {
  readonly options: GraphiQLOptions;
  /** Yoga's `renderGraphiQL`: the page, rendered once (it is ~9 MB) on first use. */
  readonly render: () => string;
  /** Gives the page its policy (every other answer keeps the server's default one). */
  readonly plugin: Plugin;
}

export function graphiqlPage(options: GraphiQLOptions): GraphiQLPage {
  let page: RenderedPage | null = null;
  const rendered = () => (page ??= render(options));
  return {
    options,
    render: () => rendered().html,
    plugin: {
      onResponse({ response }) {
        if (page !== null && response.headers.get("content-type")?.startsWith("text/html"))
          response.headers.set("content-security-policy", page.csp);
      },
    },
  };
}
