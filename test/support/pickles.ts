import { closeSync, openSync, writeSync } from "node:fs";

/** A valid protocol-2 pickle of `pairs` NONE/POP pairs: cheap to write, slow to walk. */
export function slowPickle(path: string, pairs: number): void {
  const fd = openSync(path, "w");
  try {
    writeSync(fd, Buffer.from("8002", "hex"));
    const block = Buffer.alloc(1 << 20, Buffer.from("4e30", "hex"));
    for (let left = pairs * 2; left > 0; left -= block.length)
      writeSync(fd, block, 0, Math.min(block.length, left));
    writeSync(fd, Buffer.from("4e2e", "hex"));
  } finally {
    closeSync(fd);
  }
}

/** BINUNICODE, the pickle opcode for a str. */
export function binUnicode(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  const n = Buffer.alloc(4);
  n.writeUInt32LE(b.length);
  return Buffer.concat([Buffer.from("X"), n, b]);
}
