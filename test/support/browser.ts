// Headless Chromium for the browser tests (Debian's, `apt-get install -y chromium`; CHROMIUM_PATH to
// use another). Without it a browser test is skipped with a warning, unless REQUIRE_BROWSER=1 (CI),
// where its absence is an error.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Whether Chromium is there; `what` names the test skipped without it. */
export function chromiumAvailable(what: string): boolean {
  const available = existsSync(CHROMIUM);
  if (!available && process.env.REQUIRE_BROWSER === "1")
    throw new Error(`REQUIRE_BROWSER=1 but Chromium is missing at ${CHROMIUM} (apt-get install -y chromium)`);
  if (!available) console.warn(`\n  ⚠ Chromium not found at ${CHROMIUM}: ${what} is SKIPPED\n`);
  return available;
}

export const launchChromium = (timeout: number): Promise<Browser> =>
  chromium.launch({ executablePath: CHROMIUM, args: ["--headless=new", "--no-sandbox"], timeout });
