// An issuer whose keys cannot be fetched (its JWKS URL refuses connections) makes SSO tokens
// uncheckable: the request is refused as unauthenticated, saying why, never answered with a 500.
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

describe("SSO with unreachable keys", () => {
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
