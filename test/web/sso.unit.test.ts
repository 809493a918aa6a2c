// The web interface's SSO pieces that need no browser: the PKCE helpers (checked against Node's
// own SHA-256), the page's meta tag (HTML-escaped, read back to the same settings) and its CSP,
// which adds the issuer's origin to connect-src and nothing else.
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SSO_CALLBACK_PATH, WEB_CSP, ssoMetaTag, webCsp } from "../../src/web/webInterface.ts";
import {
  SSO_CALLBACK_PATH as PAGE_CALLBACK_PATH,
  base64Url,
  codeChallenge,
  completeSsoSignIn,
  randomToken,
} from "../../web/src/sso.ts";

describe("single sign-on in the web interface", () => {
  it("makes 43-character base64url verifiers, states and nonces, never the same twice", () => {
    const made = Array.from({ length: 50 }, randomToken);
    for (const token of made) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(made).size).toBe(50);
    expect(base64Url(new Uint8Array([0xfb, 0xff, 0xfe]))).toBe("-__-");
  });

  it("derives the S256 challenge: base64url(SHA-256(verifier)), unpadded", async () => {
    for (const verifier of [randomToken(), randomToken(), "a".repeat(128)])
      expect(await codeChallenge(verifier)).toBe(createHash("sha256").update(verifier).digest("base64url"));
  });

  it("names the issuer, client id and scopes in an escaped meta tag", () => {
    const settings = { issuer: "https://id.example.com/realms/ml", clientId: `a"<b>&'c`, scopes: "openid" };
    const tag = ssoMetaTag(settings);
    expect(tag).not.toMatch(/<b>|"<|'c/);
    const content = /content="([^"]*)"/.exec(tag)?.[1] ?? "";
    const unescaped = content
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&");
    expect(JSON.parse(unescaped)).toEqual(settings);
  });

  it("returns to a path the server answers with the page (the redirect URI the docs name)", () => {
    expect(PAGE_CALLBACK_PATH).toBe(SSO_CALLBACK_PATH);
    expect(SSO_CALLBACK_PATH).toBe("/models/sso/callback");
  });

  it("lets the page connect to the issuer's origin, and loosens nothing else", () => {
    const csp = webCsp("https://id.example.com");
    expect(csp).toContain("connect-src 'self' https://id.example.com;");
    expect(csp.replace(" https://id.example.com", "")).toBe(WEB_CSP);
  });
});

describe("the SSO callback", () => {
  const SETTINGS = { issuer: "https://id.example.com", clientId: "registro-web", scopes: "openid" };
  const PENDING_KEY = "registro.sso.pending";
  const LURE = "Your session expired. Sign in again at https://evil.example";
  let storage: Map<string, string>;

  beforeEach(() => {
    storage = new Map();
    vi.stubGlobal("sessionStorage", {
      getItem: (key: string) => storage.get(key) ?? null,
      setItem: (key: string, value: string) => void storage.set(key, value),
      removeItem: (key: string) => void storage.delete(key),
    });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const pending = (state: string) =>
    JSON.stringify({
      state,
      verifier: randomToken(),
      nonce: randomToken(),
      tokenEndpoint: "https://id.example.com/token",
      returnTo: "/models",
      startedAt: Date.now(),
    });
  const callback = (params: Record<string, string>) => `?${new URLSearchParams(params).toString()}`;

  it("refuses an error answer no sign-in of this tab asked for, without showing its text", async () => {
    const answer = completeSsoSignIn(SETTINGS, callback({ error: "access_denied", error_description: LURE }));
    await expect(answer).rejects.toThrow(/state mismatch/);
    await expect(answer).rejects.not.toThrow(/evil\.example|access_denied/);
  });

  it("keeps the sign-in in progress when an answer with another state arrives", async () => {
    const inProgress = pending("this-tabs-state");
    storage.set(PENDING_KEY, inProgress);
    const forgeries: Record<string, string>[] = [
      { error: "access_denied", error_description: LURE, state: "guessed" },
      { error: "access_denied", error_description: LURE },
      { code: "stolen", state: "guessed" },
    ];
    for (const forged of forgeries) {
      const answer = completeSsoSignIn(SETTINGS, callback(forged));
      await expect(answer).rejects.toThrow(/state mismatch/);
      await expect(answer).rejects.not.toThrow(/evil\.example/);
      expect(storage.get(PENDING_KEY)).toBe(inProgress);
    }
  });

  it("shows the provider's refusal of this tab's own sign-in, and forgets that sign-in", async () => {
    storage.set(PENDING_KEY, pending("this-tabs-state"));
    await expect(
      completeSsoSignIn(
        SETTINGS,
        callback({ error: "access_denied", error_description: "the user said no", state: "this-tabs-state" }),
      ),
    ).rejects.toThrow("The identity provider refused the sign-in: access_denied (the user said no).");
    expect(storage.has(PENDING_KEY)).toBe(false);
  });
});
