// Single sign-on in the browser: OAuth 2.0 authorization code flow with PKCE (S256) against the
// registry's OIDC issuer, as a public client (no secret). The server only names the issuer, the
// client id and the scopes (a `<meta name="registro-sso">` in the page); the browser reads the
// issuer's discovery document, sends the user to its authorization endpoint, and on the way back
// (SSO_CALLBACK_PATH) checks `state` and exchanges the code, with the PKCE verifier, for an access
// token. That token is then used exactly like a pasted one.
//
// What a sign-in in flight needs to remember (verifier, state, nonce, token endpoint, where to go
// back to) is kept in sessionStorage: it belongs to this tab, and it is read once and forgotten.

export const SSO_CALLBACK_PATH = "/models/sso/callback";
const PENDING_KEY = "registro.sso.pending";
/** A sign-in not finished within this is not accepted (the user would have to start again anyway). */
const PENDING_MAX_AGE_MS = 10 * 60_000;

export interface SsoSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: string;
}

/** A sign-in that did not succeed, with a message for the sign-in screen. */
export class SsoError extends Error {
  override readonly name = "SsoError";
}

const isText = (value: unknown): value is string => typeof value === "string" && value !== "";

const httpsOrLoopback = (value: unknown): value is string => {
  if (!isText(value)) return false;
  try {
    const url = new URL(value);
    return (
      url.protocol === "https:" ||
      (url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname))
    );
  } catch {
    return false;
  }
};

/** The page's SSO settings, or null when the registry offers no SSO sign-in (or they are unreadable). */
export function ssoSettings(doc: Document = document): SsoSettings | null {
  const content = doc.querySelector<HTMLMetaElement>('meta[name="registro-sso"]')?.content;
  if (!content) return null;
  try {
    const parsed = JSON.parse(content) as Record<string, unknown>;
    const { issuer, clientId, scopes } = parsed;
    return httpsOrLoopback(issuer) && isText(clientId) && isText(scopes)
      ? { issuer, clientId, scopes }
      : null;
  } catch {
    return null;
  }
}

// PKCE (RFC 7636) and the random values of a sign-in.

export function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** 32 random bytes, base64url: 43 characters, the verifier length RFC 7636 recommends. */
export const randomToken = (): string => base64Url(crypto.getRandomValues(new Uint8Array(32)));

/** The S256 code challenge: base64url(SHA-256(verifier)). */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

interface Endpoints {
  readonly authorization: string;
  readonly token: string;
}

interface Pending {
  readonly state: string;
  readonly verifier: string;
  readonly nonce: string;
  readonly tokenEndpoint: string;
  readonly returnTo: string;
  readonly startedAt: number;
}

async function discover(issuer: string): Promise<Endpoints> {
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  let document: Record<string, unknown>;
  try {
    const response = await fetch(url, { headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    document = (await response.json()) as Record<string, unknown>;
  } catch (error) {
    throw new SsoError(
      `The identity provider could not be reached (${url}: ${(error as Error).message}). Try again, or sign in with a token.`,
    );
  }
  // The discovery document must be the configured issuer's own (OpenID Connect Discovery 4.3).
  if (document.issuer !== issuer)
    throw new SsoError(
      `The identity provider's discovery document names another issuer (${String(document.issuer)}).`,
    );
  const { authorization_endpoint: authorization, token_endpoint: token } = document;
  if (!httpsOrLoopback(authorization) || !httpsOrLoopback(token))
    throw new SsoError(
      "The identity provider's discovery document lacks https authorization and token endpoints.",
    );
  return { authorization, token };
}

const redirectUri = () => `${location.origin}${SSO_CALLBACK_PATH}`;

/** Starts a sign-in: remembers its secrets in this tab and sends the browser to the issuer. */
export async function beginSsoSignIn(settings: SsoSettings, returnTo: string): Promise<void> {
  const endpoints = await discover(settings.issuer);
  const pending: Pending = {
    state: randomToken(),
    verifier: randomToken(),
    nonce: randomToken(),
    tokenEndpoint: endpoints.token,
    returnTo: returnTo.startsWith("/") && !returnTo.startsWith("//") ? returnTo : "/",
    startedAt: Date.now(),
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const target = new URL(endpoints.authorization);
  for (const [key, value] of Object.entries({
    response_type: "code",
    client_id: settings.clientId,
    redirect_uri: redirectUri(),
    scope: settings.scopes,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await codeChallenge(pending.verifier),
    code_challenge_method: "S256",
  }))
    target.searchParams.set(key, value);
  location.assign(target.href);
}

/** This tab's sign-in in progress, left in place: an answer that is not its own must not end it. */
function readPending(): Pending | null {
  const stored = sessionStorage.getItem(PENDING_KEY);
  if (stored === null) return null;
  try {
    const pending = JSON.parse(stored) as Partial<Pending>;
    return isText(pending.state) &&
      isText(pending.verifier) &&
      isText(pending.nonce) &&
      isText(pending.tokenEndpoint) &&
      isText(pending.returnTo) &&
      typeof pending.startedAt === "number"
      ? (pending as Pending)
      : null;
  } catch {
    return null;
  }
}

/** The `nonce` of an ID token (received straight from the token endpoint over TLS), or null. */
function nonceOf(idToken: string): string | null {
  const payload = idToken.split(".")[1];
  if (payload === undefined) return null;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as { nonce?: unknown };
    return typeof claims.nonce === "string" ? claims.nonce : null;
  } catch {
    return null;
  }
}

export interface SsoSignedIn {
  readonly accessToken: string;
  /** The page the sign-in started from. */
  readonly returnTo: string;
}

/**
 * Finishes a sign-in on the callback route: the issuer's answer (`code` and `state`, or `error`)
 * is checked against what this tab remembered, and the code exchanged for an access token.
 */
export async function completeSsoSignIn(settings: SsoSettings, search: string): Promise<SsoSignedIn> {
  const answer = new URLSearchParams(search);
  // The state first, even for an error: anyone can link to the callback with an `error_description`
  // of their choosing, which would otherwise show as the registry's own notice (and end this tab's
  // sign-in in progress).
  const pending = readPending();
  const state = answer.get("state");
  if (pending === null || state === null || state !== pending.state)
    throw new SsoError(
      "This sign-in answer does not belong to a sign-in started in this tab (state mismatch). Start again.",
    );
  // This tab's answer: its secrets are used once, whatever it says.
  sessionStorage.removeItem(PENDING_KEY);
  const error = answer.get("error");
  if (error !== null) {
    const description = answer.get("error_description");
    throw new SsoError(
      `The identity provider refused the sign-in: ${error.slice(0, 100)}${description ? ` (${description.slice(0, 300)})` : ""}.`,
    );
  }
  if (Date.now() - pending.startedAt > PENDING_MAX_AGE_MS)
    throw new SsoError("The sign-in took too long. Start again.");
  const code = answer.get("code");
  if (code === null || code === "") throw new SsoError("The identity provider answered without a code.");
  let body: Record<string, unknown>;
  let status: number;
  try {
    const response = await fetch(pending.tokenEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri(),
        client_id: settings.clientId,
        code_verifier: pending.verifier,
      }),
    });
    status = response.status;
    body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  } catch (cause) {
    throw new SsoError(
      `The identity provider's token endpoint could not be reached (${(cause as Error).message}).`,
    );
  }
  if (status !== 200 || !isText(body.access_token))
    throw new SsoError(
      `The identity provider did not issue a token: ${isText(body.error) ? body.error.slice(0, 100) : `HTTP ${status}`}.`,
    );
  if (isText(body.id_token) && nonceOf(body.id_token) !== pending.nonce)
    throw new SsoError("The identity provider's ID token does not carry this sign-in's nonce. Start again.");
  // Only a page of this origin (history.replaceState refuses any other, and should never be asked).
  const back = new URL(pending.returnTo, location.origin);
  const returnTo = back.origin === location.origin ? `${back.pathname}${back.search}` : "/";
  return { accessToken: body.access_token, returnTo };
}
