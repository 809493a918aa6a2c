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
import { merkleRoot } from "../audit/merkleRoot.ts";
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
  lines: AsyncIterable<{ line: number; text: string }>,
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
 * Why a checkpoint's root is not that of the given stream heads (the backup's log at the
 * checkpoint's position), or null when it is.
 */
export function rootMismatch(
  { line, checkpoint }: CheckpointOnLine,
  heads: ReadonlyMap<string, StreamHead>,
): string | null {
  const at = `${CHECKPOINTS_FILE} line ${line} (checkpoint at log position ${checkpoint.position})`;
  if (heads.size !== checkpoint.streamCount)
    return `${at}: signed for ${checkpoint.streamCount} streams, but the backup's events hold ${heads.size} streams at that position: the checkpoint is not of this log, or events were removed or added`;
  const root = merkleRoot(
    [...heads].map(([streamId, head]) => ({ streamId, revision: head.revision, hash: head.hash })),
  );
  if (root !== checkpoint.root)
    return `${at}: the backup's stream heads at that position hash to ${root}, not to the signed root ${checkpoint.root}: the checkpoint is not of this log, or the events before it were changed`;
  return null;
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

  constructor(
    private readonly checkpoints: AsyncGenerator<CheckpointOnLine, void>,
    private readonly heads: ReadonlyMap<string, StreamHead>,
  ) {}

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
      this.mismatch ??= rootMismatch(this.pending, this.heads);
      this.count += 1;
      await this.next();
    }
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
