import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectArtifact, inspectArtifactInProcess } from "../../src/inspection/index.ts";
import { slowPickle } from "../support/pickles.ts";

const fixtures = fileURLToPath(new URL("../fixtures/inspection/files/", import.meta.url));
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "registro-inspection-"));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function truncatedCopy(name: string, keep: number): string {
  const out = join(tmp, `cut-${name}`);
  const data = readFileSync(join(fixtures, name));
  writeFileSync(out, data.subarray(0, Math.floor(data.length * keep)));
  return out;
}

describe("worker thread", () => {
  it("loads the .ts worker under vitest and returns the same result as in-process", async () => {
    const path = join(fixtures, "state_dict.pt");
    const [w, p] = await Promise.all([
      inspectArtifact(path, "state_dict.pt"),
      inspectArtifactInProcess(path, "state_dict.pt"),
    ]);
    expect(w).toEqual(p);
    expect(w.format).toBe("PYTORCH");
    expect(w.verdict).toBe("SAFE");
  });

  it("reports dangerous content through the worker", async () => {
    const r = await inspectArtifact(join(fixtures, "payload_after_array.joblib"), "model.joblib");
    expect(r.verdict).toBe("DANGEROUS");
  });

  it("terminates a worker that exceeds the time budget: UNSCANNABLE, not a hang", async () => {
    const path = join(tmp, "slow.pkl");
    slowPickle(path, 40_000_000);
    const t0 = Date.now();
    const r = await inspectArtifact(path, "slow.pkl", { timeBudgetMs: 1500 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.verdict).toBe("UNSCANNABLE");
    expect(r.findings[0]?.message).toMatch(/time budget of \d+ ms/);
  });

  it("a budget too small to even start the worker is UNSCANNABLE", async () => {
    const r = await inspectArtifact(join(fixtures, "model.onnx"), "model.onnx", { timeBudgetMs: 1 });
    expect(r.verdict).toBe("UNSCANNABLE");
    expect(r.format).toBe("UNKNOWN");
  });
});

describe("caps and broken input", () => {
  it("the in-process walk honours the time budget cooperatively", async () => {
    const path = join(tmp, "slow2.pkl");
    slowPickle(path, 20_000_000);
    const r = await inspectArtifactInProcess(path, "slow2.pkl", { timeBudgetMs: 100 });
    expect(r.verdict).toBe("UNSCANNABLE");
    expect(r.format).toBe("PICKLE");
    expect(r.findings.map((f) => f.message).join("\n")).toMatch(/exceeded its time budget of 100 ms/);
  });

  it.each([
    ["model.onnx", 0.6],
    ["tiny.gguf", 0.5],
    ["legacy.pt", 0.7],
    ["linreg.joblib", 0.8],
    ["zlib_os_system.joblib", 0.5],
    ["keras2_model.h5", 0.3],
    ["saved_model.pb", 0.5],
  ])("truncated %s is UNSCANNABLE (or still DANGEROUS), never a throw", async (name, keep) => {
    const r = await inspectArtifactInProcess(truncatedCopy(name, keep), name);
    expect(["UNSCANNABLE", "DANGEROUS"]).toContain(r.verdict);
    expect(r.findings.some((f) => /Incomplete scan|not recognised/.test(f.message))).toBe(true);
  });

  it("a zlib joblib that inflates past the cap is UNSCANNABLE", async () => {
    const r = await inspectArtifactInProcess(join(fixtures, "zlib_safe.joblib"), "m.joblib", {
      maxDecompressedBytes: 100,
    });
    expect(r.verdict).toBe("UNSCANNABLE");
    expect(r.findings[0]?.message).toMatch(/inflates past the cap of 100 bytes/);
  });

  it("files over maxBytes are not parsed", async () => {
    const r = await inspectArtifactInProcess(join(fixtures, "model.onnx"), "model.onnx", { maxBytes: 100 });
    expect(r.verdict).toBe("UNSCANNABLE");
    expect(r.findings[0]?.message).toMatch(/exceeds the cap of 100/);
  });

  it("archives with more entries than the cap are UNSCANNABLE", async () => {
    const r = await inspectArtifactInProcess(join(fixtures, "state_dict.pt"), "state_dict.pt", {
      maxArchiveEntries: 3,
    });
    expect(r.verdict).toBe("UNSCANNABLE");
    expect(r.findings.map((f) => f.message).join("\n")).toMatch(/more than the cap of 3/);
  });

  it("pickles with more opcodes than the cap are UNSCANNABLE", async () => {
    const r = await inspectArtifactInProcess(join(fixtures, "linreg.joblib"), "linreg.joblib", {
      maxPickleOps: 20,
    });
    expect(r.verdict).toBe("UNSCANNABLE");
    expect(r.findings[0]?.message).toMatch(/more than 20 opcodes/);
  });

  it("a missing file is UNSCANNABLE, not an exception", async () => {
    const r = await inspectArtifactInProcess(join(tmp, "does-not-exist.onnx"), "x.onnx");
    expect(r.verdict).toBe("UNSCANNABLE");
  });

  it("an empty file is UNSCANNABLE", async () => {
    const path = join(tmp, "empty.bin");
    writeFileSync(path, "");
    const r = await inspectArtifactInProcess(path, "empty.bin");
    expect(r.verdict).toBe("UNSCANNABLE");
  });

  it("the same payload renamed still gets walked (content, not name)", async () => {
    const path = join(tmp, "config.json");
    copyFileSync(join(fixtures, "os_system_p4.pkl"), path);
    const r = await inspectArtifactInProcess(path, "config.json");
    expect(r.format).toBe("PICKLE");
    expect(r.verdict).toBe("DANGEROUS");
  });
});
