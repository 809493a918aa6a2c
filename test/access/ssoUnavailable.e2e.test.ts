// An issuer whose keys cannot be fetched (its JWKS URL refuses connections) makes SSO tokens
// uncheckable: the request is refused as unauthenticated, saying why, never answered with a 500.
import http from "node:http";
import net from "node:net";
import { SignJWT, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { createAuthenticator } from "../../src/access/authenticate.ts";
import { createSsoVerifier } from "../../src/access/sso.ts";
import { InMemoryPrincipalDirectory } from "../support/principalDirectory.ts";

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A JWKS endpoint that answers `body`, or holds every request open when `body` is null. */
async function jwksServer(body: string | null): Promise<{ url: string; close: () => Promise<void> }> {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((_req, res) => {
    if (body === null) held.push(res);
    else res.writeHead(200, { "content-type": "application/json" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks`,
    close: () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function signedToken(): Promise<string> {
  const { privateKey } = await generateKeyPair("ES256");
  return new SignJWT({ sub: "ada" })
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer("https://id.example")
    .setAudience("registro")
    .setExpirationTime("5m")
    .sign(privateKey);
}

const authenticatorFor = (jwksUrl: string) =>
  createAuthenticator({
    mode: "required",
    directory: new InMemoryPrincipalDirectory(),
    sso: createSsoVerifier({
      issuer: "https://id.example",
      audience: "registro",
      jwksUrl,
      clockSkewSeconds: 30,
      algorithms: ["ES256"],
      groupsClaim: "groups",
    }),
    clock: () => new Date(),
  });

describe("SSO with unreachable keys", () => {
  it.each([
    ["answers something that is no key set", '{"keys":"none"}'],
    ["does not answer in time", null],
  ])("refuses a token whose issuer %s as uncheckable, not as a wrong guess", async (_, body) => {
    const jwks = await jwksServer(body);
    try {
      const result = await authenticatorFor(jwks.url).authenticate(
        new Headers({ authorization: `Bearer ${await signedToken()}` }),
      );
      expect(result).toMatchObject({ ok: false, reason: "invalid", notAGuess: true });
      expect((result as { message: string }).message).toMatch(/signing keys could not be fetched/);
    } finally {
      await jwks.close();
    }
  });

  it("refuses the token as invalid, naming the cause", async () => {
    const port = await closedPort();
    const authenticator = createAuthenticator({
      mode: "required",
      directory: new InMemoryPrincipalDirectory(),
      sso: createSsoVerifier({
        issuer: "https://id.example",
        audience: "registro",
        jwksUrl: `http://127.0.0.1:${port}/jwks`,
        clockSkewSeconds: 30,
        algorithms: ["ES256"],
        groupsClaim: "groups",
      }),
      clock: () => new Date(),
    });
    const { privateKey } = await generateKeyPair("ES256");
    const token = await new SignJWT({ sub: "ada" })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer("https://id.example")
      .setAudience("registro")
      .setExpirationTime("5m")
      .sign(privateKey);
    const result = await authenticator.authenticate(new Headers({ authorization: `Bearer ${token}` }));
    expect(result).toMatchObject({ ok: false, reason: "invalid" });
    expect((result as { message: string }).message).toMatch(/signing keys could not be fetched/);
  });
});
