import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
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

describe("members over the in-memory cap are checked for an archive after their content", () => {
  it("an HDF5 member (STORED, read in place) ending in a PyTorch archive: the archive's data.pkl is walked", async () => {
    // over the cap, which the HDF5's own attributes are not
    const r = await inspect("h5.zip", readFileSync(join(fixtures, "big_member_h5_then_zip.zip")), {
      maxMemberBytes: 1000,
    });
    expect(r.verdict, r.text).toBe("DANGEROUS");
    expect(r.text).toMatch(
      /CRITICAL Dangerous pickle import posix\.system .*@h5\.zip:model\.h5@zip:archive\/data\.pkl/,
    );
    expect(r.text).toMatch(
      /HIGH Polyglot file: a ZIP archive \(3 entries, .* is part of this HDF5;.*@h5\.zip:model\.h5$/m,
    );
  });

  it("a deflated pickle member (streamed) ending in a PyTorch archive: its end is inflated and read", async () => {
    const bytes = readFileSync(join(fixtures, "big_member_pickle_then_zip.zip"));
    const r = await inspect("pkl.zip", bytes, { maxMemberBytes: 64 });
    expect(r.verdict, r.text).toBe("DANGEROUS");
    expect(r.text).toMatch(
      /CRITICAL Dangerous pickle import posix\.system .*@pkl\.zip:weights\.pkl@zip:archive\/data\.pkl/,
    );
    // the archive found there is held in memory to be read: within the budget, or incomplete
    const tight = await inspect("pkl.zip", bytes, { maxMemberBytes: 64, maxHeldBytes: 100 });
    expect(tight.verdict, tight.text).toBe("DANGEROUS"); // the polyglot itself is HIGH
    expect(tight.text).toMatch(
      /Incomplete scan: holding \d+ more bytes in memory \(0 already held .*\) would pass the budget of 100 bytes shared by nested archives @pkl\.zip:weights\.pkl$/m,
    );
    expect(tight.text).not.toMatch(/CRITICAL/);
  });

  it("a STORED member of 300 MiB (sparse on disk): an HDF5 whose last bytes are an archive with os.system", async () => {
    const size = 300 * 1024 ** 2;
    const head = readFileSync(join(fixtures, "keras2_model.h5"));
    const tail = zip([["archive/data.pkl", evilPickle]]);
    const path = join(dir, "huge.zip");
    writeSparseStoredZip(path, "model.h5", head, size, tail);
    const r = await inspectArtifactInProcess(path, "huge.zip");
    expect(r.verdict, lines(r)).toBe("DANGEROUS");
    expect(lines(r)).toMatch(
      /CRITICAL Dangerous pickle import os\.system .*@huge\.zip:model\.h5@zip:archive\/data\.pkl/,
    );
  });
});

/**
 * A ZIP with one STORED member of `size` bytes: `head` at its start, `tail` at its end, a hole
 * between (no disk space). The CRC is left 0: yauzl does not check it, and nothing here extracts it.
 */
function writeSparseStoredZip(path: string, name: string, head: Buffer, size: number, tail: Buffer): void {
  const fileName = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(size, 18);
  local.writeUInt32LE(size, 22);
  local.writeUInt16LE(fileName.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(size, 20);
  central.writeUInt32LE(size, 24);
  central.writeUInt16LE(fileName.length, 28);
  const dataAt = 30 + fileName.length;
  const cdAt = dataAt + size;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + fileName.length, 12);
  end.writeUInt32LE(cdAt, 16);
  const fd = openSync(path, "w");
  try {
    writeSync(fd, Buffer.concat([local, fileName, head]), 0, undefined, 0);
    writeSync(fd, tail, 0, undefined, dataAt + size - tail.length);
    writeSync(fd, Buffer.concat([central, fileName, end]), 0, undefined, cdAt);
  } finally {
    closeSync(fd);
  }
}

describe("bytes held in memory across nesting levels share one budget", () => {
  const text = Buffer.from("# model card\n".repeat(200));
  const inner = zip([
    ["README.md", text],
    ["w.pkl", benignPickle],
  ]);
  const middle = zip([["inner.zip", inner]], { stored: true });
  const outer = zip([["middle.zip", middle]], { stored: true });

  it("an archive in an archive in an archive, each held whole: past the budget the scan is incomplete", async () => {
    const fits = await inspect("outer.zip", outer);
    expect(fits.verdict, fits.text).toBe("SAFE");
    const r = await inspect("outer.zip", outer, { maxHeldBytes: middle.length + inner.length - 1 });
    expect(r.verdict, r.text).toBe("UNSCANNABLE");
    expect(r.text).toContain(
      `MEDIUM Incomplete scan: holding ${inner.length} more bytes in memory (${middle.length} already held by the archives around it) would pass the budget of ${middle.length + inner.length - 1} bytes shared by nested archives @outer.zip:middle.zip:inner.zip`,
    );
  });

  it("what one member held is given back before the next is read", async () => {
    const siblings = zip([
      ["a.zip", middle],
      ["b.zip", middle],
    ]);
    const r = await inspect("siblings.zip", siblings, {
      maxHeldBytes: middle.length + inner.length + 2 * text.length,
    });
    expect(r.verdict, r.text).toBe("SAFE");
    expect(r.text).not.toMatch(/budget/);
  });
});

describe("ZIP64 end records that readers read differently", () => {
  it("well-formed ZIP64 end records: one archive for every reader, its members walked", async () => {
    const r = await inspectFixture("zip64_end_records.zip");
    expect(r.verdict).toBe("DANGEROUS");
    expect(r.text).toMatch(/CRITICAL .*posix\.system .*@zip64_end_records\.zip:weights\/part-0\.bin/);
    expect(r.text).not.toMatch(/disagree|Incomplete/);
  });

  it("a locator naming other disks: zipfile refuses the archive, what other readers list is inspected, incomplete", async () => {
    const r = await inspectFixture("zip64_locator_multidisk.zip");
    expect(r.verdict, r.text).toBe("UNSCANNABLE");
    expect(r.text).toMatch(
      /Incomplete scan: ZIP readers disagree on this archive: Python's zipfile refuses it \(its ZIP64 locator puts the ZIP64 record on disk 0 of 2/,
    );
  });

  it("a locator pointing elsewhere than the record zipfile reads: incomplete, zipfile's listing inspected", async () => {
    const r = await inspectFixture("zip64_locator_wrong_offset.zip");
    expect(r.verdict, r.text).toBe("UNSCANNABLE");
    expect(r.text).toMatch(
      /Incomplete scan: ZIP readers disagree on this archive: Python's zipfile before gh-139700 reads the ZIP64 record at offset \d+, since then it refuses it \(Corrupt zip64 end of central directory record\)/,
    );
    expect(r.metadata.zipfileArchive).toEqual({ offset: 0, format: "UNKNOWN" });
  });

  it("no record before the locator: the member only older zipfile lists (from the plain end record) is walked", async () => {
    const r = await inspectFixture("zip64_record_missing.zip");
    expect(r.verdict, r.text).toBe("DANGEROUS");
    expect(r.text).toMatch(
      /CRITICAL Dangerous pickle import posix\.system .*@zip64_record_missing\.zip@zipfile:weights\/part-0\.bin/,
    );
    expect(r.text).toMatch(/before gh-139700 reads the plain end record/);
    // the same archive as a member of another one
    const nested = await inspect(
      "outer.zip",
      zip([["model.zip", readFileSync(join(fixtures, "zip64_record_missing.zip"))]]),
    );
    expect(nested.verdict, nested.text).toBe("DANGEROUS");
    expect(nested.text).toMatch(/CRITICAL .*@outer\.zip:model\.zip@zipfile:weights\/part-0\.bin/);
  });

  it("two ZIP64 records: the member only the locator's record lists is walked", async () => {
    const r = await inspectFixture("zip64_two_records.zip");
    expect(r.verdict, r.text).toBe("DANGEROUS");
    expect(r.text).toMatch(/CRITICAL .*posix\.system .*@zip64_two_records\.zip:weights\/part-0\.bin/);
    expect(r.text).toMatch(/Incomplete scan: ZIP readers disagree on this archive/);
  });

  it("an end record declaring fewer entries than its central directory holds: incomplete, never clean", async () => {
    const r = await inspectFixture("zip_entry_count_short.zip");
    expect(r.verdict, r.text).toBe("UNSCANNABLE");
    expect(r.text).toMatch(
      /Incomplete scan: ZIP readers disagree on this archive: its 1 listed entries take \d+ bytes of central directory, the end record declares \d+/,
    );
  });
});
