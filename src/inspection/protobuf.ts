import type { ByteSource } from "./io.ts";
import { MalformedError, type Scan } from "./verdict.ts";

/**
 * A bounded protobuf wire-format reader. Messages are read field by field; length-delimited
 * payloads are returned as (offset, length) so large tensors are never pulled into memory.
 */

export interface WireField {
  no: number;
  wire: number;
  /** varint / fixed64 / fixed32 value. */
  num: bigint;
  /** Absolute offset and length of a length-delimited payload. */
  offset: number;
  length: number;
}

const WINDOW = 64 * 1024;

export class ProtoReader {
  private win: Buffer = Buffer.alloc(0);
  private winStart = 0;

  constructor(
    readonly src: ByteSource,
    readonly label: string,
    private readonly scan: Scan,
  ) {}

  private async byteAt(off: number): Promise<number> {
    if (off < this.winStart || off >= this.winStart + this.win.length) {
      this.win = await this.src.read(off, WINDOW);
      this.winStart = off;
      if (this.win.length === 0)
        throw new MalformedError("protobuf truncated", `${this.label}@offset ${off}`);
    }
    return this.win[off - this.winStart]!;
  }

  private async varint(off: number, end: number): Promise<[bigint, number]> {
    let v = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (off >= end)
        throw new MalformedError("protobuf varint runs past its message", `${this.label}@offset ${off}`);
      const b = await this.byteAt(off++);
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return [v, off];
      shift += 7n;
    }
    throw new MalformedError("protobuf varint longer than 10 bytes", `${this.label}@offset ${off}`);
  }

  /** Iterates the fields of the message occupying [start, end). Throws on any structural error. */
  async *fields(start: number, end: number): AsyncGenerator<WireField> {
    let off = start;
    while (off < end) {
      this.scan.tick();
      const [tag, o1] = await this.varint(off, end);
      const no = Number(tag >> 3n);
      const wire = Number(tag & 7n);
      if (no === 0) throw new MalformedError("protobuf field number 0", `${this.label}@offset ${off}`);
      off = o1;
      switch (wire) {
        case 0: {
          const [v, o2] = await this.varint(off, end);
          off = o2;
          yield { no, wire, num: v, offset: 0, length: 0 };
          break;
        }
        case 1:
        case 5: {
          const n = wire === 1 ? 8 : 4;
          if (off + n > end)
            throw new MalformedError(
              "protobuf fixed field runs past its message",
              `${this.label}@offset ${off}`,
            );
          const b = await this.src.read(off, n);
          const num = wire === 1 ? b.readBigUInt64LE(0) : BigInt(b.readUInt32LE(0));
          off += n;
          yield { no, wire, num, offset: 0, length: 0 };
          break;
        }
        case 2: {
          const [len, o2] = await this.varint(off, end);
          if (len > BigInt(end - o2))
            throw new MalformedError(
              "protobuf length-delimited field runs past its message",
              `${this.label}@offset ${off}`,
            );
          off = o2 + Number(len);
          yield { no, wire, num: 0n, offset: o2, length: Number(len) };
          break;
        }
        default:
          throw new MalformedError(
            `protobuf wire type ${wire} is not supported`,
            `${this.label}@offset ${off}`,
          );
      }
    }
  }

  async bytes(f: WireField, cap: number): Promise<Buffer> {
    if (f.length > cap)
      throw new MalformedError(
        `protobuf field ${f.no} of ${f.length} bytes exceeds the cap of ${cap}`,
        `${this.label}@offset ${f.offset}`,
      );
    return this.src.read(f.offset, f.length);
  }

  async string(f: WireField, cap = 1 << 20): Promise<string> {
    return (await this.bytes(f, Math.max(cap, 0))).toString("utf8");
  }

  /** Reads a string field but keeps only its first `keep` bytes (doc strings can be huge). */
  async stringHead(f: WireField, keep: number): Promise<string> {
    return (await this.src.read(f.offset, Math.min(f.length, keep))).toString("utf8");
  }

  /** Collects all fields of a (small) sub-message into a map, for convenience. */
  async message(start: number, end: number, maxFields = 100_000): Promise<Map<number, WireField[]>> {
    const out = new Map<number, WireField[]>();
    let n = 0;
    for await (const f of this.fields(start, end)) {
      if (++n > maxFields)
        throw new MalformedError(
          `protobuf message with more than ${maxFields} fields`,
          `${this.label}@offset ${start}`,
        );
      const list = out.get(f.no);
      if (list) list.push(f);
      else out.set(f.no, [f]);
    }
    return out;
  }

  /** Repeated int64 that may be packed (proto3 default) or not. */
  async int64s(list: readonly WireField[] | undefined): Promise<bigint[]> {
    const out: bigint[] = [];
    for (const f of list ?? []) {
      if (f.wire === 0) out.push(f.num);
      else if (f.wire === 2) {
        let off = f.offset;
        const end = f.offset + f.length;
        while (off < end) {
          const [v, o] = await this.varint(off, end);
          out.push(v);
          off = o;
          if (out.length > 1_000_000)
            throw new MalformedError("packed field too long", `${this.label}@offset ${f.offset}`);
        }
      }
    }
    return out;
  }
}

export function signedInt64(v: bigint): bigint {
  return v >= 1n << 63n ? v - (1n << 64n) : v;
}

export function first(m: Map<number, WireField[]>, no: number): WireField | undefined {
  return m.get(no)?.[0];
}

export interface TopLevelShape {
  fields: Map<number, { count: number; wires: Set<number> }>;
  ok: boolean;
}

/**
 * Checks that the whole source parses as one protobuf message and summarises which top-level
 * fields appear. Used for sniffing; it never descends into payloads, so it is cheap on big files.
 */
export async function topLevelShape(
  src: ByteSource,
  scan: Scan,
  label: string,
  maxFields = 2_000_000,
): Promise<TopLevelShape> {
  const reader = new ProtoReader(src, label, scan);
  const fields = new Map<number, { count: number; wires: Set<number> }>();
  let n = 0;
  try {
    for await (const f of reader.fields(0, src.size)) {
      if (++n > maxFields) return { fields, ok: false };
      const e = fields.get(f.no) ?? { count: 0, wires: new Set<number>() };
      e.count++;
      e.wires.add(f.wire);
      fields.set(f.no, e);
    }
  } catch {
    return { fields, ok: false };
  }
  return { fields, ok: n > 0 };
}
