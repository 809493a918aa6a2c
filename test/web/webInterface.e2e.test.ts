// The web interface in headless Chromium against a real server (one server, one browser): the
// models list of 1,001 models (its load time read from the Performance API and printed), search,
// a model, a promotion whose toast arrives in a second page, the as-of view, Compare, an upload
// with its progress bar, and a read-only token that sees no action buttons. Nothing may load from
// anywhere but the server, and no Content-Security-Policy violation may occur. Screenshots of the
// main pages go to test/.tmp/screenshots (docs/images holds copies). Skipped with a visible notice
// when Chromium is missing, unless REQUIRE_BROWSER=1 (as in CI), which turns the skip into a failure.
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webInterface } from "../../src/web/webInterface.ts";
import { chromiumAvailable, launchChromium } from "../support/browser.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const available = chromiumAvailable("the web interface browser test");
if (available && !webInterface().built())
  throw new Error("the web interface is not built: run `npm run web:build` (npm install does it)");

const WAIT_MS = 15_000;
const SHOTS = path.resolve(import.meta.dirname, "../.tmp/screenshots");
const MODEL = "fraud-detector";
const BULK = 1_000;

describe.skipIf(!available)("the web interface in a browser", () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let readOnlyToken: string;
  /** Requests to anywhere but the server, console errors, page errors, CSP violations. */
  const problems: string[] = [];

  async function gql(query: string, variables?: Record<string, unknown>) {
    const body = await server.gql(query, variables);
    expect(body.errors, query).toBeUndefined();
    return body.data;
  }

  async function newContext(): Promise<BrowserContext> {
    const host = new URL(server.url).host;
    const created = await browser.newContext({
      serviceWorkers: "block",
      viewport: { width: 1280, height: 860 },
    });
    await created.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.host === host || url.protocol === "blob:") return route.continue();
      problems.push(`request elsewhere: ${url.href}`);
      return route.abort("internetdisconnected");
    });
    return created;
  }

  async function open(target: string, using = context): Promise<Page> {
    const page = await using.newPage();
    page.on("console", (message) => {
      if (message.type() === "error" || /Content Security Policy/i.test(message.text()))
        problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`${server.url}${target}`, { timeout: WAIT_MS });
    return page;
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startTestServer("sqlite");
    // 1,000 models, 30 to a request (the alias limit), plus one with versions to look at.
    const started = Date.now();
    for (let first = 0; first < BULK; first += 30) {
      const fields = [];
      for (let i = first; i < Math.min(first + 30, BULK); i++)
        fields.push(
          `m${i}: createRegisteredModel(input: { name: "bulk-${String(i).padStart(4, "0")}" }) { __typename }`,
        );
      await gql(`mutation { ${fields.join("\n")} }`);
    }
    console.log(`seeded ${BULK} models in ${Date.now() - started} ms`);
    await gql(`mutation {
      createRegisteredModel(input: { name: "${MODEL}", description: "Scores card payments for fraud.",
        tags: [{ key: "team", value: "payments" }] }) { __typename } }`);
    for (const [auc, lr] of [
      [0.81, 0.1],
      [0.87, 0.05],
    ] as const)
      await gql(
        `mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { __typename } }`,
        {
          input: {
            name: MODEL,
            source: `s3://runs/${lr}`,
            runId: `run-${lr}`,
            metrics: [
              { key: "auc", value: auc },
              { key: "latency_ms", value: 12 + auc },
            ],
            params: { learning_rate: lr, model: { depth: 6 } },
          },
        },
      );
    await gql(`mutation {
      a: transitionModelVersionStage(input: { name: "${MODEL}", version: 1, stage: PRODUCTION }) { __typename }
      b: transitionModelVersionStage(input: { name: "${MODEL}", version: 2, stage: STAGING }) { __typename }
      c: setRegisteredModelAlias(input: { name: "${MODEL}", version: 1, alias: "champion" }) { __typename }
      d: createModelVersion(input: { name: "${MODEL}", source: "s3://runs/next", pendingArtifacts: true }) { __typename }
    }`);
    for (const [version, features] of [
      [1, 30],
      [2, 32],
    ] as const)
      await gql(
        `mutation($input: SetModelVersionSignatureInput!) { setModelVersionSignature(input: $input) { __typename } }`,
        {
          input: {
            name: MODEL,
            version,
            signature: {
              inputs: [
                { name: "features", dtype: "float32", shape: [{ symbol: "batch" }, { size: features }] },
              ],
              outputs: [{ name: "fraud_probability", dtype: "float32", shape: [{ symbol: "batch" }] }],
            },
          },
        },
      );
    // A service account whose token may only read.
    const account =
      await gql(`mutation { createServiceAccount(input: { displayName: "dashboard-bot", role: MEMBER }) {
      ... on PrincipalPayload { principal { id } } } }`);
    const token = await gql(
      `mutation($id: ID!) { createApiToken(input: { principalId: $id, name: "read-only", scopes: [READ] }) {
        ... on CreateApiTokenPayload { secret } } }`,
      { id: account.createServiceAccount.principal.id },
    );
    readOnlyToken = token.createApiToken.secret;
    browser = await launchChromium(WAIT_MS);
    context = await newContext();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("lists 1,001 models a page at a time, searches them and opens one", async () => {
    const page = await open("/");
    await page.getByRole("link", { name: "bulk-0000" }).waitFor({ timeout: WAIT_MS });
    await expect.poll(() => page.locator("table.models tbody tr").count()).toBe(50);
    await page.getByText("Models 1–50 of 1,001").waitFor();
    const interactive = await page.evaluate(
      () => performance.getEntriesByName("registro:models-interactive")[0]?.startTime,
    );
    expect(interactive).toBeGreaterThan(0);
    console.log(`models page of ${BULK + 1} models interactive after ${Math.round(interactive!)} ms`);
    // GraphiQL and the docs stay one click away.
    expect(await page.getByRole("link", { name: "GraphiQL" }).getAttribute("href")).toBe("/graphql");
    expect(await page.getByRole("link", { name: "Docs" }).getAttribute("href")).toBe("/docs");
    await page.getByRole("button", { name: "Next →" }).click();
    await page.getByText("Models 51–100 of 1,001").waitFor({ timeout: WAIT_MS });
    // Sorted by last change, newest first: the model with versions comes first.
    await page.getByRole("button", { name: /^Last change/ }).click();
    await page.getByRole("button", { name: /^Last change/ }).click();
    await expect
      .poll(() => page.locator("table.models tbody tr th").first().innerText(), { timeout: WAIT_MS })
      .toBe(MODEL);
    expect(await page.locator('th[aria-sort="descending"]').innerText()).toMatch(/^Last change/);
    await page.screenshot({ path: path.join(SHOTS, "models.png") });
    await page.getByLabel("Search").fill("fraud");
    await expect.poll(() => page.locator("table.models tbody tr").count(), { timeout: WAIT_MS }).toBe(1);
    expect(page.url()).toContain("q=fraud");
    const row = page.locator("table.models tbody tr").first();
    expect(await row.innerText()).toMatch(
      /fraud-detector\s+v3\s+local-admin\s+Staging\s*Production\s+@champion → v1/,
    );
    await row.getByRole("link", { name: MODEL }).click();
    await page.getByRole("heading", { name: MODEL, level: 1 }).waitFor({ timeout: WAIT_MS });
    await expect.poll(() => page.locator("table.versions tbody tr").count()).toBe(3);
    expect(await page.locator("table.versions thead").innerText()).toMatch(/auc\s+latency_ms/);
    await page.locator("canvas[role=img]").waitFor({ timeout: WAIT_MS }); // Chart.js loads with the first chart
    await page.getByText("Registered model created").first().waitFor();
    await page.getByRole("heading", { name: "Permissions" }).waitFor();
    await shot(page, "model");
    await page.setViewportSize({ width: 820, height: 1100 }); // a tablet, upright
    await page.screenshot({ path: path.join(SHOTS, "model-tablet.png") });
    await page.close();
    expect(problems).toEqual([]);
  }, 60_000);

  it("promotes a version; a second page shows the toast and the new stage without reloading; as-of shows the past", async () => {
    // Each page holds two subscriptions (stages, aliases); the pages of the test before are gone.
    const hub = server.registro.liveEvents.hub;
    await expect.poll(() => hub.subscriberCount, { timeout: WAIT_MS }).toBe(0);
    const watcher = await open(`/models/${MODEL}`);
    await watcher.locator("table.versions tbody tr").first().waitFor({ timeout: WAIT_MS });
    await expect.poll(() => hub.subscriberCount, { timeout: WAIT_MS }).toBeGreaterThanOrEqual(2);
    const page = await open(`/models/${MODEL}/versions/2`);
    await page.getByRole("heading", { name: "Actions" }).waitFor({ timeout: WAIT_MS });
    await expect.poll(() => hub.subscriberCount, { timeout: WAIT_MS }).toBeGreaterThanOrEqual(4);
    const before = new Date();
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // as-of has a one-second picker
    await page.getByLabel("Move to stage").selectOption("PRODUCTION");
    await page.getByLabel("Comment", { exact: true }).fill("beats v1 on auc");
    await page.getByRole("button", { name: "Transition" }).click();
    const toast = "fraud-detector v2: Staging → Production (by local-admin)";
    await watcher.locator(".toast", { hasText: toast }).waitFor({ timeout: WAIT_MS });
    const v2 = watcher.locator('table.versions tr[data-version="2"]');
    await expect.poll(() => v2.innerText(), { timeout: WAIT_MS }).toContain("Production");
    // v1 was archived by the same transition, and the cache knows it from the event's payload.
    await expect
      .poll(() => watcher.locator('table.versions tr[data-version="1"]').innerText())
      .toContain("Archived");
    // An alias set on the version page appears on the watcher's, with its own notice.
    await page.getByLabel("Point an alias here").fill("challenger");
    await page.getByRole("button", { name: "Set alias" }).click();
    await watcher
      .locator(".toast", { hasText: "fraud-detector @challenger set on v2 (by local-admin)" })
      .waitFor({
        timeout: WAIT_MS,
      });
    await expect.poll(() => v2.innerText(), { timeout: WAIT_MS }).toContain("@challenger");
    await page.getByRole("button", { name: "Remove alias challenger" }).click();
    await watcher.locator(".toast", { hasText: "fraud-detector @challenger removed from v2" }).waitFor({
      timeout: WAIT_MS,
    });
    await expect.poll(() => v2.innerText(), { timeout: WAIT_MS }).not.toContain("@challenger");
    // What the payload does not carry (the history) is fetched again by the page that shows the model.
    await watcher.getByText("Model version stage transitioned").nth(2).waitFor({ timeout: WAIT_MS });
    await shot(watcher, "live-toast");
    await page.getByRole("heading", { name: "Artifacts (0)" }).waitFor();
    expect(await page.locator("#usage-heading").locator("..").innerText()).toMatch(/Downloads\s+0 \(0 B\)/);
    await shot(page, "version");

    // The model before the promotion, through the date picker.
    const local = await watcher.evaluate((iso) => {
      const d = new Date(iso);
      return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
    }, before.toISOString());
    await watcher.getByLabel("As of", { exact: true }).fill(local);
    await watcher.getByRole("button", { name: "Show as of then" }).click();
    await watcher.getByRole("heading", { name: /^As of/ }).waitFor({ timeout: WAIT_MS });
    const thenV2 = watcher.locator('.as-of-view tr[data-version="2"]');
    expect(await thenV2.innerText()).toContain("Staging");
    expect(await watcher.locator('.as-of-view tr[data-version="1"]').innerText()).toMatch(
      /Production\s+@champion/,
    );
    expect(watcher.url()).toContain("asOf=");
    await shot(watcher, "as-of");
    await watcher.getByRole("button", { name: "Back to now" }).click();
    await watcher.locator('table.versions tr[data-version="2"]').waitFor();

    // Compare v1 and v2.
    await watcher.getByLabel("Select version 1 to compare").check();
    await watcher.getByLabel("Select version 2 to compare").check();
    await watcher.getByRole("button", { name: "Compare selected (2)" }).click();
    await watcher.getByRole("heading", { name: `Compare ${MODEL} v1, v2` }).waitFor({ timeout: WAIT_MS });
    const auc = watcher.locator("table.compare tr", { hasText: "metric: auc" });
    expect(await auc.innerText()).toMatch(/0\.81\s+0\.87/);
    expect(await auc.getAttribute("class")).toBe("differs");
    expect(
      await watcher.locator("table.compare tr", { hasText: "param: model.depth" }).getAttribute("class"),
    ).toBeNull();
    await shot(watcher, "compare");
    await watcher.close();
    await page.close();
    expect(problems).toEqual([]);
  }, 60_000);

  it("edits the description and the tags; the history gains the events", async () => {
    const page = await open(`/models/${MODEL}`);
    await page.getByRole("button", { name: "Edit description" }).click({ timeout: WAIT_MS });
    await page
      .getByRole("textbox", { name: "Description" })
      .fill("Scores card payments for fraud, in real time.");
    await page.getByRole("button", { name: "Save description" }).click();
    await page.getByText("Scores card payments for fraud, in real time.").waitFor({ timeout: WAIT_MS });
    await page.getByLabel("Tag key").fill("owner");
    await page.getByLabel("Tag value").fill("risk-team");
    await page.getByRole("button", { name: "Set tag" }).click();
    await page.getByRole("list", { name: "Tags" }).getByText("owner=risk-team").waitFor({ timeout: WAIT_MS });
    await page.getByRole("button", { name: "Remove tag team" }).click();
    await expect
      .poll(() => page.getByRole("list", { name: "Tags" }).innerText(), { timeout: WAIT_MS })
      .not.toContain("team=payments");
    for (const event of [
      "Registered model description updated",
      "Registered model tag set",
      "Registered model tag deleted",
    ])
      await page.locator(".timeline").getByText(event).first().waitFor({ timeout: WAIT_MS });
    const model = await gql(`{ registeredModel(name: "${MODEL}") { description tags { key value } } }`);
    expect(model.registeredModel).toEqual({
      description: "Scores card payments for fraud, in real time.",
      tags: [{ key: "owner", value: "risk-team" }],
    });
    await page.close();
    expect(problems).toEqual([]);
  }, 60_000);

  it("finds deleted models only when asked to", async () => {
    await gql(`mutation { deleteRegisteredModel(input: { name: "bulk-0999" }) { __typename } }`);
    const page = await open("/?q=bulk-0999");
    await page.getByText("No models match.").waitFor({ timeout: WAIT_MS });
    await page.getByLabel("Include deleted").check();
    const row = page.locator("table.models tbody tr");
    await expect.poll(() => row.count(), { timeout: WAIT_MS }).toBe(1);
    expect(await row.innerText()).toMatch(/^bulk-0999\s*deleted/);
    expect(page.url()).toContain("deleted=1");
    await page.close();
    expect(problems).toEqual([]);
  }, 60_000);

  it("asks for a review of a protected stage and approves it", async () => {
    const viewer = await gql("{ viewer { id } }");
    await gql(
      `mutation($id: ID!) { setModelReviewPolicy(input: { name: "${MODEL}", rules: [{ stage: STAGING,
        requiredApprovals: 1, allowSelfApproval: true, reviewers: [{ principalId: $id }] }] }) { __typename } }`,
      { id: viewer.viewer.id },
    );
    const page = await open(`/models/${MODEL}/versions/1`);
    await page.getByLabel("Move to stage").selectOption("STAGING");
    await page.getByRole("button", { name: "Transition" }).click();
    await page.getByText(/^Approval Required:/).waitFor({ timeout: WAIT_MS });
    await page.getByLabel("Why").fill("v1 is the safer fallback");
    await page.getByRole("button", { name: "Request review" }).click();
    const request = page.locator(".review", { hasText: "v1 is the safer fallback" });
    await request.getByText("open").waitFor({ timeout: WAIT_MS });
    await shot(page, "review");
    await request.getByRole("button", { name: "Approve" }).click();
    await request.getByText("applied").waitFor({ timeout: WAIT_MS });
    await page.locator(".title-row", { hasText: "Staging" }).waitFor({ timeout: WAIT_MS });
    await page.close();
    expect(problems).toEqual([]);
  }, 60_000);

  it("uploads files to a pending version with a progress bar, then finalizes it", async () => {
    const page = await open(`/models/${MODEL}/versions/3`);
    await page.getByRole("heading", { name: "Upload files" }).waitFor({ timeout: WAIT_MS });
    // Every value the progress bar takes, as it happens.
    await page.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { progressSeen: number[] }).progressSeen = seen;
      new MutationObserver(() => {
        const bar = document.querySelector("progress");
        if (bar && seen[seen.length - 1] !== bar.value) seen.push(bar.value);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    // On loopback a file is sent before the first progress event: limit the upload to 4 MiB/s.
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 4 * 1024 * 1024,
    });
    const size = 4 * 1024 * 1024;
    await page.getByLabel(/^Files/).setInputFiles({
      name: "model.onnx",
      mimeType: "application/octet-stream",
      buffer: Buffer.alloc(size, 7),
    });
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.locator('[data-state="done"]').waitFor({ timeout: WAIT_MS });
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);
    expect(seen[seen.length - 1]).toBe(size);
    // It moved through values between empty and full, never backwards.
    expect(
      seen.some((value) => value > 0 && value < size),
      `progress values: ${seen.join(", ")}`,
    ).toBe(true);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    await page.getByRole("link", { name: "model.onnx" }).waitFor({ timeout: WAIT_MS });
    expect(await page.getByRole("link", { name: "model.onnx" }).getAttribute("href")).toBe(
      `/artifacts/${MODEL}/3/model.onnx`,
    );
    expect(await page.locator("#artifacts-heading").innerText()).toBe("Artifacts (1)");
    await shot(page, "upload");
    await page.getByRole("button", { name: "Finalize version" }).click();
    await page.locator(".title-row", { hasText: "ready" }).waitFor({ timeout: WAIT_MS });
    await page.close();
    expect(problems).toEqual([]);
  }, 60_000);

  it("shows a read-only token no action buttons", async () => {
    const readOnly = await newContext();
    const page = await open("/", readOnly);
    await page.getByRole("button", { name: "Sign in with a token" }).click();
    await page.getByLabel("API token").fill(readOnlyToken);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByTestId("viewer").getByText("dashboard-bot").waitFor({ timeout: WAIT_MS });
    await page.goto(`${server.url}/models/${MODEL}`);
    await page.locator("table.versions tbody tr").first().waitFor({ timeout: WAIT_MS });
    expect(await page.getByTestId("my-permission").innerText()).toBe("read");
    for (const name of ["Edit description", "Set tag"])
      expect(await page.getByRole("button", { name }).count(), name).toBe(0);
    expect(await page.getByRole("heading", { name: "Permissions" }).count()).toBe(0);
    await page.goto(`${server.url}/models/${MODEL}/versions/2`);
    await page.getByRole("heading", { name: "Lineage" }).waitFor({ timeout: WAIT_MS });
    for (const name of ["Transition", "Set alias", "Comment"])
      expect(await page.getByRole("button", { name }).count(), name).toBe(0);
    expect(await page.getByRole("heading", { name: "Actions" }).count()).toBe(0);
    await readOnly.close();
    expect(problems).toEqual([]);
  }, 60_000);
});
