// The edge's rules without a server: which mode applies, how the Authorization header is read, how
// SSO claims map, and what each kind of credential becomes in each mode.
import { describe, expect, it } from "vitest";
import { createAuthenticator, parseAuthorization, wwwAuthenticate } from "../../src/access/authenticate.ts";
import type { Authenticator } from "../../src/access/authenticate.ts";
import { defaultAuthMode, isLoopbackHost, refuseAuthMode } from "../../src/access/authMode.ts";
import { actorFromColumns, actorOf } from "../../src/access/actor.ts";
import { claimsFrom } from "../../src/access/sso.ts";
import type { SsoVerifier } from "../../src/access/sso.ts";
import { loadConfig } from "../../src/config.ts";
import { InMemoryPrincipalDirectory, principal } from "../support/principalDirectory.ts";

const NOW = new Date("2026-06-01T00:00:00Z");
const headers = (authorization?: string) => ({
  get: (name: string) => (name === "authorization" ? (authorization ?? null) : null),
});

describe("auth mode", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["::1", true],
    ["[::1]", true],
    ["::ffff:127.0.0.1", true],
    ["localhost", true],
    ["LOCALHOST", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.5", false],
    ["128.0.0.1", false],
    ["registry.example.com", false],
    ["localhost.example.com", false],
  ])("%s is loopback: %s", (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
    expect(defaultAuthMode(host, undefined)).toBe(loopback ? "local" : "required");
  });

  it("AUTH wins over the default, but local mode is refused off loopback with how to configure auth", () => {
    expect(defaultAuthMode("127.0.0.1", "required")).toBe("required");
    expect(refuseAuthMode("127.0.0.1", "local")).toBeNull();
    expect(refuseAuthMode("0.0.0.0", "required")).toBeNull();
    const refusal = refuseAuthMode("0.0.0.0", "local");
    expect(refusal).toMatch(/AUTH=local.*0\.0\.0\.0/);
    expect(refusal).toMatch(/access:bootstrap/);
    expect(refusal).toMatch(/OIDC_ISSUER/);
  });

  it("config: AUTH and the OIDC_* settings", () => {
    expect(loadConfig({}).auth).toEqual({
      mode: "local",
      oidc: null,
      defaultModelPermission: "READ",
      credentialRecheckMs: 10_000,
    });
    expect(loadConfig({ DEFAULT_MODEL_PERMISSION: "NONE" }).auth.defaultModelPermission).toBeNull();
    expect(() => loadConfig({ DEFAULT_MODEL_PERMISSION: "OWNER" })).toThrow(/DEFAULT_MODEL_PERMISSION/);
    expect(loadConfig({ HOST: "0.0.0.0" }).auth.mode).toBe("required");
    expect(loadConfig({ HOST: "0.0.0.0", AUTH: "local" }).auth.mode).toBe("local");
    const oidc = loadConfig({
      OIDC_ISSUER: "https://id.example.com",
      OIDC_AUDIENCE: "registro",
      OIDC_JWKS_URL: "https://id.example.com/jwks",
    }).auth.oidc;
    expect(oidc).toEqual({
      issuer: "https://id.example.com",
      audience: "registro",
      jwksUrl: "https://id.example.com/jwks",
      jwksFile: undefined,
      clockSkewSeconds: 30,
      algorithms: ["RS256", "ES256", "EdDSA"],
      groupsClaim: "groups",
    });
    const base = { OIDC_ISSUER: "https://id", OIDC_AUDIENCE: "r", OIDC_JWKS_FILE: "/k.json" };
    expect(loadConfig({ ...base, OIDC_ALGORITHMS: " ES256 , RS256 " }).auth.oidc?.algorithms).toEqual([
      "ES256",
      "RS256",
    ]);
    expect(() => loadConfig({ ...base, OIDC_ALGORITHMS: "RS256,none" })).toThrow(/OIDC_ALGORITHMS/);
    expect(() => loadConfig({ ...base, OIDC_ALGORITHMS: "" })).toThrow(/OIDC_ALGORITHMS/);
    expect(() => loadConfig({ AUTH: "sometimes" })).toThrow(/AUTH/);
    expect(() => loadConfig({ OIDC_ISSUER: "https://id" })).toThrow(/OIDC_AUDIENCE/);
    expect(() => loadConfig({ ...base, OIDC_JWKS_URL: "https://id/jwks" })).toThrow(/exactly one/);
    expect(() => loadConfig({ ...base, OIDC_CLOCK_SKEW_SECONDS: "-1" })).toThrow(/OIDC_CLOCK_SKEW_SECONDS/);
  });

  it("config: the web interface's SSO client (OIDC_WEB_CLIENT_ID, OIDC_WEB_SCOPES)", () => {
    const base = {
      OIDC_ISSUER: "https://id.example.com/realms/ml",
      OIDC_AUDIENCE: "r",
      OIDC_JWKS_FILE: "/k.json",
    };
    expect(loadConfig(base).auth.oidc?.webClient).toBeUndefined();
    expect(loadConfig({ ...base, OIDC_WEB_CLIENT_ID: "registro-web" }).auth.oidc?.webClient).toEqual({
      clientId: "registro-web",
      scopes: "openid profile email",
    });
    expect(
      loadConfig({ ...base, OIDC_WEB_CLIENT_ID: "w", OIDC_WEB_SCOPES: "openid groups" }).auth.oidc?.webClient,
    ).toEqual({ clientId: "w", scopes: "openid groups" });
    // Plain http only on loopback (a test or a local identity provider).
    const loopback = { ...base, OIDC_ISSUER: "http://127.0.0.1:8080", OIDC_WEB_CLIENT_ID: "w" };
    expect(loadConfig(loopback).auth.oidc?.webClient?.clientId).toBe("w");
    for (const issuer of ["http://id.example.com", "id.example.com", "https://id.example.com/?x=1"])
      expect(() => loadConfig({ ...base, OIDC_ISSUER: issuer, OIDC_WEB_CLIENT_ID: "w" }), issuer).toThrow(
        /OIDC_ISSUER: must be an https URL/,
      );
    expect(() => loadConfig({ OIDC_WEB_CLIENT_ID: "w" })).toThrow(/OIDC_WEB_CLIENT_ID: needs OIDC/);
    for (const clientId of ["", "has space", "x".repeat(201)])
      expect(() => loadConfig({ ...base, OIDC_WEB_CLIENT_ID: clientId })).toThrow(/OIDC_WEB_CLIENT_ID/);
    for (const scopes of ["", "openid  profile", " openid", "openid\nprofile"])
      expect(() => loadConfig({ ...base, OIDC_WEB_CLIENT_ID: "w", OIDC_WEB_SCOPES: scopes })).toThrow(
        /OIDC_WEB_SCOPES/,
      );
  });
});

describe("the Authorization header", () => {
  it.each([
    [undefined, { kind: "none" }],
    ["", { kind: "none" }],
    ["Bearer rgo_abc", { kind: "bearer", token: "rgo_abc" }],
    ["bearer rgo_abc", { kind: "bearer", token: "rgo_abc" }],
    ["BEARER   a.b.c  ", { kind: "bearer", token: "a.b.c" }],
    // Basic (MLflow clients): the password is the token, the user name is ignored.
    ["Basic dXNlcjpwYXNz", { kind: "bearer", token: "pass" }],
    [`basic ${Buffer.from("anyone:rgo_abc").toString("base64")}`, { kind: "bearer", token: "rgo_abc" }],
    [`Basic ${Buffer.from(":rgo_a:b").toString("base64")}`, { kind: "bearer", token: "rgo_a:b" }],
    [`Basic ${Buffer.from("user-without-password").toString("base64")}`, { kind: "malformed" }],
    [`Basic ${Buffer.from("user:").toString("base64")}`, { kind: "malformed" }],
    [`Basic ${Buffer.from("user:two words").toString("base64")}`, { kind: "malformed" }],
    ["Basic !!!not-base64", { kind: "malformed" }],
    ["Basic", { kind: "malformed" }],
    ["Bearer", { kind: "malformed" }],
    ["Bearer two tokens", { kind: "malformed" }],
    ["rgo_abc", { kind: "malformed" }],
    ["Bearer rgo_\u00e9", { kind: "malformed" }],
  ])("%j", (value, expected) => {
    expect(parseAuthorization(value ?? null)).toEqual(expected);
  });

  it("answers at once for a run of padding that does not end the header", () => {
    // 256 KiB: about a minute with the /=+$/ this replaced (its time grew with the square of the run).
    expect(parseAuthorization(`Basic ${"=".repeat(256 * 1024)}x`)).toEqual({ kind: "malformed" });
    const padded = `${Buffer.from("user:rgo_abc").toString("base64")}${"=".repeat(256 * 1024)}`;
    expect(parseAuthorization(`Basic ${padded}`)).toEqual({ kind: "bearer", token: "rgo_abc" });
  });

  it("401s say Bearer, and invalid_token when credentials were sent", () => {
    expect(wwwAuthenticate("missing")).toBe('Bearer realm="registro"');
    expect(wwwAuthenticate("invalid")).toBe('Bearer realm="registro", error="invalid_token"');
  });
});

describe("SSO claim mapping", () => {
  it("maps sub, email, name and the configured groups claim", () => {
    expect(
      claimsFrom(
        { sub: "u-1", email: "ada@example.com", name: "Ada", roles: ["ml", "ops", "ml", 7], jti: "j-1" },
        "https://id",
        "roles",
      ),
    ).toEqual({
      issuer: "https://id",
      subject: "u-1",
      email: "ada@example.com",
      name: "Ada",
      groups: ["ml", "ops"],
      jti: "j-1",
    });
  });

  it("falls back to preferred_username, accepts one group as a string, and needs a subject", () => {
    expect(claimsFrom({ sub: "u-2", preferred_username: "bob", groups: "ml" }, "i", "groups")).toEqual({
      issuer: "i",
      subject: "u-2",
      email: null,
      name: "bob",
      groups: ["ml"],
      jti: null,
    });
    expect(claimsFrom({ email: "x@example.com" }, "i", "groups")).toBeNull();
    expect(claimsFrom({ sub: "" }, "i", "groups")).toBeNull();
  });
});

describe("the authenticator", () => {
  const alice = principal("alice");
  const directory = new InMemoryPrincipalDirectory();
  const alicesToken = directory.issueToken(alice, { tokenId: "tok-alice", scopes: ["read"] });
  const expired = directory.issueToken(alice, { expiresAt: new Date(NOW.getTime() - 1) });
  const revoked = directory.issueToken(alice);
  directory.revoke(revoked.secret);
  const sso: SsoVerifier = {
    verify: (token) =>
      Promise.resolve(
        token === "good.jwt.token"
          ? { issuer: "https://id", subject: "s-1", email: null, name: "Sam", groups: ["ml"], jti: "j-9" }
          : null,
      ),
  };
  const make = (mode: "local" | "required", withSso = true): Authenticator =>
    createAuthenticator({ mode, directory, sso: withSso ? sso : null, clock: () => NOW, osUserName: "ada" });

  it("local mode: no credentials act as the local administrator named after the OS user", async () => {
    const result = await make("local").authenticate(headers());
    expect(result).toEqual({
      ok: true,
      caller: {
        principal: expect.objectContaining({ displayName: "ada", role: "ADMIN" }),
        credential: { kind: "local" },
      },
    });
  });

  it("required mode: no credentials are refused as missing", async () => {
    expect(await make("required").authenticate(headers())).toMatchObject({ ok: false, reason: "missing" });
  });

  it.each(["local", "required"] as const)("%s mode: tokens and JWTs authenticate normally", async (mode) => {
    expect(await make(mode).authenticate(headers(`Bearer ${alicesToken.secret}`))).toEqual({
      ok: true,
      caller: { principal: alice, credential: { kind: "token", tokenId: "tok-alice", scopes: ["read"] } },
    });
    const viaSso = await make(mode).authenticate(headers("Bearer good.jwt.token"));
    expect(viaSso).toMatchObject({
      ok: true,
      caller: {
        principal: { displayName: "Sam", teamIds: ["team-ml"] },
        credential: { kind: "jwt", jti: "j-9", issuer: "https://id" },
      },
    });
  });

  it.each(["local", "required"] as const)(
    "%s mode: bad credentials are refused, never downgraded to the local administrator",
    async (mode) => {
      const auth = make(mode);
      for (const value of [
        "Bearer rgo_unknown",
        `Bearer ${expired.secret}`,
        `Bearer ${revoked.secret}`,
        "Bearer bad.jwt.token",
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
      ])
        expect(await auth.authenticate(headers(value)), value).toMatchObject({
          ok: false,
          reason: "invalid",
        });
      // Without an issuer configured, a JWT is not accepted either.
      expect(await make(mode, false).authenticate(headers("Bearer good.jwt.token"))).toMatchObject({
        ok: false,
        reason: "invalid",
      });
    },
  );
});

describe("the recorded actor", () => {
  it("records ids and the credential, never a secret, and reads back from its columns", () => {
    const actor = actorOf({
      principal: principal("ci", "SERVICE_ACCOUNT"),
      credential: { kind: "token", tokenId: "tok-1", scopes: ["write"] },
    });
    expect(actor).toEqual({
      id: "principal-ci",
      kind: "SERVICE_ACCOUNT",
      displayName: "ci",
      credential: { kind: "token", tokenId: "tok-1", scopes: ["write"] },
    });
    expect(
      actorFromColumns({
        actor: "ci",
        actorId: "principal-ci",
        actorKind: "SERVICE_ACCOUNT",
        actorCredential: actor.credential,
      }),
    ).toEqual(actor);
  });

  it("events from before authentication read back as ANONYMOUS with their stored name", () => {
    expect(
      actorFromColumns({ actor: "anonymous", actorId: null, actorKind: null, actorCredential: null }),
    ).toEqual({ id: null, kind: "ANONYMOUS", displayName: "anonymous", credential: null });
  });

  it("a stored credential that does not validate reads as none", () => {
    expect(
      actorFromColumns({
        actor: "x",
        actorId: "p",
        actorKind: "ROBOT",
        actorCredential: { kind: "password" },
      }),
    ).toEqual({ id: "p", kind: "USER", displayName: "x", credential: null });
  });
});
