// The limits added for issue 8 are read from the environment with defaults, and a bad value fails
// at start-up naming the variable.
import { describe, expect, it } from "vitest";
import { SHUTDOWN_RESERVE_MS, inFlightGraceMs, loadConfig } from "../../src/config.ts";

describe("configuration of body deadlines, upload caps, subscriber bounds and shutdown", () => {
  it("has generous defaults", () => {
    const config = loadConfig({});
    expect(config.requestBodies).toEqual({
      idleTimeoutMs: 30_000,
      minBytesPerSecond: 1024,
      rateWindowMs: 60_000,
    });
    expect(config.uploads).toEqual({ maxPerClient: 8, maxTotal: 64 });
    expect(config.subscriberMaxQueuedBytes).toBe(4 * 1024 * 1024);
    expect(config.shutdownTimeoutMs).toBe(10_000);
  });

  it("reads every variable, sizes with units", () => {
    const config = loadConfig({
      REQUEST_BODY_IDLE_TIMEOUT_MS: "5000",
      REQUEST_BODY_MIN_RATE: "2KiB",
      REQUEST_BODY_RATE_WINDOW_MS: "20000",
      UPLOADS_MAX_PER_CLIENT: "2",
      UPLOADS_MAX_CONCURRENT: "10",
      SUBSCRIBER_MAX_QUEUED_BYTES: "256KiB",
      SHUTDOWN_TIMEOUT_MS: "0",
    });
    expect(config.subscriberMaxQueuedBytes).toBe(256 * 1024);
    expect(config.requestBodies).toEqual({
      idleTimeoutMs: 5_000,
      minBytesPerSecond: 2048,
      rateWindowMs: 20_000,
    });
    expect(config.uploads).toEqual({ maxPerClient: 2, maxTotal: 10 });
    expect(config.shutdownTimeoutMs).toBe(0);
    expect(loadConfig({ REQUEST_BODY_MIN_RATE: "0" }).requestBodies.minBytesPerSecond).toBe(0);
  });

  it.each([
    ["REQUEST_BODY_IDLE_TIMEOUT_MS", "10"],
    ["REQUEST_BODY_MIN_RATE", "fast"],
    ["REQUEST_BODY_RATE_WINDOW_MS", "-1"],
    ["UPLOADS_MAX_PER_CLIENT", "0"],
    ["UPLOADS_MAX_CONCURRENT", "1.5"],
    ["SUBSCRIBER_MAX_QUEUED_BYTES", "0"],
    ["SHUTDOWN_TIMEOUT_MS", "soon"],
  ])("refuses %s=%s, naming it", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`invalid configuration: ${name}`));
  });
});

describe("configuration of the PostgreSQL roles", () => {
  const app = "postgresql://registro_app@db/registro";
  const owner = "postgresql://registro_owner@db/registro";

  it("keeps one role without DATABASE_OWNER_URL, and the owner's URL beside the server's with it", () => {
    expect(loadConfig({ DATABASE_URL: app }).database).toEqual({ provider: "postgresql", url: app });
    expect(loadConfig({ DATABASE_URL: app, DATABASE_OWNER_URL: owner }).database).toEqual({
      provider: "postgresql",
      url: app,
      ownerUrl: owner,
    });
  });

  it("refuses an owner URL that is not PostgreSQL, or beside a SQLite database", () => {
    expect(() => loadConfig({ DATABASE_URL: app, DATABASE_OWNER_URL: "file:/x.db" })).toThrow(
      /DATABASE_OWNER_URL: must start with postgresql:\/\//,
    );
    expect(() => loadConfig({ DATABASE_OWNER_URL: owner })).toThrow(
      /DATABASE_OWNER_URL: needs DATABASE_URL to be a PostgreSQL URL/,
    );
  });
});

describe("configuration of the blob store", () => {
  it("is the folder by default", () => {
    expect(loadConfig({}).artifacts.store).toEqual({ kind: "filesystem" });
  });

  it("reads a bucket's settings, with a region from AWS_REGION and a prefix ending in /", () => {
    const store = loadConfig({
      BLOB_STORE: "s3",
      S3_BUCKET: "ml-models",
      S3_PREFIX: "registro/prod",
      S3_ENDPOINT: "http://127.0.0.1:9000/",
      S3_FORCE_PATH_STYLE: "true",
      S3_PART_SIZE: "16MiB",
      S3_PRESIGNED_DOWNLOADS: "2m",
      AWS_REGION: "eu-west-1",
    }).artifacts.store;
    expect(store).toEqual({
      kind: "s3",
      bucket: "ml-models",
      prefix: "registro/prod/",
      endpoint: "http://127.0.0.1:9000",
      region: "eu-west-1",
      forcePathStyle: true,
      partSizeBytes: 16 * 2 ** 20,
      presignedDownloadSeconds: 120,
    });
    expect(loadConfig({ BLOB_STORE: "s3", S3_BUCKET: "b-1" }).artifacts.store).toMatchObject({
      prefix: "",
      region: "us-east-1",
      forcePathStyle: false,
      partSizeBytes: 8 * 2 ** 20,
      presignedDownloadSeconds: null,
    });
  });

  it("refuses what would misplace or leak bytes, naming the setting", () => {
    const s3 = { BLOB_STORE: "s3", S3_BUCKET: "models" };
    expect(() => loadConfig({ BLOB_STORE: "s3" })).toThrow(/S3_BUCKET: is required when BLOB_STORE=s3/);
    expect(() => loadConfig({ BLOB_STORE: "gcs" })).toThrow(/BLOB_STORE/);
    expect(() => loadConfig({ ...s3, S3_BUCKET: "Bad_Bucket" })).toThrow(
      /S3_BUCKET: must be an S3 bucket name/,
    );
    for (const prefix of ["/abs", "a//b", "a/../b", "a b", "a\nb"])
      expect(() => loadConfig({ ...s3, S3_PREFIX: prefix }), prefix).toThrow(/S3_PREFIX/);
    for (const endpoint of ["ftp://x", "http://key:secret@host", "http://host/?a=1", "not a url"])
      expect(() => loadConfig({ ...s3, S3_ENDPOINT: endpoint }), endpoint).toThrow(/S3_ENDPOINT/);
    expect(() => loadConfig({ ...s3, S3_PART_SIZE: "1MiB" })).toThrow(/S3_PART_SIZE: must be from 5MiB/);
    for (const lifetime of ["0", "500ms", "8d", "forever"])
      expect(() => loadConfig({ ...s3, S3_PRESIGNED_DOWNLOADS: lifetime }), lifetime).toThrow(
        /S3_PRESIGNED_DOWNLOADS/,
      );
  });
});

describe("configuration of ALLOWED_HOSTS", () => {
  it("is unset by default, and reads names and addresses normalised", () => {
    expect(loadConfig({}).http.allowedHosts).toBeNull();
    expect(
      loadConfig({ ALLOWED_HOSTS: " Registro.LAN, 10.0.0.5,[::1], registro.lan ,localhost" }).http
        .allowedHosts,
    ).toEqual(["registro.lan", "10.0.0.5", "::1", "localhost"]);
  });

  it.each([
    "*",
    "*.example.com",
    "registro.lan:4000",
    "http://registro.lan",
    "registro.lan/",
    "bad host",
    "-leading.example",
    ",",
    "",
  ])("refuses ALLOWED_HOSTS=%j at start, naming the variable", (value) => {
    expect(() => loadConfig({ ALLOWED_HOSTS: value })).toThrow(/invalid configuration: ALLOWED_HOSTS: /);
  });
});

describe("configuration of the subscription connection caps", () => {
  it("defaults to 1,000 per client address and per principal, 20,000 in total, and handshakes apart; reads every variable", () => {
    expect(loadConfig({}).subscriptionConnections).toEqual({
      maxPerClient: 1_000,
      maxTotal: 20_000,
      maxPerPrincipal: 1_000,
      maxHandshakesPerClient: 100,
      maxHandshakesTotal: 2_000,
      handshakeTimeoutMs: 5_000,
    });
    const config = loadConfig({
      SUBSCRIPTION_CONNECTIONS_MAX_PER_CLIENT: "3",
      SUBSCRIPTION_CONNECTIONS_MAX_CONCURRENT: "10000",
      SUBSCRIPTION_CONNECTIONS_MAX_PER_PRINCIPAL: "7",
      SUBSCRIPTION_HANDSHAKES_MAX_PER_CLIENT: "2",
      SUBSCRIPTION_HANDSHAKES_MAX_CONCURRENT: "50",
      SUBSCRIPTION_HANDSHAKE_TIMEOUT_MS: "250",
    });
    expect(config.subscriptionConnections).toEqual({
      maxPerClient: 3,
      maxTotal: 10_000,
      maxPerPrincipal: 7,
      maxHandshakesPerClient: 2,
      maxHandshakesTotal: 50,
      handshakeTimeoutMs: 250,
    });
  });

  it.each([
    ["SUBSCRIPTION_CONNECTIONS_MAX_PER_CLIENT", "0"],
    ["SUBSCRIPTION_CONNECTIONS_MAX_CONCURRENT", "2.5"],
    ["SUBSCRIPTION_CONNECTIONS_MAX_PER_PRINCIPAL", "-1"],
    ["SUBSCRIPTION_HANDSHAKES_MAX_PER_CLIENT", "x"],
    ["SUBSCRIPTION_HANDSHAKES_MAX_CONCURRENT", "0"],
    ["SUBSCRIPTION_HANDSHAKE_TIMEOUT_MS", "99"],
    ["SUBSCRIPTION_HANDSHAKE_TIMEOUT_MS", "60001"],
  ])("refuses %s=%s, naming it", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`invalid configuration: ${name}`));
  });
});

describe("blank numeric settings", () => {
  it.each([
    "PORT",
    "RATE_LIMIT_PER_SECOND",
    "RATE_LIMIT_BURST",
    "AUTH_FAILURES_PER_SECOND",
    "AUTH_FAILURE_BURST",
    "CREDENTIAL_RECHECK_MS",
    "UPLOADS_MAX_PER_CLIENT",
  ])("refuses %s set to a blank value, which would coerce to 0, naming the variable", (name) => {
    for (const value of ["", "  "])
      expect(() => loadConfig({ [name]: value })).toThrow(
        new RegExp(`invalid configuration: ${name}: a number is expected, not a blank value`),
      );
  });

  it("reads rate limits, 0 turning them off", () => {
    expect(loadConfig({}).rateLimits).toEqual({ perSecond: 2_000, burst: 200_000 });
    expect(loadConfig({ RATE_LIMIT_PER_SECOND: "0", RATE_LIMIT_BURST: "50" }).rateLimits).toEqual({
      perSecond: 0,
      burst: 50,
    });
    expect(() => loadConfig({ RATE_LIMIT_PER_SECOND: "-1" })).toThrow(/RATE_LIMIT_PER_SECOND/);
    expect(() => loadConfig({ RATE_LIMIT_BURST: "0.5" })).toThrow(/RATE_LIMIT_BURST/);
  });

  it("reads the limit of failed authentications per address, 0 a second turning it off", () => {
    expect(loadConfig({}).authFailureLimits).toEqual({ perSecond: 1, burst: 60 });
    expect(
      loadConfig({ AUTH_FAILURES_PER_SECOND: "0.5", AUTH_FAILURE_BURST: "10" }).authFailureLimits,
    ).toEqual({
      perSecond: 0.5,
      burst: 10,
    });
    expect(loadConfig({ AUTH_FAILURES_PER_SECOND: "0" }).authFailureLimits).toEqual({
      perSecond: 0,
      burst: 60,
    });
    for (const [name, value] of [
      ["AUTH_FAILURES_PER_SECOND", "-1"],
      ["AUTH_FAILURES_PER_SECOND", "fast"],
      ["AUTH_FAILURE_BURST", "0"],
      ["AUTH_FAILURE_BURST", "2.5"],
      ["AUTH_FAILURE_BURST", "sixty"],
    ] as const)
      expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`invalid configuration: ${name}`));
  });

  it("refuses SHUTDOWN_DELAY_MS that leaves SHUTDOWN_TIMEOUT_MS nothing, and leaves in-flight requests what the deadline leaves", () => {
    expect(() => loadConfig({ SHUTDOWN_DELAY_MS: "15000" })).toThrow(
      /invalid configuration: SHUTDOWN_DELAY_MS: \(15000\) counts toward SHUTDOWN_TIMEOUT_MS \(10000\) and must be less/,
    );
    expect(() => loadConfig({ SHUTDOWN_DELAY_MS: "10000", SHUTDOWN_TIMEOUT_MS: "10000" })).toThrow(
      /SHUTDOWN_DELAY_MS/,
    );
    expect(loadConfig({ SHUTDOWN_DELAY_MS: "15000", SHUTDOWN_TIMEOUT_MS: "30000" }).shutdownDelayMs).toBe(
      15_000,
    );
    expect(inFlightGraceMs(10_000, 0)).toBe(10_000 - SHUTDOWN_RESERVE_MS);
    expect(inFlightGraceMs(30_000, 15_000)).toBe(15_000 - SHUTDOWN_RESERVE_MS);
    expect(inFlightGraceMs(300, 0)).toBe(0);
  });
});

describe("configuration of webhook delivery", () => {
  it("delivers to 16 webhooks at once by default, and reads WEBHOOK_CONCURRENCY", () => {
    expect(loadConfig({}).webhooks.concurrency).toBe(16);
    expect(loadConfig({ WEBHOOK_CONCURRENCY: "64" }).webhooks.concurrency).toBe(64);
  });

  it("refuses a WEBHOOK_CONCURRENCY that is no count of loops, naming it", () => {
    for (const value of ["0", "-1", "2.5", "many", "1025"])
      expect(() => loadConfig({ WEBHOOK_CONCURRENCY: value }), value).toThrow(/WEBHOOK_CONCURRENCY/);
  });
});
