// The limits added for issue 8 are read from the environment with defaults, and a bad value fails
// at start-up naming the variable.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";

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
