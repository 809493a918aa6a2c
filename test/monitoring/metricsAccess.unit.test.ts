// Who may scrape /metrics: networks, a token, both, or loopback only by default.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import {
  LOOPBACK_ONLY,
  checkMetricsAccess,
  metricsAccess,
  parseNetworks,
} from "../../src/monitoring/metricsAccess.ts";
import { loadConfig } from "../../src/config.ts";

const request = (remoteAddress: string, authorization?: string) =>
  ({
    socket: { remoteAddress },
    headers: authorization === undefined ? {} : { authorization },
  }) as unknown as IncomingMessage;

describe("metrics access", () => {
  it("defaults to loopback only (IPv4, IPv6, and IPv4-mapped IPv6)", () => {
    expect(metricsAccess(undefined, undefined)).toBe(LOOPBACK_ONLY);
    for (const peer of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
      expect(checkMetricsAccess(request(peer), LOOPBACK_ONLY), peer).toBeNull();
    for (const peer of ["10.0.0.1", "192.168.1.2", "::ffff:10.0.0.1", "2001:db8::1"])
      expect(checkMetricsAccess(request(peer), LOOPBACK_ONLY)?.status, peer).toBe(403);
  });

  it("allows the configured networks, and addresses given alone", () => {
    const config = metricsAccess(undefined, parseNetworks("10.0.0.0/8, 192.168.1.7, fd00::/8"));
    expect(checkMetricsAccess(request("10.20.30.40"), config)).toBeNull();
    expect(checkMetricsAccess(request("::ffff:10.1.1.1"), config)).toBeNull();
    expect(checkMetricsAccess(request("192.168.1.7"), config)).toBeNull();
    expect(checkMetricsAccess(request("fd12::1"), config)).toBeNull();
    expect(checkMetricsAccess(request("192.168.1.8"), config)?.code).toBe("METRICS_ACCESS_DENIED");
    expect(checkMetricsAccess(request("127.0.0.1"), config)?.code).toBe("METRICS_ACCESS_DENIED");
  });

  it("with a token alone: any network; missing is 401, wrong (any length) 403", () => {
    const config = metricsAccess("0123456789abcdef-token", undefined);
    expect(checkMetricsAccess(request("203.0.113.9", "Bearer 0123456789abcdef-token"), config)).toBeNull();
    expect(checkMetricsAccess(request("203.0.113.9"), config)?.status).toBe(401);
    expect(checkMetricsAccess(request("203.0.113.9", "Basic abc"), config)?.status).toBe(401);
    for (const wrong of ["x", "0123456789abcdef-tokeN", "0123456789abcdef-token-and-more"])
      expect(checkMetricsAccess(request("203.0.113.9", `Bearer ${wrong}`), config)?.status).toBe(403);
  });

  it("with both: the network and the token must hold", () => {
    const config = metricsAccess("0123456789abcdef-token", parseNetworks("10.0.0.0/8"));
    expect(checkMetricsAccess(request("10.0.0.1", "Bearer 0123456789abcdef-token"), config)).toBeNull();
    expect(checkMetricsAccess(request("10.0.0.1"), config)?.status).toBe(401);
    expect(checkMetricsAccess(request("11.0.0.1", "Bearer 0123456789abcdef-token"), config)?.status).toBe(
      403,
    );
  });

  it("refuses bad settings at start", () => {
    expect(() => loadConfig({ METRICS_ALLOWED_NETWORKS: "10.0.0.0/33" })).toThrow(/METRICS_ALLOWED_NETWORKS/);
    expect(() => loadConfig({ METRICS_ALLOWED_NETWORKS: "not-an-address" })).toThrow(
      /METRICS_ALLOWED_NETWORKS/,
    );
    expect(() => loadConfig({ METRICS_TOKEN: "short" })).toThrow(/METRICS_TOKEN/);
    expect(loadConfig({}).metricsAccess).toBe(LOOPBACK_ONLY);
    expect(loadConfig({ METRICS_TOKEN: "0123456789abcdef-token" }).metricsAccess).toEqual({
      token: "0123456789abcdef-token",
      networks: null,
    });
  });
});
