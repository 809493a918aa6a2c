// The web interface's route, against a real server and a small build folder of its own: the page for
// `/` (browsers) and the client-side routes, with the strict Content-Security-Policy and no caching;
// hashed assets cached for a year with their content types; and hostile paths (`..`, encoded
// slashes and dots, NUL, backslashes, hidden files, folders) refused without touching any file
// outside the assets folder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WEB_CSP, ssoMetaTag, webCsp } from "../../src/web/webInterface.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const SECRET = "SECRET-OUTSIDE-THE-ASSETS";
const INDEX =
  '<!doctype html><title>Registro</title><script type="module" src="/assets/app-Ab12.js"></script>';

let root: string;
let server: TestServer;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), "registro-web-"));
  const dist = path.join(root, "dist");
  mkdirSync(path.join(dist, "assets", "sub"), { recursive: true });
  writeFileSync(path.join(dist, "index.html"), INDEX);
  writeFileSync(path.join(dist, "assets", "app-Ab12.js"), "console.log(1)");
  writeFileSync(path.join(dist, "assets", "app-Ab12.css"), "body{}");
  writeFileSync(path.join(dist, "assets", ".hidden.js"), SECRET);
  writeFileSync(path.join(dist, "assets", "sub", "x.js"), SECRET);
  writeFileSync(path.join(dist, "secret.js"), SECRET);
  writeFileSync(path.join(root, "secret.js"), SECRET);
  server = await startTestServer("sqlite", { webDist: dist });
});
afterAll(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A request with the target exactly as written (fetch would normalise `..` and `%2e` first). */
function raw(target: string, method = "GET", headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(server.url);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const request = http.request({ hostname, port, path: target, method, headers }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      });
      request.on("error", reject);
      request.end();
    },
  );
}

describe("the web interface's route", () => {
  it("answers the page for / (browsers) and every client-side route, never cached, with the strict policy", async () => {
    for (const target of [
      "/",
      "/models",
      "/models/fraud%20detector",
      "/models/a%2Fb/versions/3",
      "/models/x/compare?versions=1,2",
    ]) {
      const response = await raw(target, "GET", { accept: "text/html" });
      expect(response.status, target).toBe(200);
      expect(response.body, target).toBe(INDEX);
      expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(response.headers["cache-control"]).toBe("no-cache");
      expect(response.headers["content-security-policy"]).toBe(WEB_CSP);
    }
    expect(WEB_CSP).toContain("script-src 'self'");
    expect(WEB_CSP).not.toMatch(/unsafe|https?:|\*/);
    // Clients that ask for JSON still get the links at /.
    const json = await raw("/", "GET", { accept: "application/json" });
    expect(JSON.parse(json.body)).toMatchObject({
      name: "Registro",
      links: { graphiql: "/graphql", docs: "/docs" },
    });
    const head = await raw("/models/x", "HEAD");
    expect([head.status, head.body, head.headers["content-length"]]).toEqual([200, "", String(INDEX.length)]);
  });

  it("serves hashed assets with their content type, cached for a year", async () => {
    const js = await raw("/assets/app-Ab12.js");
    expect([js.status, js.body, js.headers["content-type"]]).toEqual([
      200,
      "console.log(1)",
      "text/javascript; charset=utf-8",
    ]);
    expect(js.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect((await raw("/assets/app-Ab12.css")).headers["content-type"]).toBe("text/css; charset=utf-8");
    const missing = await raw("/assets/nope-1.js");
    expect([missing.status, JSON.parse(missing.body).error.code]).toEqual([404, "NOT_FOUND"]);
  });

  it("refuses hostile paths with a typed error and never reads outside the assets folder", async () => {
    for (const target of [
      "/assets/..%2Fsecret.js",
      "/assets/..%2F..%2Fsecret.js",
      "/assets/%2e%2e%2fsecret.js",
      "/assets/..%5Csecret.js",
      "/assets/..\\secret.js",
      "/assets/app-Ab12.js%00.js",
      "/assets/.hidden.js",
      "/assets/sub%2Fx.js",
      "/assets/sub/x.js",
      "/assets/",
      "/assets/%C0%AE%C0%AE%2Fsecret.js",
      `/assets/${"a".repeat(300)}.js`,
      "/assets/index.html",
    ]) {
      const response = await raw(target);
      expect(response.status, target).toBeGreaterThanOrEqual(400);
      expect(response.status, target).toBeLessThan(500);
      expect(response.body, target).not.toContain(SECRET);
      expect(JSON.parse(response.body).error.code, target).toMatch(/^(BAD_REQUEST|NOT_FOUND)$/);
    }
    // `..` segments, plain or encoded as dots, are resolved by URL parsing before any route: they
    // leave /assets and land on paths no route serves.
    for (const target of ["/assets/../secret.js", "/assets/%2e%2e/secret.js", "/models/../../secret.js"]) {
      const response = await raw(target);
      expect(response.status, target).toBe(404);
      expect(response.body, target).not.toContain(SECRET);
    }
  });

  it("takes GET and HEAD only", async () => {
    for (const target of ["/models/x", "/assets/app-Ab12.js"]) {
      const response = await raw(target, "POST");
      expect([response.status, response.headers.allow, JSON.parse(response.body).error.code]).toEqual([
        405,
        "GET, HEAD",
        "METHOD_NOT_ALLOWED",
      ]);
    }
  });
});

describe("the page with single sign-on configured (OIDC_WEB_CLIENT_ID)", () => {
  it("carries the issuer, client id and scopes in an escaped meta tag, and lets the page connect to the issuer only", async () => {
    const dist = path.join(root, "dist-sso");
    mkdirSync(dist, { recursive: true });
    writeFileSync(
      path.join(dist, "index.html"),
      "<!doctype html><head><title>R</title></head><body>$</body>",
    );
    // `$'` and `$&` would be replacement patterns to String.replace; quotes and angle brackets
    // would leave the attribute.
    const clientId = `web$'$&"<b>`;
    const sso = await startTestServer("sqlite", {
      webDist: dist,
      auth: {
        oidc: {
          issuer: "https://id.example.com/realms/ml",
          audience: "registro",
          jwksUrl: "https://id.example.com/realms/ml/certs",
          clockSkewSeconds: 30,
          algorithms: ["RS256"],
          groupsClaim: "groups",
          webClient: { clientId, scopes: "openid groups" },
        },
      },
    });
    try {
      const response = await fetch(`${sso.url}/models/sso/callback?code=x&state=y`, {
        headers: { accept: "text/html" },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-security-policy")).toBe(webCsp("https://id.example.com"));
      const page = await response.text();
      expect(page).toBe(
        `<!doctype html><head><title>R</title>  ${ssoMetaTag({
          issuer: "https://id.example.com/realms/ml",
          clientId,
          scopes: "openid groups",
        })}\n  </head><body>$</body>`,
      );
      expect(page).toContain(
        'content="{&quot;issuer&quot;:&quot;https://id.example.com/realms/ml&quot;,&quot;clientId&quot;:&quot;web$&#39;$&amp;\\&quot;&lt;b&gt;&quot;',
      );
    } finally {
      await sso.close();
    }
  });
});
