// One signed audit checkpoint per line of checkpoints.ndjson (../audit/checkpoints.ts), in position
// order: each line is the JSON of an exported checkpoint (`npm run audit:checkpoint -- --export`),
// so a line taken out of a backup can be checked on its own with `audit:verify --checkpoint`. A
// restore trusts a checkpoint only when its signature holds with the public key it carries and its
// root is that of the backup's own events at its position: an unsigned or edited line, or a signed
// one that vouches for another log, is refused.
import {
  MAX_EXPORT_BYTES,
  checkpointFromJson,
  checkpointJson,
  signatureProblem,
} from "../audit/checkpoints.ts";
import type { Checkpoint } from "../audit/checkpoints.ts";
import { MerkleBuilder, compareStreamIds, leafHash } from "../audit/merkleRoot.ts";
import type { StreamHead } from "./eventLines.ts";
import { CHECKPOINTS_FILE, DamagedBackupError } from "./manifest.ts";

export const checkpointLine = (c: Checkpoint): string => `${JSON.stringify(checkpointJson(c))}\n`;

/** Parses one line; a string describing what is wrong with it when it is not a checkpoint. */
export function parseCheckpointLine(text: string): Checkpoint | string {
  if (Buffer.byteLength(text, "utf8") > MAX_EXPORT_BYTES)
    return `is longer than ${MAX_EXPORT_BYTES} bytes: not a checkpoint`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return "is not a complete JSON line (truncated or edited)";
  }
  const checkpoint = checkpointFromJson(json);
  return typeof checkpoint === "string" ? `is not a checkpoint: ${checkpoint}` : checkpoint;
}

export interface CheckpointOnLine {
  readonly line: number;
  readonly checkpoint: Checkpoint;
}

/**
 * The checkpoints of a backup whose position is `upTo`, parsed and each signature checked, in
 * strictly ascending position order; throws DamagedBackupError at the first line that is not so.
 */
export async function* signedCheckpoints(
  lines: AsyncIterable<{ line: number; text: string }> | Iterable<{ line: number; text: string }>,
  upTo: number,
): AsyncGenerator<CheckpointOnLine, void> {
  let previous = 0;
  for await (const { line, text } of lines) {
    const checkpoint = parseCheckpointLine(text);
    if (typeof checkpoint === "string")
      throw new DamagedBackupError(`${CHECKPOINTS_FILE} line ${line} ${checkpoint}`);
    const at = `${CHECKPOINTS_FILE} line ${line} (checkpoint at log position ${checkpoint.position})`;
    if (checkpoint.position <= previous)
      throw new DamagedBackupError(
        `${at}: does not follow the checkpoint at position ${previous}: lines out of order or repeated`,
      );
    if (checkpoint.position > upTo)
      throw new DamagedBackupError(`${at}: after the backup's position ${upTo}`);
    const refused = signatureProblem(checkpoint);
    if (refused !== null) throw new DamagedBackupError(`${at}: ${refused}`);
    previous = checkpoint.position;
    yield { line, checkpoint };
  }
}

/**
 * The Merkle root of the stream heads (../audit/merkleRoot.ts), recomputed for one checkpoint after
 * another as the heads advance. Between two checkpoints few streams are new and few heads move, so
 * the stream ids are kept sorted (new ones, which a Map lists last, are inserted) and each stream's
 * leaf hash is kept until its head moves: a root costs one pass of node hashes over the streams,
 * not a sort and a leaf hash per stream.
 */
class IncrementalHeadsRoot {
  private readonly sorted: string[] = [];
  private readonly leaves = new Map<string, { revision: number; hash: Buffer }>();

  constructor(private readonly heads: ReadonlyMap<string, StreamHead>) {}

  root(): string {
    // New streams are few between two checkpoints: each is placed by binary search (comparisons
    // encode ids, so a merge that compares every kept id would cost as much as the root itself).
    if (this.heads.size > this.sorted.length)
      for (const id of [...this.heads.keys()].slice(this.sorted.length)) {
        let low = 0;
        let high = this.sorted.length;
        while (low < high) {
          const middle = (low + high) >>> 1;
          if (compareStreamIds(this.sorted[middle]!, id) < 0) low = middle + 1;
          else high = middle;
        }
        this.sorted.splice(low, 0, id);
      }
    const builder = new MerkleBuilder();
    for (const streamId of this.sorted) {
      const head = this.heads.get(streamId)!;
      let leaf = this.leaves.get(streamId);
      if (leaf?.revision !== head.revision) {
        leaf = { revision: head.revision, hash: leafHash({ streamId, ...head }) };
        this.leaves.set(streamId, leaf);
      }
      builder.addHashed(streamId, leaf.hash);
    }
    return builder.root();
  }
}

/**
 * Checks checkpoints against a log read in position order, alongside it: each root is recomputed
 * from the stream heads once every event up to its position has been read, so no head has to be
 * kept per checkpoint. Call `before(position)` ahead of applying each event to the heads, and
 * `before(Infinity)` after the last one. The first root that does not match is kept, not thrown: a
 * broken or cut log, found afterwards, says more than the checkpoint that no longer matches it.
 */
export class CheckpointsAlongLog {
  private pending: CheckpointOnLine | undefined;
  private started = false;
  private mismatch: string | null = null;
  private count = 0;
  private readonly roots: IncrementalHeadsRoot;

  constructor(
    private readonly checkpoints: AsyncGenerator<CheckpointOnLine, void>,
    private readonly heads: ReadonlyMap<string, StreamHead>,
  ) {
    this.roots = new IncrementalHeadsRoot(heads);
  }

  private async next(): Promise<void> {
    const next = await this.checkpoints.next();
    this.pending = next.done === true ? undefined : next.value;
  }

  async before(position: number): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.next();
    }
    while (this.pending !== undefined && this.pending.checkpoint.position < position) {
      this.mismatch ??= this.problem(this.pending);
      this.count += 1;
      await this.next();
    }
  }

  /** Why the checkpoint's root is not that of the heads (the log at its position), or null. */
  private problem({ line, checkpoint }: CheckpointOnLine): string | null {
    const at = `${CHECKPOINTS_FILE} line ${line} (checkpoint at log position ${checkpoint.position})`;
    if (this.heads.size !== checkpoint.streamCount)
      return `${at}: signed for ${checkpoint.streamCount} streams, but the backup's events hold ${this.heads.size} streams at that position: the checkpoint is not of this log, or events were removed or added`;
    const root = this.roots.root();
    if (root !== checkpoint.root)
      return `${at}: the backup's stream heads at that position hash to ${root}, not to the signed root ${checkpoint.root}: the checkpoint is not of this log, or the events before it were changed`;
    return null;
  }

  /** How many checkpoints were checked; throws the first mismatch, if any. */
  finish(): number {
    if (this.mismatch !== null) throw new DamagedBackupError(this.mismatch);
    return this.count;
  }

  /** Closes the checkpoints' source when the check stopped before its end. */
  async close(): Promise<void> {
    await this.checkpoints.return(undefined);
  }
}
