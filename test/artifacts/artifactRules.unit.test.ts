// The pure artifact rules: path validation, clashes, roles, and the human-friendly units of the CLI.
import { describe, expect, it } from "vitest";
import {
  checkArtifactPath,
  checkMediaType,
  conflictingArtifactPath,
  defaultArtifactRole,
} from "../../src/domain/artifacts.ts";
import { ValidationError } from "../../src/domain/errors.ts";
import { parseByteSize, parseDuration } from "../../src/artifacts/units.ts";

describe("checkArtifactPath", () => {
  it.each([
    "model.onnx",
    "tokenizer/vocab.txt",
    "a/b/c/d.bin",
    "weights-00001-of-00002.safetensors",
    "with space/ünïcödé.txt",
    "..hidden-but-not-dot-dot",
    "%2e%2e",
    "a".repeat(255),
    Array.from({ length: 32 }, () => "d").join("/"),
  ])("accepts %j", (path) => {
    expect(checkArtifactPath("path", path)).toBeNull();
  });

  it.each([
    ["", "must not be empty"],
    ["..", "'..'"],
    ["../etc/passwd", "'..'"],
    ["a/../../b", "'..'"],
    ["a/./b", "'.'"],
    ["/etc/passwd", "relative"],
    ["C:/Windows/x", "relative"],
    ["c:evil", "relative"],
    ["a\\b", "'/' as separator"],
    ["..\\..\\x", "'/' as separator"],
    ["a\u0000b", "control characters"],
    ["line\nbreak", "control characters"],
    ["del\u007f", "control characters"],
    ["c1\u0085", "control characters"],
    ["a//b", "empty segments"],
    ["dir/", "empty segments"],
    ["e\u0301.txt", "normalisation form C"],
    ["a".repeat(256), "segments must be at most 255"],
    ["a/".repeat(600) + "b", "at most 1024 characters"],
    [Array.from({ length: 33 }, () => "d").join("/"), "32 segments"],
  ])("refuses %j (%s)", (path, reason) => {
    const error = checkArtifactPath("path", path);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error?.field).toBe("path");
    expect(error?.message).toContain(reason);
  });
});

describe("conflictingArtifactPath", () => {
  it("finds duplicates and file/folder clashes, nothing else", () => {
    const existing = ["model.onnx", "tokenizer/vocab.txt"];
    expect(conflictingArtifactPath(existing, "model.onnx")).toBe("model.onnx");
    expect(conflictingArtifactPath(existing, "tokenizer")).toBe("tokenizer/vocab.txt");
    expect(conflictingArtifactPath(existing, "model.onnx/inner")).toBe("model.onnx");
    expect(conflictingArtifactPath(existing, "tokenizer/merges.txt")).toBeNull();
    expect(conflictingArtifactPath(existing, "model.onnx.sig")).toBeNull();
    expect(conflictingArtifactPath(existing, "tokenizers/vocab.txt")).toBeNull();
  });
});

describe("defaultArtifactRole", () => {
  it.each([
    ["model.onnx", "model"],
    ["weights/model.safetensors", "model"],
    ["tokenizer/vocab.txt", "tokenizer"],
    ["tokenizer.json", "tokenizer"],
    ["vocab.txt", "vocabulary"],
    ["merges.txt", "vocabulary"],
    ["encoder/onehot.pkl", "encoder"],
    ["config.json", "config"],
    ["generation_config.json", "config"],
    ["MLmodel", "config"],
    ["README.md", "other"],
  ])("%s is %s", (path, role) => {
    expect(defaultArtifactRole(path)).toBe(role);
  });
});

describe("checkMediaType", () => {
  it("accepts media types with parameters and refuses anything else", () => {
    expect(checkMediaType("m", "application/octet-stream")).toBeNull();
    expect(checkMediaType("m", "text/plain; charset=utf-8")).toBeNull();
    expect(checkMediaType("m", "application/vnd.onnx+protobuf")).toBeNull();
    expect(checkMediaType("m", "nonsense")).toBeInstanceOf(ValidationError);
    expect(checkMediaType("m", "text/plain\r\nX-Injected: 1")).toBeInstanceOf(ValidationError);
  });
});

describe("units", () => {
  it("parses sizes and durations", () => {
    expect(parseByteSize("1024")).toBe(1024);
    expect(parseByteSize("512MiB")).toBe(512 * 2 ** 20);
    expect(parseByteSize("1.5GB")).toBe(1.5e9);
    expect(parseByteSize("12 parsecs")).toBeNull();
    expect(parseDuration("7d")).toBe(7 * 86_400_000);
    expect(parseDuration("30m")).toBe(1_800_000);
    expect(parseDuration("0s")).toBe(0);
    expect(parseDuration("7")).toBeNull();
  });
});
