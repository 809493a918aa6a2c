// An SSO issuer for tests: RSA and EC signing keys, a stranger's key that the issuer does not
// publish, and a JWKS served on 127.0.0.1; plus a signer for access tokens with claims that tests
// override one at a time, and the registry's OIDC settings pointing at it.
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
  close(): Promise<void>;
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
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    rsa,
    ec,
    stranger,
    jwks,
    jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
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
