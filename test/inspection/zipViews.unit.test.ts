import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { inspectArtifactInProcess, type InspectOptions } from "../../src/inspection/index.ts";
import { zip } from "../support/zips.ts";

// Fixtures from test/fixtures/inspection/generate_zip_views.py.
const fixtures = fileURLToPath(new URL("../fixtures/inspection/files/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "registro-zip-views-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (r: { findings: { severity: string; message: string; location: string | null }[] }) =>
  r.findings.map((f) => `${f.severity} ${f.message} @${f.location ?? ""}`).join("\n");

async function inspectFixture(name: string) {
  const r = await inspectArtifactInProcess(join(fixtures, name), name);
  return { ...r, text: lines(r) };
}

async function inspect(name: string, bytes: Buffer, options?: InspectOptions) {
  const path = join(dir, name.replace(/\//g, "_"));
  writeFileSync(path, bytes);
  const r = await inspectArtifactInProcess(path, name, options);
  return { ...r, text: lines(r) };
}

/** pickle.dumps({}, 2) and a protocol-0 pickle calling os.system. */
const benignPickle = Buffer.from("80027d71002e", "hex");
const evilPickle = Buffer.from("cos\nsystem\n(S'id'\ntR.", "latin1");

describe("the archive Python's zipfile reads is inspected, wherever it starts and ends", () => {
  it("a pickle followed by a PyTorch archive: both the pickle and the archive's data.pkl are walked", async () => {
    const r = await inspectFixture("pickle_then_zip.pkl");
    expect(r.format).toBe("PICKLE");
    expect(r.verdict).toBe("DANGEROUS");
    expect(r.text).toMatch(
      /CRITICAL Dangerous pickle import posix\.system .*@pickle_then_zip\.pkl@zip:archive\/data\.pkl/,
    );
    expect(r.text).toMatch(/HIGH Polyglot file: a ZIP archive \(3 entries, .*counted from byte 69\)/);
    expect(r.metadata.zipfileArchive).toEqual({ offset: 69, format: "PYTORCH" });
  });

  it("a ZIP with bytes after its end record is read (it was unreadable), its members walked", async () => {
    const r = await inspectFixture("zip_trailing_bytes.zip");
    expect(r.verdict).toBe("DANGEROUS");
    expect(r.text).toMatch(
      /CRITICAL Dangerous pickle import posix\.system .*@zip_trailing_bytes\.zip:weights\/part-0\.bin/,
    );
    const benign = await inspectFixture("zip_trailing_bytes_benign.zip");
    expect(benign.verdict, benign.text).toBe("SUSPICIOUS");
    expect(benign.text).toMatch(/MEDIUM 1 bytes follow the ZIP archive's end record/);
    expect(benign.text).not.toMatch(/Incomplete/);
  });

  it("an end record whose comment runs past the end of the file (zipfile accepts it) is read", async () => {
    const archive = zip([["weights/part-0.bin", evilPickle]]);
    archive.writeUInt16LE(10, archive.length - 2);
    const r = await inspect("cut_comment.zip", archive);
    expect(r.verdict).toBe("DANGEROUS");
    expect(r.text).toMatch(/CRITICAL Dangerous pickle import os\.system .*@cut_comment\.zip:weights/);
  });

  it.each(["sfx_stub.zip", "sfx_stub_absolute.zip"])(
    "%s: a stub before the archive, offsets from the archive or from the stub",
    async (name) => {
      const r = await inspectFixture(name);
      expect(r.verdict).toBe("DANGEROUS");
      expect(r.text).toMatch(
        new RegExp(`CRITICAL Dangerous pickle import posix\\.system .*@${name}@zip:weights/part-0\\.bin`),
      );
      expect(r.text).toMatch(/HIGH Polyglot file: a ZIP archive \(2 entries/);
    },
  );

  it("two archives end to end: the one zipfile reads (the second) is inspected, and readers disagree", async () => {
    const r = await inspectFixture("zip_then_zip.zip");
    expect(r.verdict).toBe("DANGEROUS");
    expect(r.text).toMatch(
      /CRITICAL Dangerous pickle import posix\.system .*@zip_then_zip\.zip@zip:weights\/part-0\.bin/,
    );
    expect(r.text).toMatch(/HIGH Polyglot file: .*starts as another ZIP archive/);
  });

  it("an archive member that is a pickle with an archive after it: both are walked", async () => {
    const member = Buffer.concat([benignPickle, zip([["archive/data.pkl", evilPickle]])]);
    const r = await inspect("outer.zip", zip([["model.pkl", member]]));
    expect(r.verdict).toBe("DANGEROUS");
    expect(r.text).toMatch(
      /CRITICAL Dangerous pickle import os\.system .*@outer\.zip:model\.pkl@zip:archive\/data\.pkl/,
    );
    expect(r.text).toMatch(/HIGH Polyglot file: .* is part of this pickle.*@outer\.zip:model\.pkl$/m);
  });
});

describe("archives inside archives are read by their layout, to a bounded depth", () => {
  it.each(["nested_keras.zip", "nested_keras_noext.zip"])(
    "%s: a .keras archive in a .zip (any member name) gets the Keras checks",
    async (name) => {
      const r = await inspectFixture(name);
      expect(r.verdict, r.text).toBe("DANGEROUS");
      expect(r.text).toMatch(
        new RegExp(
          `HIGH Keras Lambda layer: .*@${name.replace(".", "\\.")}:[^:]+:config\\.json:config\\.layers`,
        ),
      );
    },
  );

  it("past the nesting cap the scan is incomplete, not safe", async () => {
    const r = await inspectFixture("nested_too_deep.zip");
    expect(r.verdict).toBe("UNSCANNABLE");
    expect(r.text).toMatch(/Incomplete scan: archive nested deeper than 4 levels/);
  });

  it("a nested archive over the in-memory cap: STORED is read in place, compressed is incomplete", async () => {
    const inner = zip([["weights/part-0.bin", evilPickle]]);
    const limits = { maxMemberBytes: inner.length - 1 };
    const stored = await inspect("stored.zip", zip([["inner.zip", inner]], { stored: true }), limits);
    expect(stored.verdict, stored.text).toBe("DANGEROUS");
    expect(stored.text).toMatch(
      /CRITICAL Dangerous pickle import os\.system .*@stored\.zip:inner\.zip:weights/,
    );
    const deflated = await inspect("deflated.zip", zip([["inner.zip", inner]]), limits);
    expect(deflated.verdict).toBe("UNSCANNABLE");
    expect(deflated.text).toMatch(
      /Incomplete scan: compressed archive entry of \d+ bytes holding an archive is over the in-memory cap/,
    );
  });
});
