// The audit settings: the signing key beside the database by default, checkpoints hourly.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";

describe("audit configuration", () => {
  it("keeps the key in DATA_DIR and checkpoints hourly by default", () => {
    expect(loadConfig({ DATA_DIR: "/srv/registro" }).audit).toEqual({
      signingKeyFile: path.resolve("/srv/registro/audit-signing-key.pem"),
      checkpointIntervalMs: 3_600_000,
    });
  });

  it("reads a key file and an interval with units, 0 switching checkpoints off", () => {
    const config = loadConfig({
      AUDIT_SIGNING_KEY_FILE: "/keys/audit.pem",
      AUDIT_CHECKPOINT_INTERVAL: "15m",
    });
    expect(config.audit).toEqual({ signingKeyFile: "/keys/audit.pem", checkpointIntervalMs: 900_000 });
    expect(loadConfig({ AUDIT_CHECKPOINT_INTERVAL: "0" }).audit.checkpointIntervalMs).toBe(0);
  });

  it.each(["soon", "500ms", "-1h", ""])("refuses the interval %j, naming the variable", (value) => {
    expect(() => loadConfig({ AUDIT_CHECKPOINT_INTERVAL: value })).toThrow(
      /AUDIT_CHECKPOINT_INTERVAL: must be a duration/,
    );
  });
});
