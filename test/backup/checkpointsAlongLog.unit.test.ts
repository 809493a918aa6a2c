// The roots a restore recomputes for checkpoints, incrementally along the log, are those the audit
// context computes from scratch (merkleRoot), whatever order streams appear and advance in.
import { createHash, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signCheckpoint } from "../../src/audit/checkpoints.ts";
import type { Checkpoint } from "../../src/audit/checkpoints.ts";
import { merkleRoot } from "../../src/audit/merkleRoot.ts";
import { SIGNATURE_ALGORITHM, keyFingerprint } from "../../src/audit/signingKey.ts";
import type { SigningKey } from "../../src/audit/signingKey.ts";
import { CheckpointsAlongLog, checkpointLine, signedCheckpoints } from "../../src/backup/checkpointLines.ts";
import type { StreamHead } from "../../src/backup/eventLines.ts";
import { DamagedBackupError } from "../../src/backup/manifest.ts";

function inMemoryKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    fingerprint: keyFingerprint(publicKey),
  };
}

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

// Ids whose UTF-16 order differs from their UTF-8 byte order (surrogate pairs against U+E000…).
const NAMES = ["a", "b", "Z", "model-1", "\u{1F600}x", "\uE000y", "é", "principal:1", "token:z"];

/** A log of `events` events over streams appearing at random, and checkpoints at random positions. */
function scenario(seed: number, events: number, key: SigningKey) {
  const next = random(seed);
  const log: { position: number; streamId: string; head: StreamHead }[] = [];
  const heads = new Map<string, StreamHead>();
  const checkpoints: Checkpoint[] = [];
  for (let position = 1; position <= events; position++) {
    const known = [...heads.keys()];
    const fresh = known.length === 0 || next() < 0.3;
    const streamId = fresh
      ? `${NAMES[Math.floor(next() * NAMES.length)]}-${position}`
      : known[Math.floor(next() * known.length)]!;
    const head = {
      revision: (heads.get(streamId)?.revision ?? 0) + 1,
      position,
      hash: createHash("sha256").update(`${streamId}/${position}`).digest("hex"),
    };
    heads.set(streamId, head);
    log.push({ position, streamId, head });
    if (next() < 0.25 || position === events) {
      const root = merkleRoot(
        [...heads].map(([id, h]) => ({ streamId: id, revision: h.revision, hash: h.hash })),
      );
      checkpoints.push(
        signCheckpoint(
          { position, root, streamCount: heads.size, createdAt: new Date(position * 1000) },
          key,
        ),
      );
    }
  }
  return { log, checkpoints };
}

function* asLines(checkpoints: readonly Checkpoint[]) {
  let line = 0;
  for (const c of checkpoints) yield { line: ++line, text: checkpointLine(c).slice(0, -1) };
}

/** Replays the log as restore reads it; the number of checkpoints checked, or the refusal. */
async function replay(log: ReturnType<typeof scenario>["log"], checkpoints: readonly Checkpoint[]) {
  const heads = new Map<string, StreamHead>();
  const upTo = log.at(-1)?.position ?? 0;
  const along = new CheckpointsAlongLog(signedCheckpoints(asLines(checkpoints), upTo), heads);
  try {
    for (const event of log) {
      await along.before(event.position);
      heads.set(event.streamId, event.head);
    }
    await along.before(Number.POSITIVE_INFINITY);
    return along.finish();
  } finally {
    await along.close();
  }
}

describe("checkpoints checked along the log", () => {
  const key = inMemoryKey();

  it.each([1, 2, 3, 4, 5])("recomputes every root as merkleRoot does (seed %i)", async (seed) => {
    const { log, checkpoints } = scenario(seed, 120, key);
    expect(checkpoints.length).toBeGreaterThan(10);
    expect(await replay(log, checkpoints)).toBe(checkpoints.length);
  });

  it("refuses the first checkpoint whose root is not the log's, signed or not", async () => {
    const { log, checkpoints } = scenario(7, 60, key);
    const victim = checkpoints[3]!;
    const forged = signCheckpoint({ ...victim, root: "0".repeat(64) }, key);
    const damaged = checkpoints.map((c) => (c === victim ? forged : c));
    expect(forged.algorithm).toBe(SIGNATURE_ALGORITHM);
    await expect(replay(log, damaged)).rejects.toThrow(
      new DamagedBackupError(
        `checkpoints.ndjson line 4 (checkpoint at log position ${victim.position}): the backup's stream heads at that position hash to ${victim.root}, not to the signed root ${"0".repeat(64)}: the checkpoint is not of this log, or the events before it were changed`,
      ),
    );
  });
});
