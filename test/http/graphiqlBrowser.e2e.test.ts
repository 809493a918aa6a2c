// GraphiQL works without internet: in headless Chromium that may reach nothing but the test server,
// the page renders, runs a query, and shows a subscription event that arrives over WebSocket, with
// no Content-Security-Policy violation. Skipped with a visible notice when Chromium is not
// installed, unless REQUIRE_BROWSER=1 (as in CI), which turns the skip into a failure.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, launchChromium } from "../support/browser.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const available = chromiumAvailable("the GraphiQL browser test");

const WAIT_MS = 20_000;

describe.skipIf(!available)("GraphiQL in a browser without internet", () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  /** Every request the page tried to send anywhere but the test server. */
  const elsewhere: string[] = [];
  /** Console errors, page errors and CSP violations. */
  const problems: string[] = [];

  beforeAll(async () => {
    server = await startTestServer("sqlite");
    const host = new URL(server.url).host;
    browser = await launchChromium(WAIT_MS);
    context = await browser.newContext({ serviceWorkers: "block" });
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.host === host) return route.continue();
      elsewhere.push(url.href);
      return route.abort("internetdisconnected");
    });
    await context.routeWebSocket(/.*/, (socket) => {
      if (new URL(socket.url()).host === host) return void socket.connectToServer();
      elsewhere.push(socket.url());
      return socket.close();
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openGraphiQL(query: string): Promise<Page> {
    const page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error" || /Content Security Policy/i.test(message.text()))
        problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    // Yoga's GraphiQL takes the editor's initial operation from the `query` parameter.
    await page.goto(`${server.graphqlUrl}?query=${encodeURIComponent(query)}`, { timeout: WAIT_MS });
    await page.locator(".graphiql-execute-button").waitFor({ timeout: WAIT_MS });
    return page;
  }

  /** The result pane's text (the editor renders spaces as no-break spaces). */
  const responseText = async (page: Page) =>
    (await page.locator(".graphiql-response").innerText()).replaceAll("\u00a0", " ");

  it("renders and runs a query", async () => {
    await server.gql(`mutation { createRegisteredModel(input: { name: "offline-query" }) { __typename } }`);
    const page = await openGraphiQL("{ registeredModels { nodes { name } } }");
    await page.locator(".graphiql-execute-button").click();
    await expect.poll(() => responseText(page), { timeout: WAIT_MS }).toContain('"name": "offline-query"');
    await page.close();
    expect(problems).toEqual([]);
    expect(elsewhere).toEqual([]);
  }, 60_000);

  it("receives a subscription event over WebSocket", async () => {
    const page = await openGraphiQL("subscription { registryEvents { type data } }");
    const sockets: string[] = [];
    page.on("websocket", (socket) => sockets.push(socket.url()));
    const hub = server.registro.liveEvents.hub;
    const before = hub.subscriberCount;
    await page.locator(".graphiql-execute-button").click();
    // The event must happen after the subscription is live: it starts with the next event.
    await expect.poll(() => hub.subscriberCount, { timeout: WAIT_MS }).toBeGreaterThan(before);
    const created = await server.gql(
      `mutation { createRegisteredModel(input: { name: "offline-subscription" }) { __typename } }`,
    );
    expect(created.errors).toBeUndefined();
    await expect.poll(() => responseText(page), { timeout: WAIT_MS }).toContain("offline-subscription");
    expect(await responseText(page)).toContain("RegisteredModelCreated");
    expect(sockets).toEqual([server.graphqlUrl.replace("http:", "ws:")]);
    await page.close();
    expect(problems).toEqual([]);
    expect(elsewhere).toEqual([]);
  }, 60_000);
});
