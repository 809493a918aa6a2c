// The parsers that see artifact requests before anything else: their semantics, and pathological
// inputs that would make a backtracking pattern take seconds (15,000 spaces before a stray byte)
// and million-character values. Nothing here measures time: the old Range pattern needs minutes for
// the longest of these, far past the test timeout, while a linear parser returns at once.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseArtifactTarget } from "../../src/artifacts/http/artifactRoute.ts";
import {
  announcedSha256,
  parseChecksumSha256,
  parseContentDigest,
  parseRange,
} from "../../src/artifacts/http/transferHeaders.ts";
import { guessMediaType } from "../../src/artifacts/mediaTypes.ts";
import { parseByteSize, parseDuration } from "../../src/artifacts/units.ts";
import { checkArtifactPath, checkMediaType, defaultArtifactRole } from "../../src/domain/artifacts.ts";
import { NotFoundError, ValidationError } from "../../src/domain/errors.ts";

const HUGE = 1_000_000;
const spaces = (n: number) => " ".repeat(n);
const digest = createHash("sha256").update("payload").digest();
const hex = digest.toString("hex");
const b64 = digest.toString("base64");

describe("parseRange", () => {
  it.each([
    ["bytes=5-9", { start: 5, end: 9 }],
    ["bytes=15-", { start: 15, end: 19 }],
    ["bytes=-3", { start: 17, end: 19 }],
    ["bytes=18-1000", { start: 18, end: 19 }],
    ["bytes=0-0", { start: 0, end: 0 }],
    // A suffix longer than the file is the whole file (RFC 9110 §14.1.2).
    ["bytes=-50", { start: 0, end: 19 }],
    ["BYTES = 5 - 9 ", { start: 5, end: 9 }],
    [`bytes=${"0".repeat(HUGE)}5-6`, { start: 5, end: 6 }],
    [`bytes=${spaces(HUGE)}1-2${spaces(HUGE)}`, { start: 1, end: 2 }],
  ])("%j on 20 bytes selects %j", (header, range) => {
    expect(parseRange(header, 20)).toEqual(range);
  });

  it.each([
    ["bytes=20-30", 20],
    ["bytes=20-", 20],
    ["bytes=-0", 20],
    ["bytes=0-", 0],
    ["bytes=-5", 0],
    [`bytes=${"9".repeat(400)}-`, 20],
  ])("%j on %i bytes is unsatisfiable (416)", (header, size) => {
    expect(parseRange(header, size)).toBe("unsatisfiable");
  });

  it.each([
    null,
    "",
    "bytes",
    "bytes=",
    "bytes=-",
    "bytes=5-3",
    "bytes=a-b",
    "bytes=1e3-",
    "bytes=0x1-",
    "bytes=1-2-3",
    "items=0-1",
    "bytes=0-1,5-6",
    "bytes=0-1,",
    // The request that cost ~300 ms with the old pattern, and larger variants of it.
    `bytes=0-${spaces(15_000)}!`,
    `bytes=0-${spaces(HUGE)}!`,
    `bytes${spaces(HUGE)}=${spaces(HUGE)}-${spaces(HUGE)}!`,
    `bytes=${"1-,".repeat(HUGE / 3)}`,
    `bytes=${"-".repeat(HUGE)}`,
    `${"=".repeat(HUGE)}`,
  ])("serves the whole representation for %j", (header) => {
    expect(parseRange(header, 20)).toBeNull();
  });
});

describe("Content-Digest and X-Checksum-Sha256", () => {
  it("reads sha-256 among other algorithms, ignoring surrounding whitespace", () => {
    expect(parseContentDigest(`sha-512=:${Buffer.alloc(64).toString("base64")}:, sha-256=:${b64}:`)).toBe(
      hex,
    );
    expect(parseContentDigest(`${spaces(HUGE)}SHA-256 = :${b64}:${spaces(HUGE)}`)).toBe(hex);
    expect(parseContentDigest("md5=:AAAA:")).toBeNull();
    expect(parseContentDigest("a=::,".repeat(HUGE / 5).slice(0, -1))).toBeNull();
    expect(parseChecksumSha256(`  ${hex.toUpperCase()}  `)).toBe(hex);
    expect(announcedSha256(`sha-256=:${b64}:`, hex)).toBe(hex);
    expect(announcedSha256(null, null)).toBeNull();
  });

  it.each([
    "sha-256",
    "sha-256=",
    "sha-256=AAAA",
    "sha-256=:AAAA",
    "=:AAAA:",
    "sha 256=:AAAA:",
    "sha-256=:AA*A:",
    `sha-256=:${"A".repeat(HUGE)}:`,
    `sha-256${spaces(HUGE)}=x`,
    `sha-256=:${b64}:${spaces(HUGE)}!`,
    `${spaces(HUGE)}=${spaces(HUGE)}:`,
    `sha-256=${":".repeat(HUGE)}`,
    `${"a".repeat(HUGE)}=:!:`,
  ])("refuses a malformed Content-Digest %#", (header) => {
    expect(parseContentDigest(header)).toMatchObject({ code: "VALIDATION", field: "Content-Digest" });
  });

  it("refuses malformed or disagreeing checksums", () => {
    for (const header of ["", "nothex", "0".repeat(63), "0".repeat(HUGE), `${hex}${spaces(HUGE)}!`])
      expect(parseChecksumSha256(header)).toMatchObject({ field: "X-Checksum-Sha256" });
    expect(announcedSha256(`sha-256=:${b64}:`, "0".repeat(64))).toMatchObject({
      field: "X-Checksum-Sha256",
      message: expect.stringContaining("disagrees"),
    });
  });
});

describe("artifact URLs, media types and names from clients", () => {
  it("refuses huge or odd request targets with typed errors", () => {
    expect(parseArtifactTarget(`/artifacts/m/1/${"a".repeat(HUGE)}`)).toBeInstanceOf(ValidationError);
    expect(parseArtifactTarget(`/artifacts/m/1/${"a/".repeat(HUGE / 2)}b`)).toBeInstanceOf(ValidationError);
    expect(parseArtifactTarget(`/artifacts/m/1/${"%".repeat(HUGE)}`)).toBeInstanceOf(ValidationError);
    expect(parseArtifactTarget(`/artifacts/${"@".repeat(HUGE)}/a.bin`)).toBeInstanceOf(NotFoundError);
    expect(parseArtifactTarget(`/artifacts/m/${"9".repeat(HUGE)}/a.bin`)).toBeInstanceOf(ValidationError);
    expect(parseArtifactTarget(`/artifacts/m/1/a.bin`)).toEqual({
      modelName: "m",
      selector: { kind: "number", version: 1 },
      path: "a.bin",
    });
  });

  it("checks media types and paths of any length", () => {
    expect(checkMediaType("mediaType", "text/plain; charset=utf-8")).toBeNull();
    for (const mediaType of [
      `a/b${spaces(200)}x`,
      `a/b${spaces(HUGE)}x`,
      `${"a".repeat(HUGE)}/b`,
      `a/${";".repeat(HUGE)}`,
    ])
      expect(checkMediaType("mediaType", mediaType)).toBeInstanceOf(ValidationError);
    expect(checkArtifactPath("path", `${"a/".repeat(HUGE / 2)}b`)).toBeInstanceOf(ValidationError);
    expect(guessMediaType(`${"a.".repeat(HUGE / 2)}json`, `${";".repeat(HUGE)}`)).toBe(`${";".repeat(HUGE)}`);
    expect(guessMediaType(`${".".repeat(HUGE)}onnx`, "application/octet-stream")).toBe("application/onnx");
    expect(defaultArtifactRole(`${"_".repeat(HUGE)}config.json`)).toBe("config");
    expect(defaultArtifactRole(`${".config".repeat(HUGE / 7)}.jsonx`)).toBe("other");
    expect(defaultArtifactRole(`${".".repeat(HUGE)}onnx`)).toBe("model");
  });

  it("parses sizes and durations (configuration and CLI flags) in linear time", () => {
    expect(parseByteSize(" 512 MiB ")).toBe(512 * 2 ** 20);
    expect(parseByteSize(`1${spaces(15_000)}!`)).toBeNull();
    expect(parseByteSize(`${"1".repeat(HUGE)}`)).toBeNull();
    expect(parseByteSize(`${"1.".repeat(HUGE / 2)}`)).toBeNull();
    expect(parseByteSize("1 constructor")).toBeNull();
    expect(parseDuration(`7${spaces(HUGE)}d`)).toBe(7 * 86_400_000);
    expect(parseDuration(`7${spaces(HUGE)}!`)).toBeNull();
    expect(parseDuration("1 toString")).toBeNull();
  });
});
