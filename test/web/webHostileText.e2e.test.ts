// Text people typed, in headless Chromium against a real server: a model name may hold Unicode
// direction controls (U+202E RIGHT-TO-LEFT OVERRIDE is no control character to the input rules), and
// without isolation it reorders the registry's own words after it on the screen: the breadcrumb's
// "v1" read "1v", and a live notice of a promotion read backwards ("gnigatS → enoN"). Each name is
// checked where it sits beside the interface's own text, by where Chromium draws each character.
// Skipped like webInterface.e2e.test.ts without Chromium.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webInterface } from "../../src/web/webInterface.ts";
import { chromiumAvailable, launchChromium } from "../support/browser.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const available = chromiumAvailable("the hostile text test");
if (available && !webInterface().built())
  throw new Error("the web interface is not built: run `npm run web:build` (npm install does it)");

const WAIT_MS = 15_000;
/** Ends in an override it never closes: everything after it on the line would be drawn right to left. */
const MODEL = "fraud\u202E";

/**
 * Whether `text`, found in the text of the element `selector` matches, is drawn left to right: each
 * character's box starts right of the one before. Characters are measured one by one, across the
 * element's text nodes (React splits `v{n}` in two).
 */
function drawnInOrder(page: Page, selector: string, text: string): Promise<boolean> {
  return page.evaluate(
    ([selector, text]) => {
      const element = document.querySelector(selector);
      if (element === null) throw new Error(`nothing matches ${selector}`);
      const characters: { node: Text; offset: number }[] = [];
      const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node !== null; node = walker.nextNode())
        for (let offset = 0; offset < (node.textContent ?? "").length; offset++)
          characters.push({ node: node as Text, offset });
      const all = characters.map(({ node, offset }) => node.data[offset]).join("");
      const start = all.lastIndexOf(text);
      if (start < 0) throw new Error(`${JSON.stringify(all)} does not hold ${JSON.stringify(text)}`);
      const lefts = characters.slice(start, start + text.length).map(({ node, offset }) => {
        const range = document.createRange();
        range.setStart(node, offset);
        range.setEnd(node, offset + 1);
        return range.getBoundingClientRect().left;
      });
      return lefts.every((left, i) => i === 0 || left > lefts[i - 1]!);
    },
    [selector, text] as const,
  );
}

describe.skipIf(!available)("text people typed, in the web interface", () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer("sqlite");
    const created = await server.gql(
      `mutation($name: String!) {
        a: createRegisteredModel(input: { name: $name }) { __typename }
        b: createModelVersion(input: { name: $name, source: "s3://runs/1" }) { __typename }
      }`,
      { name: MODEL },
    );
    expect(created.errors).toBeUndefined();
    expect(created.data).toEqual({
      a: { __typename: "RegisteredModelPayload" },
      b: { __typename: "ModelVersionPayload" },
    });
    browser = await launchChromium(WAIT_MS);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("keeps a name's direction controls inside the name: the page's own words stay in order", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    try {
      await page.goto(`${server.url}/models/${encodeURIComponent(MODEL)}/versions/1`, { timeout: WAIT_MS });
      await page.locator(".crumbs [aria-current=page]").waitFor({ timeout: WAIT_MS });
      expect(await drawnInOrder(page, ".crumbs", "/ v1")).toBe(true);
      expect(await drawnInOrder(page, "h1", "v1")).toBe(true);

      // A promotion made elsewhere arrives as a live notice naming the model.
      const moved = await server.gql(
        `mutation($name: String!) {
          transitionModelVersionStage(input: { name: $name, version: 1, stage: STAGING }) { __typename }
        }`,
        { name: MODEL },
      );
      expect(moved.errors).toBeUndefined();
      await page.locator(".toast").waitFor({ timeout: WAIT_MS });
      expect(await drawnInOrder(page, ".toast span", "v1: None → Staging (by local-admin)")).toBe(true);
    } finally {
      await page.close();
    }
  });
});
