// The digest check of whole-blob downloads: sound bytes pass through unchanged; damaged bytes never
// pass through completely (the last chunk is held back until the digest is known), and the damage
// is reported before the stream fails.
import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { BlobDigestMismatchError, digestCheck } from "../../src/artifacts/blobIntegrity.ts";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** Runs chunks through the check; returns what came out, what was reported, and how it ended. */
async function check(chunks: Buffer[], expected: string) {
  const out: Buffer[] = [];
  const events: string[] = [];
  const reported: BlobDigestMismatchError[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  const ended = await pipeline(
    Readable.from(chunks),
    digestCheck(expected, async (mismatch) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      reported.push(mismatch);
      events.push("reported");
    }),
    sink,
  ).then(
    () => null,
    (error: unknown) => {
      events.push("failed");
      return error;
    },
  );
  return { out: Buffer.concat(out), reported, events, ended };
}

describe("digestCheck", () => {
  const chunks = [Buffer.from("first "), Buffer.from("second "), Buffer.from("last")];
  const whole = Buffer.concat(chunks);

  it("passes sound bytes through unchanged", async () => {
    const result = await check(chunks, sha256(whole));
    expect(result.ended).toBeNull();
    expect(result.out.equals(whole)).toBe(true);
    expect(result.reported).toEqual([]);
  });

  it("withholds the last chunk of damaged bytes and reports the damage before failing", async () => {
    const damaged = [chunks[0]!, Buffer.from("SECOND "), chunks[2]!];
    const result = await check(damaged, sha256(whole));
    expect(result.ended).toBeInstanceOf(BlobDigestMismatchError);
    expect(result.out.toString()).toBe("first SECOND ");
    expect(result.events).toEqual(["reported", "failed"]);
    expect(result.reported[0]).toMatchObject({
      expected: sha256(whole),
      actual: sha256(Buffer.concat(damaged)),
      size: whole.length,
    });
  });

  it("sends nothing at all of a damaged single-chunk blob", async () => {
    const result = await check([Buffer.from("only chunk")], sha256(Buffer.from("other")));
    expect(result.ended).toBeInstanceOf(BlobDigestMismatchError);
    expect(result.out.length).toBe(0);
  });
});
