// `GET /` answers a small, self-contained page (or JSON when asked for it) linking GraphiQL, the
// health check and the documentation, which the registry serves itself.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

let server: TestServer;
beforeAll(async () => {
  // Without a built web interface, which otherwise answers browsers at `/` (test/web covers it).
  server = await startTestServer("sqlite", { webDist: "/nonexistent/registro-web-dist" });
});
afterAll(async () => server?.close());

describe("the landing page", () => {
  it("is HTML for browsers, linking GraphiQL, health and the docs, with nothing loaded from elsewhere", async () => {
    const response = await fetch(`${server.url}/`, {
      headers: { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("vary")).toContain("Accept");
    const html = await response.text();
    const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
    expect(links).toEqual(expect.arrayContaining(["/graphql", "/healthz", "/docs", "/docs/errors"]));
    expect(links.every((link) => link!.startsWith("/"))).toBe(true);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).toContain("npm run web:build");
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain("script-src");
  });

  it("is JSON for clients that ask for JSON", async () => {
    for (const accept of ["application/json", "application/json, text/html;q=0.5"]) {
      const response = await fetch(`${server.url}/`, { headers: { accept } });
      expect(response.status, accept).toBe(200);
      expect(response.headers.get("content-type")).toContain("application/json");
      expect(await response.json()).toMatchObject({
        name: "Registro",
        links: { graphiql: "/graphql", graphql: "/graphql", health: "/healthz", docs: "/docs" },
      });
    }
    // Anything else (curl's */*, none at all) gets the page.
    for (const headers of [{ accept: "*/*" }, {}] as Record<string, string>[]) {
      const response = await fetch(`${server.url}/`, { headers });
      expect(response.headers.get("content-type")).toContain("text/html");
    }
  });

  it("answers HEAD with the headers only", async () => {
    const response = await fetch(`${server.url}/`, { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(Number(response.headers.get("content-length"))).toBeGreaterThan(0);
    expect(await response.text()).toBe("");
    const health = await fetch(`${server.url}/healthz`, { method: "HEAD" });
    expect(health.status).toBe(200);
  });

  it("serves the documentation it links, as plain text", async () => {
    for (const [target, file] of [
      ["/docs", "README.md"],
      ["/docs/errors", "docs/errors.md"],
      // The README's relative links (`docs/artifacts.md`) resolve to this form.
      ["/docs/artifacts.md", "docs/artifacts.md"],
      ["/docs/security", "docs/security.md"],
    ] as const) {
      const response = await fetch(`${server.url}${target}`);
      expect(response.status, target).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(await response.text()).toBe(readFileSync(new URL(`../../${file}`, import.meta.url), "utf8"));
    }
  });

  it("serves nothing outside the documentation folder", async () => {
    for (const target of [
      "/docs/..%2Fpackage.json",
      "/docs/../package",
      "/docs/Errors",
      "/docs/nope",
      "/docs/a/b",
    ]) {
      const response = await fetch(`${server.url}${target}`);
      expect(response.status, target).toBe(404);
      expect((await response.json()).error.code).toBe("NOT_FOUND");
    }
  });
});
