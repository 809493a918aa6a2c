// Single sign-on in the web interface, in headless Chromium against a real server with
// AUTH=required and OIDC pointing at a fake identity provider (test/support/oidcIssuer.ts) that
// checks PKCE: the SSO button leads through the provider's /authorize and back, the code is
// exchanged for an access token, and the interface is signed in as the token's user. A forged
// state, a provider's refusal, and an access token the API refuses each end on the sign-in screen
// with a clear message. Nothing may load from anywhere but the server and the provider, and no
// Content-Security-Policy violation may occur. The sign-in form is saved to test/.tmp/screenshots
// (docs/images/web-sign-in-sso.png is a copy). Skipped like webInterface.e2e.test.ts without Chromium.
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webInterface } from "../../src/web/webInterface.ts";
import { AUDIENCE, oidcConfig, signer, startIssuer } from "../support/oidcIssuer.ts";
import type { Issuer } from "../support/oidcIssuer.ts";
import { chromiumAvailable, launchChromium } from "../support/browser.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const available = chromiumAvailable("the SSO browser test");
if (available && !webInterface().built())
  throw new Error("the web interface is not built: run `npm run web:build` (npm install does it)");

const WAIT_MS = 15_000;
const SHOTS = path.resolve(import.meta.dirname, "../.tmp/screenshots");
const CLIENT_ID = "registro-web";
const MODEL = "sso-visible-model";

describe.skipIf(!available)("single sign-on in the web interface", () => {
  let issuer: Issuer;
  let server: TestServer;
  let browser: Browser;
  const problems: string[] = [];

  async function open(target: string): Promise<Page> {
    const allowed = new Set([new URL(server.url).host, new URL(issuer.url).host]);
    const context = await browser.newContext({
      serviceWorkers: "block",
      viewport: { width: 1280, height: 860 },
    });
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (allowed.has(url.host)) return route.continue();
      problems.push(`request elsewhere: ${url.href}`);
      return route.abort("internetdisconnected");
    });
    const page = await context.newPage();
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`${server.url}${target}`, { timeout: WAIT_MS });
    return page;
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    issuer = await startIssuer();
    server = await startTestServer("sqlite", {
      auth: {
        mode: "required",
        oidc: oidcConfig(issuer, {
          issuer: issuer.url,
          audience: AUDIENCE,
          webClient: { clientId: CLIENT_ID, scopes: "openid profile email" },
        }),
      },
    });
    // Sam, by the same SSO, creates a model the interface should then list.
    const token = await signer(issuer)({ issuer: issuer.url });
    const created = await server.gql(
      `mutation { createRegisteredModel(input: { name: "${MODEL}" }) { __typename } }`,
      {},
      { authorization: `Bearer ${token}`, "x-registro-csrf": "1" },
    );
    expect(created.errors).toBeUndefined();
    browser = await launchChromium(WAIT_MS);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await issuer?.close();
  });

  it("signs in at the identity provider with PKCE, as the token's user, and back on the page it started from", async () => {
    const page = await open(`/models/${MODEL}`);
    // The WebSocket (live updates) is accepted with the SSO token in its connection_init.
    const acknowledged: string[] = [];
    page.on("websocket", (socket) =>
      socket.on("framereceived", ({ payload }) => {
        if (String(payload).includes('"connection_ack"')) acknowledged.push(socket.url());
      }),
    );
    await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: WAIT_MS });
    expect(await page.getByText("This registry requires signing in.").count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, "sign-in-sso.png") });
    await page.getByRole("button", { name: "Sign in with single sign-on" }).click();
    await page.getByTestId("viewer").getByText("Sam Sso").waitFor({ timeout: WAIT_MS });
    expect(new URL(page.url()).pathname).toBe(`/models/${MODEL}`);
    await page.getByRole("heading", { name: MODEL, level: 1 }).waitFor({ timeout: WAIT_MS });
    expect(issuer.tokenRequests).toEqual(["issued"]);
    await expect.poll(() => acknowledged.length, { timeout: WAIT_MS }).toBeGreaterThan(0);
    // The sign-in's secrets are gone; the access token is kept for this tab only.
    const storage = await page.evaluate(() => ({
      pending: sessionStorage.getItem("registro.sso.pending"),
      token: sessionStorage.getItem("registro.token"),
      remembered: localStorage.getItem("registro.token"),
    }));
    expect(storage.pending).toBeNull();
    expect(storage.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(storage.remembered).toBeNull();
    // The models page loads with it (HTTP), and sign-out forgets it.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Models" }).click();
    await page.getByRole("link", { name: MODEL }).waitFor({ timeout: WAIT_MS });
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: WAIT_MS });
    expect(await page.evaluate(() => sessionStorage.getItem("registro.token"))).toBeNull();
    await page.context().close();
    expect(problems).toEqual([]);
  }, 30_000);

  it("refuses an answer whose state is not this tab's, and says why the provider refused", async () => {
    const page = await open("/");
    issuer.nextAuthorization = "forged-state";
    await page.getByRole("button", { name: "Sign in with single sign-on" }).click();
    await page.getByText(/state mismatch/).waitFor({ timeout: WAIT_MS });
    expect(new URL(page.url()).pathname).toBe("/");
    expect(await page.getByTestId("viewer").count()).toBe(0);
    issuer.nextAuthorization = "access_denied";
    await page.getByRole("button", { name: "Sign in with single sign-on" }).click();
    await page
      .getByText(/refused the sign-in: access_denied \(the user said no\)/)
      .waitFor({ timeout: WAIT_MS });
    // Neither reached the token endpoint.
    expect(issuer.tokenRequests).toEqual(["issued"]);
    await page.context().close();
    expect(problems).toEqual([]);
  }, 30_000);

  it("shows no text of an error answer that a link, not this tab's sign-in, brought", async () => {
    const lure = "Your session expired. Sign in again at https://evil.example";
    const page = await open(
      `/models/sso/callback?${new URLSearchParams({ error: "access_denied", error_description: lure })}`,
    );
    await page.getByText(/state mismatch/).waitFor({ timeout: WAIT_MS });
    expect(await page.getByText(/evil\.example|access_denied/).count()).toBe(0);
    await page.context().close();
    expect(problems).toEqual([]);
  }, 30_000);

  it("sends a user whose access token the API refuses back to the sign-in screen", async () => {
    const expired = await signer(issuer)({
      issuer: issuer.url,
      expiresAt: Math.floor(Date.now() / 1000) - 120,
    });
    const page = await open("/");
    await page.evaluate((token) => sessionStorage.setItem("registro.token", token), expired);
    await page.reload();
    await page.getByText(/expired or was revoked/).waitFor({ timeout: WAIT_MS });
    await page.getByRole("button", { name: "Sign in with single sign-on" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("registro.token"))).toBeNull();
    await page.context().close();
    expect(problems).toEqual([]);
  }, 30_000);
});
