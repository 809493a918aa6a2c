import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectArtifactInProcess, type InspectionResult } from "../../src/inspection/index.ts";
import { binUnicode } from "../support/pickles.ts";
import { zip } from "../support/zips.ts";

let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "registro-joblib-"));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const messages = (r: InspectionResult) =>
  r.findings.map((f) => `${f.severity} ${f.message} @${f.location ?? ""}`).join("\n");
const op = (s: string) => Buffer.from(s, "latin1");

const str = binUnicode;

/**
 * A joblib file whose object array's nested pickle fetches its callable from the memo. joblib.load
 * reads the nested pickle with a fresh pickle.load: memo 0 and 1 are its own 'builtins', 'str', and
 * the call is str('echo PWNED'). pickle.load reads it as more opcodes of the outer pickle: memo 0 and
 * 1 are the outer 'os', 'system', and the call is os.system('echo PWNED').
 */
const sharedMemo = Buffer.concat([
  op("\x80\x02"),
  str("os"),
  op("q\x000"),
  str("system"),
  op("q\x010"),
  op("cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}("),
  str("subclass"),
  op("cnumpy\nndarray\n"),
  str("shape"),
  op("K\x01\x85"),
  str("order"),
  str("C"),
  str("dtype"),
  op("cnumpy\ndtype\n"),
  str("O8"),
  op("\x89\x88\x87R"),
  str("allow_mmap"),
  op("\x89ub"),
  // the object array: a whole pickle, as joblib writes it after the wrapper's BUILD
  op("\x80\x02"),
  str("builtins"),
  op("\x94"),
  str("str"),
  op("\x94" + "00" + "h\x00h\x01\x93"),
  str("echo PWNED"),
  op("\x85R."),
  // the outer pickle's STOP
  op("."),
]);

describe("joblib object arrays read the way pickle.load reads them", () => {
  it.each(["model.joblib", "model.pkl"])(
    "%s: a nested pickle that reaches into the outer memo is DANGEROUS",
    async (name) => {
      const path = join(tmp, name);
      writeFileSync(path, sharedMemo);
      const r = await inspectArtifactInProcess(path, name);
      expect(r.format).toBe("JOBLIB");
      expect(r.verdict, messages(r)).toBe("DANGEROUS");
      expect(messages(r)).toMatch(
        /CRITICAL Dangerous pickle import os\.system \(STACK_GLOBAL\) where joblib reads array data: pickle\.load would run it/,
      );
    },
  );

  it("the same bytes as a ZIP member are DANGEROUS", async () => {
    const path = join(tmp, "model.zip");
    writeFileSync(path, zip([["model.joblib", sharedMemo]]));
    const r = await inspectArtifactInProcess(path, "model.zip");
    expect(r.verdict, messages(r)).toBe("DANGEROUS");
    expect(messages(r)).toMatch(
      /CRITICAL Dangerous pickle import os\.system \(STACK_GLOBAL\) where joblib reads array data: pickle\.load would run it @model\.zip:model\.joblib/,
    );
  });
});
