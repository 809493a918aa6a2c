// The Merkle root of a checkpoint: one leaf per stream (its id, the revision and hash of its head at
// the checkpoint's position), sorted by stream id byte by byte, hashed as RFC 6962 (Certificate
// Transparency) hashes a log: SHA-256, leaves prefixed 0x00 and inner nodes 0x01 so a leaf can never
// pass for a node. The builder folds leaves as they come, keeping one perfect subtree per set bit of
// the count: O(log n) memory however many streams the log holds.
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

/** One stream's head at a checkpoint's position. */
export interface StreamHeadLeaf {
  readonly streamId: string;
  readonly revision: number;
  readonly hash: string;
}

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export function leafHash(leaf: StreamHeadLeaf): Buffer {
  const text = canonicalize({ streamId: leaf.streamId, revision: leaf.revision, hash: leaf.hash });
  if (text === undefined) throw new Error("a stream head could not be encoded canonically");
  return createHash("sha256").update(LEAF).update(text, "utf8").digest();
}

export const nodeHash = (left: Buffer, right: Buffer): Buffer =>
  createHash("sha256").update(NODE).update(left).update(right).digest();

/** The order of leaves: stream ids compared as UTF-8 bytes, as SQLite and PostgreSQL's "C" collation sort them. */
export const compareStreamIds = (a: string, b: string): number =>
  Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

export class MerkleBuilder {
  /** Perfect subtrees, largest (leftmost) first; their sizes are the set bits of `count`. */
  private readonly stack: { size: number; hash: Buffer }[] = [];
  private last: { id: string; bytes: Buffer } | null = null;
  private count = 0;

  /** Adds the next leaf; leaves must come in strictly ascending stream id order. */
  add(leaf: StreamHeadLeaf): void {
    this.addHashed(leaf.streamId, leafHash(leaf));
  }

  /** Adds the next leaf by its leafHash(), for callers that keep leaf hashes between roots. */
  addHashed(streamId: string, hash: Buffer): void {
    // Each id is encoded once, not once per comparison: at tens of thousands of streams per root,
    // the encoding was most of the cost of a root whose leaf hashes were already known.
    const bytes = Buffer.from(streamId, "utf8");
    if (this.last !== null && Buffer.compare(this.last.bytes, bytes) >= 0)
      throw new Error(`Merkle leaves out of order: ${streamId} after ${this.last.id}`);
    this.last = { id: streamId, bytes };
    this.count++;
    let node = { size: 1, hash };
    for (let top = this.stack.at(-1); top !== undefined && top.size === node.size; top = this.stack.at(-1)) {
      this.stack.pop();
      node = { size: top.size * 2, hash: nodeHash(top.hash, node.hash) };
    }
    this.stack.push(node);
  }

  get leaves(): number {
    return this.count;
  }

  /** Lowercase hex root; folding the subtrees right to left gives RFC 6962's tree for any count. */
  root(): string {
    let hash: Buffer | null = null;
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const subtree = this.stack[i]!.hash;
      hash = hash === null ? subtree : nodeHash(subtree, hash);
    }
    // RFC 6962: the hash of an empty tree is the hash of the empty string.
    return (hash ?? createHash("sha256").digest()).toString("hex");
  }
}

/** The root of leaves given in any order (they are sorted first). Stream ids must be unique. */
export function merkleRoot(leaves: Iterable<StreamHeadLeaf>): string {
  const builder = new MerkleBuilder();
  for (const leaf of [...leaves].sort((a, b) => compareStreamIds(a.streamId, b.streamId))) builder.add(leaf);
  return builder.root();
}
