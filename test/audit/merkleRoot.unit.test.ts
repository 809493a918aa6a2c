import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MerkleBuilder, compareStreamIds, leafHash, merkleRoot } from "../../src/audit/merkleRoot.ts";
import type { StreamHeadLeaf } from "../../src/audit/merkleRoot.ts";

const sha = (...parts: (Buffer | string)[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
/** The leaf and node hashes written out independently of the implementation (RFC 6962 prefixes). */
const leaf = (l: StreamHeadLeaf) =>
  sha(Buffer.from([0]), `{"hash":"${l.hash}","revision":${l.revision},"streamId":"${l.streamId}"}`);
const node = (a: Buffer, b: Buffer) => sha(Buffer.from([1]), a, b);

const heads: StreamHeadLeaf[] = ["a", "b", "c", "d", "e", "f", "g"].map((id, i) => ({
  streamId: id,
  revision: i + 1,
  hash: String(i).repeat(64),
}));
const [a, b, c, d, e, f, g] = heads.map(leaf) as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];

describe("merkleRoot", () => {
  it("hashes a leaf as SHA-256 of 0x00 and the head's canonical JSON", () => {
    expect(leafHash(heads[0]!)).toEqual(a);
  });

  it("matches the tree built by hand for 0 to 7 leaves", () => {
    expect(merkleRoot([])).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(merkleRoot(heads.slice(0, 1))).toBe(a.toString("hex"));
    expect(merkleRoot(heads.slice(0, 2))).toBe(node(a, b).toString("hex"));
    expect(merkleRoot(heads.slice(0, 3))).toBe(node(node(a, b), c).toString("hex"));
    expect(merkleRoot(heads.slice(0, 4))).toBe(node(node(a, b), node(c, d)).toString("hex"));
    expect(merkleRoot(heads.slice(0, 5))).toBe(node(node(node(a, b), node(c, d)), e).toString("hex"));
    expect(merkleRoot(heads)).toBe(node(node(node(a, b), node(c, d)), node(node(e, f), g)).toString("hex"));
  });

  it("does not depend on the order leaves are given in (they are sorted by stream id)", () => {
    const shuffled = [heads[4]!, heads[0]!, heads[6]!, heads[2]!, heads[1]!, heads[5]!, heads[3]!];
    expect(merkleRoot(shuffled)).toBe(merkleRoot(heads));
  });

  it("changes when any leaf changes: its hash, its revision, or its stream", () => {
    const root = merkleRoot(heads);
    const changed = (i: number, patch: Partial<StreamHeadLeaf>) =>
      merkleRoot(heads.map((h, j) => (j === i ? { ...h, ...patch } : h)));
    expect(changed(3, { hash: "f".repeat(64) })).not.toBe(root);
    expect(changed(6, { revision: 8 })).not.toBe(root);
    expect(changed(0, { streamId: "a2" })).not.toBe(root);
    expect(merkleRoot(heads.slice(1))).not.toBe(root);
  });

  it("sorts stream ids byte by byte, not by locale", () => {
    const ids = ["b", "B", "a:1", "a", "é", "Z"];
    expect([...ids].sort(compareStreamIds)).toEqual(["B", "Z", "a", "a:1", "b", "é"]);
  });

  it("refuses leaves out of order or repeated when streaming", () => {
    const builder = new MerkleBuilder();
    builder.add(heads[1]!);
    expect(() => builder.add(heads[0]!)).toThrow(/out of order/);
    expect(() => builder.add(heads[1]!)).toThrow(/out of order/);
  });
});
