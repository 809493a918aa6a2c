import { MalformedError } from "./verdict.ts";

/**
 * A streaming decoder for LZMA-alone (`.lzma`, liblzma's FORMAT_ALONE, what joblib writes for
 * compress="lzma"), written from the LZMA specification in the LZMA SDK (lzma-specification.txt).
 * The input is fed in chunks (`feed`; `needsInput` says when: fewer than INPUT_MARGIN bytes left,
 * more than one operation can consume); the output comes out in pieces of at most
 * `step` bytes per `decode()` call, so the caller can cap the total and check its deadline between
 * pieces. The dictionary window grows with the output up to min(declared dictionary size, declared
 * output size, output cap): bytes past the cap are never produced, so no match reaches further back,
 * and a header declaring a huge dictionary allocates nothing until the data is there.
 */

const PROB_INIT = 1024;
const NUM_STATES = 12;
const POS_BITS_MAX = 4;
const END_POS_MODEL_INDEX = 14;
const NUM_FULL_DISTANCES = 128;
const NUM_ALIGN_BITS = 4;
const MATCH_MIN_LEN = 2;
const MAX_MATCH_LEN = 273;
/** More input bytes than one LZMA operation can consume (~50 bit decodes at most). */
const INPUT_MARGIN = 256;

export interface LzmaHeader {
  lc: number;
  lp: number;
  pb: number;
  dictSize: number;
  /** null when the header says "unknown" (all ones) and the stream ends with an end marker. */
  unpackSize: number | null;
}

export function parseLzmaHeader(b: Buffer, label: string): LzmaHeader {
  if (b.length < 13) throw new MalformedError("lzma header truncated", label);
  let d = b[0]!;
  if (d >= 9 * 5 * 5) throw new MalformedError(`lzma header: bad properties byte 0x${d.toString(16)}`, label);
  const lc = d % 9;
  d = Math.floor(d / 9);
  const lp = d % 5;
  const pb = Math.floor(d / 5);
  const dictSize = b.readUInt32LE(1);
  const size = b.readBigUInt64LE(5);
  return {
    lc,
    lp,
    pb,
    dictSize,
    unpackSize:
      size === 0xffffffffffffffffn ? null : size > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(size),
  };
}

function probs(n: number): Uint16Array {
  return new Uint16Array(n).fill(PROB_INIT);
}

export class LzmaAloneDecoder {
  readonly header: LzmaHeader;
  private input: Buffer;
  private inputEnded = false;
  private inPos = 13;
  private range = 0xffffffff;
  private code = 0;
  // output window
  /** Grows by doubling up to maxWin (so a header declaring a 4 GiB dictionary costs nothing up front). */
  private win: Uint8Array;
  private readonly maxWin: number;
  private winPos = 0;
  private flushed = 0;
  totalOut = 0;
  finished = false;
  // model
  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;
  private readonly literal: Uint16Array;
  private readonly isMatch = probs(NUM_STATES << POS_BITS_MAX);
  private readonly isRep = probs(NUM_STATES);
  private readonly isRepG0 = probs(NUM_STATES);
  private readonly isRepG1 = probs(NUM_STATES);
  private readonly isRepG2 = probs(NUM_STATES);
  private readonly isRep0Long = probs(NUM_STATES << POS_BITS_MAX);
  private readonly posSlot = probs(4 << 6);
  private readonly posDecoders = probs(1 + NUM_FULL_DISTANCES - END_POS_MODEL_INDEX);
  private readonly align = probs(1 << NUM_ALIGN_BITS);
  private readonly lenDec = probs(2 + (16 << 3) * 2 + 256);
  private readonly repLenDec = probs(2 + (16 << 3) * 2 + 256);

  constructor(
    input: Buffer,
    cap: number,
    private readonly label: string,
  ) {
    this.input = input;
    this.header = parseLzmaHeader(input, label);
    const h = this.header;
    if (h.unpackSize === -1) throw new MalformedError("lzma header: declared size out of range", label);
    let w = Math.max(h.dictSize, 4096);
    if (h.unpackSize !== null) w = Math.min(w, Math.max(h.unpackSize, 1));
    w = Math.min(w, cap + MAX_MATCH_LEN + 1);
    this.maxWin = Math.max(w, 1);
    this.win = new Uint8Array(Math.min(this.maxWin, 1 << 16));
    this.literal = probs(0x300 << (h.lc + h.lp));
    if (this.input.length < 18) throw new MalformedError("lzma stream truncated", label);
    if (this.input[this.inPos++] !== 0)
      throw new MalformedError("corrupt lzma stream: bad range coder start", label);
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.input[this.inPos++]!) >>> 0;
    if (this.code === this.range) throw new MalformedError("corrupt lzma stream", label);
    if (h.unpackSize === 0) this.finished = true;
  }

  /** More compressed bytes (null: the input has ended). */
  feed(chunk: Buffer | null): void {
    if (chunk === null) {
      this.inputEnded = true;
      return;
    }
    this.input = Buffer.concat([this.input.subarray(this.inPos), chunk]);
    this.inPos = 0;
  }

  needsInput(): boolean {
    return !this.inputEnded && this.input.length - this.inPos < INPUT_MARGIN;
  }

  private byte(): number {
    if (this.inPos >= this.input.length)
      throw new MalformedError("lzma stream truncated (input ended before the end of data)", this.label);
    return this.input[this.inPos++]!;
  }

  private bit(p: Uint16Array, i: number): number {
    const prob = p[i]!;
    const bound = (this.range >>> 11) * prob;
    let b: number;
    if (this.code < bound) {
      p[i] = prob + ((2048 - prob) >>> 5);
      this.range = bound;
      b = 0;
    } else {
      p[i] = prob - (prob >>> 5);
      this.code -= bound;
      this.range -= bound;
      b = 1;
    }
    if (this.range < 0x1000000) {
      this.range = (this.range * 256) >>> 0;
      this.code = ((this.code * 256) >>> 0) + this.byte();
    }
    return b;
  }

  private direct(n: number): number {
    let res = 0;
    for (let i = 0; i < n; i++) {
      this.range >>>= 1;
      let b = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        b = 1;
      }
      res = res * 2 + b;
      if (this.range < 0x1000000) {
        this.range = (this.range * 256) >>> 0;
        this.code = ((this.code * 256) >>> 0) + this.byte();
      }
    }
    return res;
  }

  private tree(p: Uint16Array, base: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) + this.bit(p, base + m);
    return m - (1 << bits);
  }

  private reverse(p: Uint16Array, base: number, bits: number): number {
    let m = 1;
    let sym = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(p, base + m);
      m = (m << 1) + b;
      sym |= b << i;
    }
    return sym;
  }

  // length coder layout: [choice, choice2, low[16][8], mid[16][8], high[256]]
  private len(p: Uint16Array, posState: number): number {
    if (this.bit(p, 0) === 0) return this.tree(p, 2 + (posState << 3), 3);
    if (this.bit(p, 1) === 0) return 8 + this.tree(p, 2 + (16 << 3) + (posState << 3), 3);
    return 16 + this.tree(p, 2 + (16 << 3) * 2, 8);
  }

  private put(b: number): void {
    this.win[this.winPos++] = b;
    if (this.winPos === this.win.length) {
      if (this.win.length < this.maxWin) {
        // not wrapped yet: the window is linear, so growing is a copy
        const bigger = new Uint8Array(Math.min(this.maxWin, this.win.length * 2));
        bigger.set(this.win);
        this.win = bigger;
      } else this.winPos = 0;
    }
    this.totalOut++;
  }

  private get(dist: number): number {
    const i = dist <= this.winPos ? this.winPos - dist : this.win.length - dist + this.winPos;
    return this.win[i]!;
  }

  private copy(dist: number, len: number): void {
    for (let i = 0; i < len; i++) this.put(this.get(dist));
  }

  private remaining(): number {
    return this.header.unpackSize === null ? Infinity : this.header.unpackSize - this.totalOut;
  }

  /**
   * Decodes about `step` more bytes (fewer when it needs input, or at the end) and returns them (a
   * copy).
   */
  decode(step: number): Buffer {
    const h = this.header;
    const target = this.totalOut + Math.max(1, Math.min(step, this.maxWin - MAX_MATCH_LEN - 1));
    const pbMask = (1 << h.pb) - 1;
    const lpMask = (1 << h.lp) - 1;
    while (!this.finished && this.totalOut < target) {
      if (this.needsInput()) break;
      if (this.remaining() <= 0) {
        this.finished = true;
        break;
      }
      const posState = this.totalOut & pbMask;
      const st = this.state;
      if (this.bit(this.isMatch, (st << POS_BITS_MAX) + posState) === 0) {
        const prev = this.totalOut > 0 ? this.get(1) : 0;
        const litState = ((this.totalOut & lpMask) << h.lc) + (prev >>> (8 - h.lc));
        const base = 0x300 * litState;
        let sym = 1;
        if (st >= 7) {
          let matchByte = this.get(this.rep0 + 1);
          do {
            const mb = (matchByte >>> 7) & 1;
            matchByte <<= 1;
            const b = this.bit(this.literal, base + ((1 + mb) << 8) + sym);
            sym = (sym << 1) | b;
            if (mb !== b) break;
          } while (sym < 0x100);
        }
        while (sym < 0x100) sym = (sym << 1) | this.bit(this.literal, base + sym);
        this.put(sym - 0x100);
        this.state = st < 4 ? 0 : st < 10 ? st - 3 : st - 6;
        continue;
      }
      let len: number;
      if (this.bit(this.isRep, st) !== 0) {
        if (this.totalOut === 0)
          throw new MalformedError("corrupt lzma stream: repeat before any data", this.label);
        if (this.bit(this.isRepG0, st) === 0) {
          if (this.bit(this.isRep0Long, (st << POS_BITS_MAX) + posState) === 0) {
            this.state = st < 7 ? 9 : 11;
            this.put(this.get(this.rep0 + 1));
            continue;
          }
        } else {
          let dist: number;
          if (this.bit(this.isRepG1, st) === 0) dist = this.rep1;
          else {
            if (this.bit(this.isRepG2, st) === 0) dist = this.rep2;
            else {
              dist = this.rep3;
              this.rep3 = this.rep2;
            }
            this.rep2 = this.rep1;
          }
          this.rep1 = this.rep0;
          this.rep0 = dist;
        }
        len = this.len(this.repLenDec, posState);
        this.state = st < 7 ? 8 : 11;
      } else {
        this.rep3 = this.rep2;
        this.rep2 = this.rep1;
        this.rep1 = this.rep0;
        len = this.len(this.lenDec, posState);
        this.state = st < 7 ? 7 : 10;
        this.rep0 = this.distance(len);
        if (this.rep0 === 0xffffffff) {
          // end marker
          if (h.unpackSize !== null && this.remaining() !== 0)
            throw new MalformedError("corrupt lzma stream: end marker before the declared size", this.label);
          this.finished = true;
          break;
        }
        if (this.rep0 >= h.dictSize || this.rep0 >= this.totalOut || this.rep0 >= this.maxWin)
          throw new MalformedError("corrupt lzma stream: match distance out of range", this.label);
      }
      len += MATCH_MIN_LEN;
      if (len > this.remaining())
        throw new MalformedError("corrupt lzma stream: data past the declared size", this.label);
      this.copy(this.rep0 + 1, len);
    }
    if (this.remaining() <= 0) this.finished = true;
    return this.takeOutput();
  }

  private distance(len: number): number {
    const lenState = Math.min(len, 3);
    const slot = this.tree(this.posSlot, lenState << 6, 6);
    if (slot < 4) return slot;
    const directBits = (slot >>> 1) - 1;
    let dist = (2 | (slot & 1)) * 2 ** directBits;
    if (slot < END_POS_MODEL_INDEX) return dist + this.reverse(this.posDecoders, dist - slot, directBits);
    dist += this.direct(directBits - NUM_ALIGN_BITS) * 16;
    return dist + this.reverse(this.align, 0, NUM_ALIGN_BITS);
  }

  private takeOutput(): Buffer {
    const n = this.totalOut - this.flushed;
    this.flushed = this.totalOut;
    const out = Buffer.allocUnsafe(n);
    const start = this.winPos - n;
    if (start >= 0) out.set(this.win.subarray(start, this.winPos));
    else {
      const head = -start;
      out.set(this.win.subarray(this.win.length - head), 0);
      out.set(this.win.subarray(0, this.winPos), head);
    }
    return out;
  }
}
