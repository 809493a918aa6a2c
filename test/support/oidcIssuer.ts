// An SSO issuer for tests: RSA and EC signing keys, a stranger's key that the issuer does not
// publish, and a JWKS served on 127.0.0.1; plus a signer for access tokens with claims that tests
// override one at a time, and the registry's OIDC settings pointing at it.
//
// For the web interface's sign-in it is also a small authorization server at its own URL
// (`issuer.url`): a discovery document, an `/authorize` that signs `sam` in at once and sends the
// browser back with a code, and a `/token` that exchanges the code only with the PKCE verifier
// matching the S256 challenge, answering a JWT access token for AUDIENCE (issued by `issuer.url`)
// and an ID token carrying the nonce. Discovery and token answer CORS, as browsers need.
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import type { JWK } from "jose";
import type { OidcConfig } from "../../src/access/sso.ts";

export const ISSUER = "https://id.registro.test";
export const AUDIENCE = "registro";
export const NOW_S = () => Math.floor(Date.now() / 1000);

type Keys = Awaited<ReturnType<typeof generateKeyPair>>;

export interface Issuer {
  readonly rsa: Keys;
  readonly ec: Keys;
  /** Keys the issuer does not publish: what it signs has a bad signature. */
  readonly stranger: Keys;
  readonly jwks: { keys: JWK[] };
  readonly jwksUrl: string;
  /** The issuer as an authorization server (`iss` of the tokens its `/token` issues). */
  readonly url: string;
  /** How the next `/authorize` answers: normally (a code), with a forged state, or with an error. */
  nextAuthorization: "code" | "forged-state" | "access_denied";
  /** `/token` requests answered, and why refused ones were refused. */
  readonly tokenRequests: string[];
  close(): Promise<void>;
}

interface Grant {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly nonce: string | null;
}

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST",
  "access-control-allow-headers": "content-type, accept",
};

function answerJson(res: http.ServerResponse, status: number, body: unknown, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}

async function formOf(req: http.IncomingMessage): Promise<URLSearchParams> {
  let text = "";
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 10_000) throw new Error("form too large");
  }
  return new URLSearchParams(text);
}

export async function startIssuer(): Promise<Issuer> {
  const rsa = await generateKeyPair("RS256");
  const ec = await generateKeyPair("ES256");
  const stranger = await generateKeyPair("RS256");
  const jwks = {
    keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
    ],
  };
  const grants = new Map<string, Grant>();
  const tokenRequests: string[] = [];
  let url = "";

  const authorize = (res: http.ServerResponse, query: URLSearchParams) => {
    const [clientId, redirectUri, state, challenge] = [
      query.get("client_id"),
      query.get("redirect_uri"),
      query.get("state"),
      query.get("code_challenge"),
    ];
    if (
      query.get("response_type") !== "code" ||
      query.get("code_challenge_method") !== "S256" ||
      !clientId ||
      !redirectUri ||
      !state ||
      !challenge
    )
      return answerJson(res, 400, { error: "invalid_request" });
    const back = new URL(redirectUri);
    const how = issuer.nextAuthorization;
    issuer.nextAuthorization = "code";
    if (how === "access_denied") {
      back.searchParams.set("error", "access_denied");
      back.searchParams.set("error_description", "the user said no");
    } else {
      const code = randomBytes(16).toString("hex");
      grants.set(code, { clientId, redirectUri, challenge, nonce: query.get("nonce") });
      back.searchParams.set("code", code);
    }
    back.searchParams.set("state", how === "forged-state" ? "forged" : state);
    res.writeHead(302, { location: back.href });
    res.end();
  };

  const token = async (res: http.ServerResponse, form: URLSearchParams) => {
    const refuse = (why: string) => {
      tokenRequests.push(`refused: ${why}`);
      answerJson(res, 400, { error: "invalid_grant", error_description: why }, CORS);
    };
    const code = form.get("code") ?? "";
    const grant = grants.get(code);
    grants.delete(code);
    if (form.get("grant_type") !== "authorization_code") return refuse("grant_type");
    if (grant === undefined) return refuse("unknown code");
    if (form.get("client_id") !== grant.clientId) return refuse("client_id");
    if (form.get("redirect_uri") !== grant.redirectUri) return refuse("redirect_uri");
    const verifier = form.get("code_verifier") ?? "";
    if (createHash("sha256").update(verifier).digest("base64url") !== grant.challenge)
      return refuse("code_verifier does not match the challenge");
    const sign = signer(issuer);
    tokenRequests.push("issued");
    answerJson(
      res,
      200,
      {
        access_token: await sign({ issuer: url }),
        token_type: "Bearer",
        expires_in: 600,
        id_token: await sign({
          issuer: url,
          audience: grant.clientId,
          ...(grant.nonce === null ? {} : { claims: { nonce: grant.nonce } }),
        }),
      },
      CORS,
    );
  };

  const server = http.createServer((req, res) => {
    const target = new URL(req.url ?? "/", url);
    if (req.method === "OPTIONS") {
      res.writeHead(204, CORS);
      return res.end();
    }
    if (target.pathname === "/.well-known/openid-configuration")
      return answerJson(
        res,
        200,
        {
          issuer: url,
          authorization_endpoint: `${url}/authorize`,
          token_endpoint: `${url}/token`,
          jwks_uri: `${url}/jwks.json`,
          response_types_supported: ["code"],
          code_challenge_methods_supported: ["S256"],
        },
        CORS,
      );
    if (target.pathname === "/authorize") return authorize(res, target.searchParams);
    if (target.pathname === "/token" && req.method === "POST")
      return void formOf(req)
        .then((form) => token(res, form))
        .catch(() => answerJson(res, 400, { error: "invalid_request" }, CORS));
    answerJson(res, 200, jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  const issuer: Issuer = {
    rsa,
    ec,
    stranger,
    jwks,
    jwksUrl: `${url}/jwks.json`,
    url,
    nextAuthorization: "code",
    tokenRequests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // A browser keeps its connections open; they would hold close() up.
        server.closeAllConnections();
      }),
  };
  return issuer;
}

export interface TokenOptions {
  readonly key?: Keys["privateKey"];
  readonly alg?: string;
  readonly kid?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Seconds since the epoch (default: ten minutes from now). */
  readonly expiresAt?: number;
  readonly claims?: Record<string, unknown>;
}

/** Signs access tokens for subject `sam` (Sam Sso, group `ml`) unless told otherwise. */
export function signer(issuer: Issuer) {
  return (options: TokenOptions = {}) =>
    new SignJWT({ email: "sam@example.com", name: "Sam Sso", groups: ["ml"], ...options.claims })
      .setProtectedHeader({ alg: options.alg ?? "RS256", kid: options.kid ?? "rsa-1" })
      .setSubject("sam")
      .setJti(`jti-${Math.random().toString(36).slice(2)}`)
      .setIssuer(options.issuer ?? ISSUER)
      .setAudience(options.audience ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(options.expiresAt ?? NOW_S() + 600)
      .sign(options.key ?? issuer.rsa.privateKey);
}

export const oidcConfig = (issuer: Issuer, overrides: Partial<OidcConfig> = {}): OidcConfig => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwksUrl: issuer.jwksUrl,
  clockSkewSeconds: 30,
  algorithms: ["RS256", "EdDSA"],
  groupsClaim: "groups",
  ...overrides,
});
