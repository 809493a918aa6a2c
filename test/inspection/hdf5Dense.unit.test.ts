import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readRootAttributes } from "../../src/inspection/hdf5.ts";
import { BufferSource } from "../../src/inspection/io.ts";
import { DEFAULT_LIMITS, Scan } from "../../src/inspection/verdict.ts";

const fixtures = fileURLToPath(new URL("../fixtures/inspection/files/", import.meta.url));
const read = (bytes: Buffer) =>
  readRootAttributes(new BufferSource(bytes), new Scan(DEFAULT_LIMITS), "f.h5", 1 << 20);

describe("HDF5 dense attribute storage (written by h5py / libhdf5)", () => {
  it("reads every attribute through a two-level name index and a heap with an indirect block", async () => {
    const a = await read(readFileSync(join(fixtures, "dense_many_attrs.h5")));
    expect(a.failed).toEqual([]);
    expect(a.unread).toEqual([]);
    expect(Object.keys(a.attributes)).toHaveLength(82);
    expect(a.attributes.attr_000).toBe("value 0 ".repeat(8));
    expect(a.attributes.attr_079).toBe("value 79 ".repeat(8));
    expect(a.attributes.keras_version).toBe("2.13.1");
  });

  it("reads a fixed-length model_config stored as a huge heap object", async () => {
    const a = await read(readFileSync(join(fixtures, "keras2_dense_huge_lambda.h5")));
    expect(a.failed).toEqual([]);
    const cfg = JSON.parse(String(a.attributes.model_config)) as {
      config: { layers: { class_name: string }[] };
    };
    expect(cfg.config.layers.map((l) => l.class_name)).toEqual(["InputLayer", "Lambda", "Dense"]);
  });

  it.each(["keras2_dense_lambda.h5", "keras2_dense_huge_lambda.h5", "dense_many_attrs.h5"])(
    "%s cut anywhere or with any byte flipped: never throws, never hangs",
    async (name) => {
      const data = readFileSync(join(fixtures, name));
      for (let cut = 0; cut < data.length; cut += 97) {
        await read(data.subarray(0, cut)).catch((e: unknown) => {
          expect((e as Error).name).toBe("MalformedError");
        });
      }
      for (let at = 0; at < Math.min(data.length, 4096); at += 3) {
        const bad = Buffer.from(data);
        bad[at] = bad[at]! ^ 0xa5;
        await read(bad).catch((e: unknown) => {
          expect((e as Error).name).toBe("MalformedError");
        });
      }
    },
  );
});
