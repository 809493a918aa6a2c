// The inspection pool: long-lived workers reused across files, bounded concurrency and queue, time
// budgets enforced per file, and no rejection whatever happens.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectArtifact, inspectArtifactInProcess } from "../../src/inspection/index.ts";
import { InspectionPool } from "../../src/inspection/pool.ts";
import { slowPickle } from "../support/pickles.ts";

const fixtures = fileURLToPath(new URL("../fixtures/inspection/files/", import.meta.url));
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "registro-pool-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("InspectionPool", () => {
  it("runs many files on at most `size` workers, reusing them, with the same results as one-off inspection", async () => {
    const pool = new InspectionPool({ size: 2 });
    try {
      const files = [
        "model.onnx",
        "eval_p1.pkl",
        "iris.pmml",
        "truncated.pkl",
        "model.safetensors",
        "state_dict.pt",
        "tiny.gguf",
        "zlib_os_system.joblib",
      ];
      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, pool.workers)), 1);
      const results = await Promise.all(files.map((f) => pool.inspect(join(fixtures, f), f)));
      clearInterval(sampler);
      expect(results.map((r) => `${r.format}:${r.verdict}`)).toEqual([
        "ONNX:SAFE",
        "PICKLE:DANGEROUS",
        "PMML:SAFE",
        "PICKLE:UNSCANNABLE",
        "SAFETENSORS:SAFE",
        "PYTORCH:SAFE",
        "GGUF:SAFE",
        "JOBLIB:DANGEROUS",
      ]);
      expect(peak).toBeLessThanOrEqual(2);
      expect(pool.workers).toBeLessThanOrEqual(2);
      // A warm worker answers without paying start-up again.
      const t0 = performance.now();
      expect((await pool.inspect(join(fixtures, "model.onnx"), "model.onnx")).verdict).toBe("SAFE");
      expect(performance.now() - t0).toBeLessThan(500);
    } finally {
      await pool.close();
    }
    expect(pool.workers).toBe(0);
  });

  it("stops a file at its time budget (UNSCANNABLE) and keeps serving the next ones", async () => {
    const path = join(tmp, "slow.pkl");
    slowPickle(path, 40_000_000);
    const pool = new InspectionPool({ size: 1, limits: { timeBudgetMs: 1000 } });
    try {
      const t0 = Date.now();
      const slow = await pool.inspect(path, "slow.pkl");
      expect(Date.now() - t0).toBeLessThan(6000);
      expect(slow.verdict).toBe("UNSCANNABLE");
      expect(slow.findings.map((f) => f.message).join("\n")).toMatch(/time budget/);
      expect((await pool.inspect(join(fixtures, "eval_p1.pkl"), "eval_p1.pkl")).verdict).toBe("DANGEROUS");
    } finally {
      await pool.close();
    }
  });

  it("refuses files beyond the queue bound, and answers everything on close, never rejecting", async () => {
    const pool = new InspectionPool({ size: 1, maxQueue: 2 });
    const file = join(fixtures, "model.onnx");
    const pending = [pool.inspect(file, "a.onnx"), pool.inspect(file, "b.onnx")];
    const refused = await pool.inspect(file, "c.onnx");
    expect(refused.verdict).toBe("UNSCANNABLE");
    expect(refused.findings[0]?.message).toMatch(/already waiting/);
    await pool.close();
    const answered = await Promise.all(pending);
    expect(answered.every((r) => r.verdict === "UNSCANNABLE" || r.verdict === "SAFE")).toBe(true);
    expect((await pool.inspect(file, "d.onnx")).findings[0]?.message).toMatch(/shutting down/);
  });

  it("answers UNSCANNABLE when a worker cannot start in time, without looping", async () => {
    const pool = new InspectionPool({ size: 1, startTimeoutMs: 1 });
    try {
      const result = await pool.inspect(join(fixtures, "model.onnx"), "model.onnx");
      expect(result.verdict).toBe("UNSCANNABLE");
      expect(result.findings[0]?.message).toMatch(/could not start/);
    } finally {
      await pool.close();
    }
  });

  it("workers honour INSPECTION_ALLOW_IMPORTS: pooled, one-off and in-process inspection agree", async () => {
    const file = join(fixtures, "unknown_global_p3.pkl");
    const limits = { allowImports: ["mylib.*"] };
    const pool = new InspectionPool({ size: 1, limits });
    const plain = new InspectionPool({ size: 1 });
    try {
      const [pooled, oneOff, inProcess, without] = await Promise.all([
        pool.inspect(file, "m.pkl"),
        inspectArtifact(file, "m.pkl", limits),
        inspectArtifactInProcess(file, "m.pkl", limits),
        plain.inspect(file, "m.pkl"),
      ]);
      for (const r of [pooled, oneOff, inProcess]) {
        expect(r.verdict).toBe("SAFE");
        expect(r.findings).toEqual([
          expect.objectContaining({
            severity: "INFO",
            message: expect.stringContaining("accepted by INSPECTION_ALLOW_IMPORTS entry mylib.*"),
          }),
        ]);
        expect(r.metadata.allowImports).toEqual({
          fingerprint: expect.stringMatching(/^[0-9a-f]{12}$/),
          entriesUsed: ["mylib.*"],
        });
      }
      expect(without.verdict).toBe("SUSPICIOUS");
      expect(without.metadata.allowImports).toBeUndefined();
    } finally {
      await Promise.all([pool.close(), plain.close()]);
    }
  });
});
