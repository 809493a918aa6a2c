// A version's id names it by model and number (src/projections/modelVersions/versionId.ts); ids
// from clients (node ids, MLflow paths) are parsed into the key the database indexes.
import { describe, expect, it } from "vitest";
import {
  modelVersionId,
  parseModelVersionId,
  versionKeyOfId,
} from "../../src/projections/modelVersions/versionId.ts";

describe("version ids", () => {
  it("parses what modelVersionId writes", () => {
    const model = "0b5f7c52-3f7e-4c7d-9d38-1f0e5b1b2a11";
    for (const version of [1, 9, 10, 12_345, 2_147_483_647])
      expect(parseModelVersionId(modelVersionId(model, version))).toEqual({ modelId: model, version });
    // The number is what follows the last colon.
    expect(parseModelVersionId("a:b:3")).toEqual({ modelId: "a:b", version: 3 });
  });

  it("names no version for anything else", () => {
    for (const id of [
      "",
      ":",
      "m",
      "m:",
      ":1",
      "m:0",
      "m:01",
      "m:-1",
      "m:+1",
      "m:1.0",
      "m:1e3",
      "m: 1",
      "m:1 ",
      "m:0x10",
      "m:2147483648",
      "m:99999999999",
      `m:${"9".repeat(400)}`,
      "m:１",
    ])
      expect(parseModelVersionId(id), id).toBeNull();
  });

  it("gives a key no row holds for an id that names no version", () => {
    expect(versionKeyOfId("m:0")).toEqual({ modelId_version: { modelId: "m:0", version: 0 } });
    expect(versionKeyOfId("m:7")).toEqual({ modelId_version: { modelId: "m", version: 7 } });
  });
});
