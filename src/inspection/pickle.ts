import { allowDecision } from "./allowList.ts";
import { python3Import } from "./compatImports.ts";
import { deniedRule } from "./denyList.ts";
import { BufferSource, Cursor, rangeChunks, truncate, type ByteSource } from "./io.ts";
import { MalformedError, type Scan } from "./verdict.ts";
import {
  ALLOW_IMPORTS_SETTING,
  operatorEntryFor,
  suggestedEntry,
  type OperatorAllowList,
} from "./operatorAllowList.ts";

// ---------------------------------------------------------------------------------------------
// Import policy
// ---------------------------------------------------------------------------------------------

/**
 * allowed: on the built-in allow-list; accepted: allowed only by an operator's INSPECTION_ALLOW_IMPORTS
 * entry; denied: on the deny-list (whatever the allow-lists say); unknown: none of these.
 */
export type ImportClass = "allowed" | "accepted" | "denied" | "unknown";

/** How much each class weighs against a file: the worse of two readings of one import counts. */
const IMPORT_CLASS_RANK: Readonly<Record<ImportClass, number>> = {
  allowed: 0,
  accepted: 1,
  unknown: 2,
  denied: 3,
};

export interface ClassifyOptions {
  torchScript?: boolean;
  /** The operator's extra allowed imports (INSPECTION_ALLOW_IMPORTS); the deny-list still wins. */
  allowImports?: OperatorAllowList;
}

export function classifyImport(module: string, name: string, opts: ClassifyOptions = {}): ImportClass {
  if (deniedRule(module, name) !== null) return "denied";
  if (allowDecision(module, name, opts).allowed) return "allowed";
  if (opts.allowImports && operatorEntryFor(opts.allowImports, module, name) !== null) return "accepted";
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// Symbolic values: enough structure to read torch tensor records and joblib array headers.
// ---------------------------------------------------------------------------------------------

export type PV =
  | { t: "str"; v: string; truncated?: boolean; at?: number; byteLen?: number }
  | { t: "int"; v: bigint }
  | { t: "float" }
  | { t: "bool"; v: boolean }
  | { t: "none" }
  | { t: "bytes"; len: number; at?: number }
  | { t: "tuple"; items: PV[] }
  | { t: "list"; items: PV[] }
  | { t: "dict"; entries: [PV, PV][] }
  | { t: "set"; items: PV[] }
  | { t: "global"; module: string; name: string }
  | { t: "call"; fn: PV; args: PV; state: PV | null; items: PV[]; entries: [PV, PV][] }
  | { t: "pid"; id: PV }
  | { t: "opaque"; why: string };

export interface PickleImport {
  module: string;
  name: string;
  offset: number;
  opcode: string;
  /** What pickle.load imports instead, when it renames a Python 2 import (protocol below 3). */
  loadedAs?: { module: string; name: string };
}

export interface PickleWalk {
  protocol: number;
  start: number;
  /** Offset just past STOP. */
  end: number;
  ops: number;
  imports: PickleImport[];
  /** Imports whose operands could not be resolved to two strings (dangerous by rule), the first MAX_UNRESOLVED. */
  unresolved: { offset: number; opcode: string; why: string }[];
  /** How many more there were: each EXT opcode is one, and a few bytes repeat it millions of times. */
  unresolvedMore: number;
  root: PV | null;
  persistentIds: PV[];
  numpyArrays: number;
  sklearnVersion: string | null;
  extensions: number;
  /** Pickles nested inline (joblib object arrays), walked and graded with this one. */
  nestedPickles: number;
  /** Calls of an imported callable (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST): each runs as it is read. */
  calls: number;
  /** joblib arrays whose raw bytes were skipped (pickle.load would read them as opcodes). */
  rawJoblibArrays: number;
  /** Literal arguments of torch.storage._load_from_bytes calls (file offsets), for a nested walk. */
  torchBlobs: { at: number; len: number; latin1: boolean; offset: number }[];
  /** _load_from_bytes calls whose argument is not a literal of this file. */
  torchBlobsUnresolved: number;
}

const MAX_STR = 4096;
const MAX_CONTAINER_ITEMS = 200_000;
const MAX_STACK = 1_000_000;
const MAX_MEMO = 2_000_000;
/** Memo indices kept in an array; larger ones (written by hand) in a Map. */
const NEAR_MEMO = 1 << 22;

/**
 * PUT's and GET's decimal text as Python's int() reads it: leading zeros dropped, exact at any
 * length. The digits themselves are the key past NEAR_MEMO (a BigInt of a 65,535-digit line took
 * 30 ms to parse and print back).
 */
function textIndex(digits: string): number | string {
  const canonical = digits.replace(/^0+(?=\d)/, "");
  return canonical.length <= 7 && Number(canonical) < NEAR_MEMO ? Number(canonical) : canonical;
}
const MAX_LINE = 1 << 16;

function s(v: string): PV {
  return v.length > MAX_STR ? { t: "str", v: v.slice(0, MAX_STR), truncated: true } : { t: "str", v };
}

const OPCODE_NAMES: Record<number, string> = {
  0x28: "MARK",
  0x2e: "STOP",
  0x30: "POP",
  0x31: "POP_MARK",
  0x32: "DUP",
  0x46: "FLOAT",
  0x49: "INT",
  0x4a: "BININT",
  0x4b: "BININT1",
  0x4c: "LONG",
  0x4d: "BININT2",
  0x4e: "NONE",
  0x50: "PERSID",
  0x51: "BINPERSID",
  0x52: "REDUCE",
  0x53: "STRING",
  0x54: "BINSTRING",
  0x55: "SHORT_BINSTRING",
  0x56: "UNICODE",
  0x58: "BINUNICODE",
  0x61: "APPEND",
  0x62: "BUILD",
  0x63: "GLOBAL",
  0x64: "DICT",
  0x7d: "EMPTY_DICT",
  0x65: "APPENDS",
  0x67: "GET",
  0x68: "BINGET",
  0x69: "INST",
  0x6a: "LONG_BINGET",
  0x6c: "LIST",
  0x5d: "EMPTY_LIST",
  0x6f: "OBJ",
  0x70: "PUT",
  0x71: "BINPUT",
  0x72: "LONG_BINPUT",
  0x73: "SETITEM",
  0x74: "TUPLE",
  0x29: "EMPTY_TUPLE",
  0x75: "SETITEMS",
  0x47: "BINFLOAT",
  0x80: "PROTO",
  0x81: "NEWOBJ",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x85: "TUPLE1",
  0x86: "TUPLE2",
  0x87: "TUPLE3",
  0x88: "NEWTRUE",
  0x89: "NEWFALSE",
  0x8a: "LONG1",
  0x8b: "LONG4",
  0x42: "BINBYTES",
  0x43: "SHORT_BINBYTES",
  0x8c: "SHORT_BINUNICODE",
  0x8d: "BINUNICODE8",
  0x8e: "BINBYTES8",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
  0x92: "NEWOBJ_EX",
  0x93: "STACK_GLOBAL",
  0x94: "MEMOIZE",
  0x95: "FRAME",
  0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
};

export function isPickleOpcode(b: number): boolean {
  return b in OPCODE_NAMES;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};
const isOctal = (c: string | undefined) => c !== undefined && c >= "0" && c <= "7";
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/**
 * A STRING line (protocol 0) as pickle.load reads it: one pair of quotes stripped, then Python's
 * `codecs.escape_decode` (octal up to three digits, `\xhh`, the named escapes; an unknown escape
 * keeps its backslash). Module and import names come from this, so `'\157\163'` must read `os`.
 * The bytes are taken as Latin-1, one character each.
 */
export function pickleStringArgument(line: string): string {
  const q = line[0];
  const body = line.length >= 2 && (q === "'" || q === '"') && line.endsWith(q) ? line.slice(1, -1) : line;
  let out = "";
  for (let i = 0; i < body.length;) {
    const c = body[i++]!;
    if (c !== "\\" || i >= body.length) {
      out += c;
      continue;
    }
    const e = body[i++]!;
    if (Object.hasOwn(SIMPLE_ESCAPES, e)) out += SIMPLE_ESCAPES[e];
    else if (isOctal(e)) {
      let code = e.charCodeAt(0) - 48;
      for (let n = 0; n < 2 && isOctal(body[i]); n++) code = code * 8 + body.charCodeAt(i++) - 48;
      out += String.fromCharCode(code & 0xff);
    } else if (e === "x" && isHex(body[i]) && isHex(body[i + 1])) {
      out += String.fromCharCode(parseInt(body.slice(i, i + 2), 16));
      i += 2;
    } else out += `\\${e}`; // Python refuses a bad \x escape (the load fails); keeping it is as harmless
  }
  return out;
}

/**
 * A UNICODE line (protocol 0) as pickle.load reads it: Python's `raw-unicode-escape`, where only
 * `\uXXXX` and `\UXXXXXXXX` are escapes (a backslash before anything else stays, with that character)
 * and there are no quotes to strip.
 */
export function pickleUnicodeArgument(line: string): string {
  let out = "";
  for (let i = 0; i < line.length;) {
    const c = line[i++]!;
    if (c !== "\\" || i >= line.length) {
      out += c;
      continue;
    }
    const e = line[i++]!;
    const digits = e === "u" ? 4 : e === "U" ? 8 : 0;
    const hex = line.slice(i, i + digits);
    let ok = digits > 0 && hex.length === digits;
    for (let k = 0; ok && k < digits; k++) ok = isHex(hex[k]);
    const code = ok ? parseInt(hex, 16) : -1;
    if (code >= 0 && code <= 0x10ffff) {
      out += String.fromCodePoint(code);
      i += digits;
    } else out += `\\${e}`; // Python refuses a short or out-of-range escape (the load fails)
  }
  return out;
}

function leInt(buf: Buffer): bigint {
  if (buf.length === 0) return 0n;
  let v = 0n;
  for (let i = buf.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[i]!);
  if (buf[buf.length - 1]! & 0x80) v -= 1n << BigInt(buf.length * 8);
  return v;
}

export function dictGet(v: PV | null | undefined, key: string): PV | undefined {
  if (!v) return undefined;
  const entries = v.t === "dict" ? v.entries : v.t === "call" ? v.entries : null;
  if (!entries) return undefined;
  for (const [k, val] of entries) if (k.t === "str" && k.v === key) return val;
  return undefined;
}

export function globalName(v: PV | undefined): string | null {
  return v?.t === "global" ? `${v.module}.${v.name}` : null;
}

export function intsOf(v: PV | undefined): number[] | null {
  if (!v || (v.t !== "tuple" && v.t !== "list")) return null;
  const out: number[] = [];
  for (const it of v.items) {
    if (it.t !== "int") return null;
    out.push(Number(it.v));
  }
  return out;
}

/** numpy dtype.str / descr → itemsize; null when it cannot be trusted (structured, object). */
export function numpyItemSize(descr: string): number | null {
  const m = /^[<>|=]?([biufcSUVMm])(\d+)(\[[a-zA-Z]+\])?$/.exec(descr);
  if (!m) return null;
  const n = Number(m[2]);
  if (!Number.isSafeInteger(n) || n <= 0) return null;
  return m[1] === "U" ? n * 4 : n;
}

interface WalkOptions {
  scan: Scan;
  maxOps: number;
  /**
   * Read joblib's NumpyArrayWrapper as joblib's unpickler does (raw array bytes, or a nested
   * pickle for object arrays, follow its BUILD). True for top-level pickles; false inside the
   * nested pickle of an object array, which joblib reads with plain pickle.load.
   */
  joblibArrays?: boolean;
  depth?: number;
}

const MAX_NESTED_PICKLES = 4;
/** Unresolved imports kept per walk (each becomes a finding); the rest are only counted. */
const MAX_UNRESOLVED = 100;

/** A walk that has seen nothing yet, starting at byte `start`. */
export function newWalk(start: number): PickleWalk {
  return {
    protocol: 0,
    start,
    end: start,
    ops: 0,
    imports: [],
    unresolved: [],
    unresolvedMore: 0,
    root: null,
    persistentIds: [],
    numpyArrays: 0,
    sklearnVersion: null,
    extensions: 0,
    nestedPickles: 0,
    calls: 0,
    rawJoblibArrays: 0,
    torchBlobs: [],
    torchBlobsUnresolved: 0,
  };
}

/**
 * Walks one pickle from the cursor's position to its STOP without executing anything. Imports are
 * recorded as they are met, so even a walk that dies later keeps what it saw.
 */
export async function walkPickle(
  cur: Cursor,
  opts: WalkOptions,
  partial?: { walk?: PickleWalk },
): Promise<PickleWalk> {
  const { scan } = opts;
  const walk = newWalk(cur.pos);
  if (partial) partial.walk = walk;
  const stack: PV[] = [];
  const marks: number[] = [];
  // The memo: pickle.dump numbers it 0, 1, 2… (a Map of a million entries cost a microsecond per
  // entry, most of a vocabulary's walk); indices written by hand may be anywhere, up to 2^32 and
  // past it in PUT's text. Those go into a Map by their decimal text, exact however long: Python's
  // int() keeps 2^53 and 2^53 + 1 apart, where Number() would make them one entry, and a GET of one
  // would read the other's value (an import's module, say).
  const memo: PV[] = [];
  const farMemo = new Map<string, PV>();
  let memoSize = 0;
  let stored = 0;
  const loc = () => `${cur.label}@offset ${cur.pos}`;
  const bad = (msg: string): never => {
    throw new MalformedError(msg, loc());
  };
  const pop = (): PV => stack.pop() ?? bad("pickle stack underflow");
  const top = (): PV => stack[stack.length - 1] ?? bad("pickle stack underflow");
  const popMark = (): PV[] => {
    const m = marks.pop() ?? bad("pickle mark stack underflow");
    return stack.splice(m);
  };
  const push = (v: PV) => {
    if (stack.length >= MAX_STACK) bad(`pickle stack deeper than ${MAX_STACK}`);
    stack.push(v);
  };
  const keep = <T>(arr: T[], item: T) => {
    if (arr.length < MAX_CONTAINER_ITEMS && stored < 20_000_000) {
      arr.push(item);
      stored++;
    }
  };
  const setItem = (target: PV, k: PV, v: PV) => {
    if (k.t === "str" && k.v === "_sklearn_version" && v.t === "str") walk.sklearnVersion = v.v;
    if (target.t === "dict" || target.t === "call") keep(target.entries, [k, v] as [PV, PV]);
  };
  const appendTo = (target: PV, v: PV) => {
    if (target.t === "list" || target.t === "set") keep(target.items, v);
    else if (target.t === "call") keep(target.items, v);
  };
  const strAt = (v: string, at: number, n: number): PV =>
    v.length > MAX_STR || n > MAX_STR * 4
      ? { t: "str", v: v.slice(0, MAX_STR), truncated: true, at, byteLen: n }
      : { t: "str", v, at, byteLen: n };
  /** Whether a string of n bytes can be read at once: buffered and short (the common case). */
  const strReady = (n: number) => n <= MAX_STR * 4 && cur.has(n);
  /** A string of n bytes that strReady said is buffered, read without a promise. */
  const strNow = (n: number, enc: BufferEncoding): PV => strAt(cur.text(n, enc), cur.pos - n, n);
  const readStr = async (n: number, enc: BufferEncoding): Promise<PV> => {
    const at = cur.pos;
    const take = Math.min(n, MAX_STR * 4);
    await cur.need(take);
    const v = cur.bytes(take).toString(enc);
    if (n > take) await cur.skip(n - take);
    return strAt(v, at, n);
  };
  const addImport = (module: string, name: string, offset: number, opcode: string) => {
    if (walk.imports.length >= 10_000) return;
    // Below protocol 3, pickle.load imports Python 2 names under their Python 3 names (fix_imports).
    const loadedAs = walk.protocol < 3 ? python3Import(module, name) : null;
    walk.imports.push(
      loadedAs === null ? { module, name, offset, opcode } : { module, name, offset, opcode, loadedAs },
    );
  };
  const addUnresolved = (u: { offset: number; opcode: string; why: string }) => {
    if (walk.unresolved.length < MAX_UNRESOLVED) walk.unresolved.push(u);
    else walk.unresolvedMore++;
  };
  /** A memo index: a number below NEAR_MEMO, else its decimal text. */
  const memoPut = (idx: number | string, v: PV) => {
    const near = typeof idx === "number" && idx < NEAR_MEMO;
    const far = String(idx);
    if (near ? memo[idx] === undefined : !farMemo.has(far)) {
      if (memoSize >= MAX_MEMO) bad(`pickle memo larger than ${MAX_MEMO} entries`);
      memoSize++;
    }
    if (near) memo[idx] = v;
    else farMemo.set(far, v);
  };
  const memoGet = (idx: number | string): PV =>
    (typeof idx === "number" && idx < NEAR_MEMO ? memo[idx] : farMemo.get(String(idx))) ??
    bad(`pickle memo key ${truncate(String(idx), 40)} is not set`);
  /**
   * `torch.storage._load_from_bytes(b)` is torch.load of b: how a tensor pickled with plain pickle
   * (or joblib) stores itself. When b is a literal in this file, the caller can walk it.
   */
  const noteTorchBlob = (args: PV, offset: number) => {
    const a = args.t === "tuple" && args.items.length === 1 ? args.items[0]! : null;
    if (walk.torchBlobs.length >= 10_000) walk.torchBlobsUnresolved++;
    else if (a?.t === "bytes" && a.at !== undefined)
      walk.torchBlobs.push({ at: a.at, len: a.len, latin1: false, offset });
    else if (
      a?.t === "call" &&
      globalName(a.fn) === "_codecs.encode" &&
      a.args.t === "tuple" &&
      a.args.items[0]?.t === "str" &&
      a.args.items[0].at !== undefined &&
      a.args.items[1]?.t === "str" &&
      a.args.items[1].v === "latin1"
    )
      walk.torchBlobs.push({
        at: a.args.items[0].at,
        len: a.args.items[0].byteLen ?? 0,
        latin1: true,
        offset,
      });
    else walk.torchBlobsUnresolved++;
  };
  /** joblib writes an object-dtype array as a whole pickle (protocol 2) right after its wrapper. */
  const walkNested = async () => {
    const depth = (opts.depth ?? 0) + 1;
    if (depth > MAX_NESTED_PICKLES) bad(`joblib object arrays nested deeper than ${MAX_NESTED_PICKLES}`);
    const holder: { walk?: PickleWalk } = {};
    try {
      await walkPickle(
        cur,
        { ...opts, maxOps: Math.max(1, opts.maxOps - walk.ops), joblibArrays: false, depth },
        holder,
      );
    } finally {
      const inner = holder.walk;
      if (inner) {
        for (const imp of inner.imports) if (walk.imports.length < 10_000) walk.imports.push(imp);
        for (const u of inner.unresolved) addUnresolved(u);
        walk.unresolvedMore += inner.unresolvedMore;
        walk.ops += inner.ops;
        walk.extensions += inner.extensions;
        walk.nestedPickles += 1 + inner.nestedPickles;
        walk.torchBlobs.push(...inner.torchBlobs);
        walk.torchBlobsUnresolved += inner.torchBlobsUnresolved;
      }
    }
  };

  for (;;) {
    if (++walk.ops > opts.maxOps) bad(`pickle has more than ${opts.maxOps} opcodes`);
    scan.tick();
    if (!cur.has(1)) await cur.need(1);
    const opOffset = cur.pos;
    const op = cur.u8();
    switch (op) {
      case 0x2e: // STOP
        walk.end = cur.pos;
        walk.root = stack.pop() ?? null;
        return walk;
      case 0x80: {
        if (!cur.has(1)) await cur.need(1);
        walk.protocol = cur.u8();
        if (walk.protocol > 5) bad(`unsupported pickle protocol ${walk.protocol}`);
        break;
      }
      case 0x95: // FRAME: opcodes simply continue inside the frame
        if (!cur.has(8)) await cur.need(8);
        cur.u64();
        break;
      case 0x28:
        marks.push(stack.length);
        break;
      case 0x30:
        if (stack.length > (marks[marks.length - 1] ?? -1) && stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31:
        popMark();
        break;
      case 0x32:
        push(top());
        break;
      case 0x4e:
        push({ t: "none" });
        break;
      case 0x88:
        push({ t: "bool", v: true });
        break;
      case 0x89:
        push({ t: "bool", v: false });
        break;
      case 0x49: {
        const l = (await cur.line(MAX_LINE)).trim();
        if (l === "01" || l === "00") push({ t: "bool", v: l === "01" });
        else if (/^[-+]?\d+$/.test(l)) push({ t: "int", v: BigInt(l) });
        else bad(`bad INT literal ${truncate(l, 40)}`);
        break;
      }
      case 0x4c: {
        const l = (await cur.line(MAX_LINE)).trim().replace(/L$/, "");
        if (!/^[-+]?\d+$/.test(l)) bad(`bad LONG literal ${truncate(l, 40)}`);
        push({ t: "int", v: BigInt(l) });
        break;
      }
      case 0x46:
        await cur.line(MAX_LINE);
        push({ t: "float" });
        break;
      case 0x4a:
        if (!cur.has(4)) await cur.need(4);
        push({ t: "int", v: BigInt(cur.i32()) });
        break;
      case 0x4b:
        if (!cur.has(1)) await cur.need(1);
        push({ t: "int", v: BigInt(cur.u8()) });
        break;
      case 0x4d:
        if (!cur.has(2)) await cur.need(2);
        push({ t: "int", v: BigInt(cur.u16()) });
        break;
      case 0x8a: {
        if (!cur.has(1)) await cur.need(1);
        const n = cur.u8();
        if (!cur.has(n)) await cur.need(n);
        push({ t: "int", v: leInt(cur.bytes(n)) });
        break;
      }
      case 0x8b: {
        if (!cur.has(4)) await cur.need(4);
        const n = cur.i32();
        if (n < 0) bad("negative LONG4 length");
        if (n <= 64) {
          if (!cur.has(n)) await cur.need(n);
          push({ t: "int", v: leInt(cur.bytes(n)) });
        } else {
          await cur.skip(n);
          push({ t: "opaque", why: "huge int" });
        }
        break;
      }
      case 0x47:
        if (!cur.has(8)) await cur.need(8);
        cur.bytes(8);
        push({ t: "float" });
        break;
      case 0x53:
        push(s(pickleStringArgument((await cur.line(MAX_LINE)).trim())));
        break;
      case 0x56:
        push(s(pickleUnicodeArgument(await cur.line(MAX_LINE))));
        break;
      case 0x54: {
        if (!cur.has(4)) await cur.need(4);
        const n = cur.i32();
        if (n < 0) bad("negative BINSTRING length");
        push(strReady(n) ? strNow(n, "latin1") : await readStr(n, "latin1"));
        break;
      }
      case 0x55: {
        if (!cur.has(1)) await cur.need(1);
        const n = cur.u8();
        push(strReady(n) ? strNow(n, "latin1") : await readStr(n, "latin1"));
        break;
      }
      case 0x58: {
        if (!cur.has(4)) await cur.need(4);
        const n = cur.u32();
        push(strReady(n) ? strNow(n, "utf8") : await readStr(n, "utf8"));
        break;
      }
      case 0x8c: {
        if (!cur.has(1)) await cur.need(1);
        const n = cur.u8();
        push(strReady(n) ? strNow(n, "utf8") : await readStr(n, "utf8"));
        break;
      }
      case 0x8d: {
        if (!cur.has(8)) await cur.need(8);
        const n = cur.u64();
        if (n > BigInt(Number.MAX_SAFE_INTEGER)) bad("BINUNICODE8 length too large");
        push(await readStr(Number(n), "utf8"));
        break;
      }
      case 0x42:
      case 0x43:
      case 0x8e:
      case 0x96: {
        const w = op === 0x43 ? 1 : op === 0x42 ? 4 : 8;
        if (!cur.has(w)) await cur.need(w);
        const n = w === 1 ? cur.u8() : w === 4 ? cur.u32() : cur.u64();
        if (typeof n === "bigint" && n > BigInt(Number.MAX_SAFE_INTEGER)) bad("byte string length too large");
        const at = cur.pos;
        const len = Number(n);
        if (cur.has(len)) cur.pos += len;
        else await cur.skip(len);
        push({ t: "bytes", len, at });
        break;
      }
      case 0x97:
        push({ t: "opaque", why: "out-of-band buffer" });
        break;
      case 0x98:
        break;
      case 0x29:
        push({ t: "tuple", items: [] });
        break;
      case 0x74:
        push({ t: "tuple", items: popMark() });
        break;
      case 0x85:
        push({ t: "tuple", items: [pop()] });
        break;
      case 0x86: {
        const b = pop();
        const a = pop();
        push({ t: "tuple", items: [a, b] });
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        push({ t: "tuple", items: [a, b, c] });
        break;
      }
      case 0x5d:
        push({ t: "list", items: [] });
        break;
      case 0x6c:
        push({ t: "list", items: popMark() });
        break;
      case 0x7d:
        push({ t: "dict", entries: [] });
        break;
      case 0x64: {
        const items = popMark();
        const d: PV = { t: "dict", entries: [] };
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i]!, items[i + 1]!);
        push(d);
        break;
      }
      case 0x8f:
        push({ t: "set", items: [] });
        break;
      case 0x91:
        push({ t: "set", items: popMark() });
        break;
      case 0x90: {
        const items = popMark();
        const target = top();
        for (const it of items) appendTo(target, it);
        break;
      }
      case 0x61: {
        const v = pop();
        appendTo(top(), v);
        break;
      }
      case 0x65: {
        const items = popMark();
        const target = top();
        for (const it of items) appendTo(target, it);
        break;
      }
      case 0x73: {
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: {
        const items = popMark();
        const target = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(target, items[i]!, items[i + 1]!);
        break;
      }
      case 0x63: // GLOBAL
      case 0x69: {
        // INST
        const module = (await cur.line(MAX_LINE)).trim();
        const name = (await cur.line(MAX_LINE)).trim();
        addImport(module, name, opOffset, op === 0x63 ? "GLOBAL" : "INST");
        const g: PV = { t: "global", module, name };
        if (op === 0x63) push(g);
        else {
          walk.calls++;
          push({
            t: "call",
            fn: g,
            args: { t: "tuple", items: popMark() },
            state: null,
            items: [],
            entries: [],
          });
        }
        break;
      }
      case 0x93: {
        const name = pop();
        const module = pop();
        if (module.t === "str" && name.t === "str" && !module.truncated && !name.truncated) {
          addImport(module.v, name.v, opOffset, "STACK_GLOBAL");
          push({ t: "global", module: module.v, name: name.v });
        } else {
          addUnresolved({
            offset: opOffset,
            opcode: "STACK_GLOBAL",
            why: `operands are ${module.t} and ${name.t}`,
          });
          push({ t: "opaque", why: "unresolved global" });
        }
        break;
      }
      case 0x82:
      case 0x83:
      case 0x84: {
        const w = op === 0x82 ? 1 : op === 0x83 ? 2 : 4;
        if (!cur.has(w)) await cur.need(w);
        const code = w === 1 ? cur.u8() : w === 2 ? cur.u16() : cur.u32();
        walk.extensions++;
        addUnresolved({
          offset: opOffset,
          opcode: OPCODE_NAMES[op]!,
          why: `extension registry code ${code}`,
        });
        push({ t: "opaque", why: "extension" });
        break;
      }
      case 0x52: {
        const args = pop();
        const fn = pop();
        if (fn.t === "global") walk.calls++;
        if (globalName(fn) === "torch.storage._load_from_bytes") noteTorchBlob(args, opOffset);
        push({ t: "call", fn, args, state: null, items: [], entries: [] });
        break;
      }
      case 0x81: {
        const args = pop();
        const cls = pop();
        if (cls.t === "global") walk.calls++;
        push({ t: "call", fn: cls, args, state: null, items: [], entries: [] });
        break;
      }
      case 0x92: {
        pop(); // kwargs
        const args = pop();
        const cls = pop();
        if (cls.t === "global") walk.calls++;
        push({ t: "call", fn: cls, args, state: null, items: [], entries: [] });
        break;
      }
      case 0x6f: {
        const items = popMark();
        const cls = items.shift() ?? bad("OBJ without a class");
        if (cls.t === "global") walk.calls++;
        push({ t: "call", fn: cls, args: { t: "tuple", items }, state: null, items: [], entries: [] });
        break;
      }
      case 0x62: {
        const state = pop();
        const obj = top();
        if (obj.t === "call") {
          obj.state = state;
          if (state.t === "dict") for (const [k, v] of state.entries) setItem({ t: "opaque", why: "" }, k, v);
          const cls = classBuilt(obj);
          if (cls === "joblib.numpy_pickle.NumpyArrayWrapper" && opts.joblibArrays !== false) {
            if ((await skipJoblibArray(cur, state)) === "nested-pickle") await walkNested();
            else walk.rawJoblibArrays++;
          }
          if (cls?.startsWith("joblib.numpy_pickle.")) walk.numpyArrays++;
        }
        break;
      }
      case 0x50: {
        const id = s(await cur.line(MAX_LINE));
        if (walk.persistentIds.length < 1_000_000) walk.persistentIds.push(id);
        push({ t: "pid", id });
        break;
      }
      case 0x51: {
        const id = pop();
        if (walk.persistentIds.length < 1_000_000) walk.persistentIds.push(id);
        push({ t: "pid", id });
        break;
      }
      case 0x70: {
        const l = (await cur.line(MAX_LINE)).trim();
        if (!/^\d+$/.test(l)) bad("bad PUT index");
        memoPut(textIndex(l), top());
        break;
      }
      case 0x71:
        if (!cur.has(1)) await cur.need(1);
        memoPut(cur.u8(), top());
        break;
      case 0x72:
        if (!cur.has(4)) await cur.need(4);
        memoPut(cur.u32(), top());
        break;
      case 0x94:
        memoPut(memoSize, top());
        break;
      case 0x67: {
        const l = (await cur.line(MAX_LINE)).trim();
        if (!/^\d+$/.test(l)) bad("bad GET index");
        push(memoGet(textIndex(l)));
        break;
      }
      case 0x68:
        if (!cur.has(1)) await cur.need(1);
        push(memoGet(cur.u8()));
        break;
      case 0x6a:
        if (!cur.has(4)) await cur.need(4);
        push(memoGet(cur.u32()));
        break;
      default:
        cur.pos = opOffset;
        bad(`unknown pickle opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }
}

/** The constructors that make an instance of their first argument, a class, without calling it. */
const INSTANCE_CONSTRUCTORS: ReadonlySet<string> = new Set([
  "copyreg._reconstructor",
  "copy_reg._reconstructor",
  "copyreg.__newobj__",
  "copyreg.__newobj_ex__",
  "copy_reg.__newobj__",
]);

/**
 * The class of the object a BUILD applies to, as far as the pickle shows it: the class called
 * (REDUCE, NEWOBJ, OBJ, INST), or the class handed to copyreg's constructors, which make an
 * instance of it without calling it. joblib's unpickler asks `isinstance(obj, NumpyArrayWrapper)`,
 * so an array wrapper made either way reads the array's bytes that follow.
 */
function classBuilt(obj: PV & { t: "call" }): string | null {
  const fn = globalName(obj.fn);
  if (fn === null || !INSTANCE_CONSTRUCTORS.has(fn)) return fn;
  const first = obj.args.t === "tuple" ? obj.args.items[0] : undefined;
  return globalName(first);
}

/**
 * joblib writes each numpy array's raw bytes straight after its NumpyArrayWrapper BUILD; pickling
 * resumes after them. Skipping exactly that many bytes is what lets us see a payload placed after
 * the array instead of stopping (or desynchronising) there.
 */
async function skipJoblibArray(cur: Cursor, state: PV): Promise<"raw" | "nested-pickle"> {
  const at = `${cur.label}@offset ${cur.pos}`;
  const shape = intsOf(dictGet(state, "shape"));
  const dtype = dictGet(state, "dtype");
  let descr: string | null = null;
  if (dtype?.t === "call" && globalName(dtype.fn) === "numpy.dtype" && dtype.args.t === "tuple") {
    const a0 = dtype.args.items[0];
    if (a0?.t === "str") descr = a0.v;
  }
  if (!shape || !descr) throw new MalformedError("joblib array header without a readable shape/dtype", at);
  // joblib (NumpyArrayWrapper.write_array): `if array.dtype.hasobject: pickle.dump(array, fh,
  // protocol=2)`: a whole nested pickle follows, not raw bytes, and no alignment padding.
  if (descr === "O8" || descr === "O" || descr === "|O") return "nested-pickle";
  const item = numpyItemSize(descr);
  if (item === null) throw new MalformedError(`joblib array dtype ${truncate(descr, 40)} not understood`, at);
  let count = BigInt(item);
  for (const d of shape) {
    if (d < 0) throw new MalformedError("negative array dimension", at);
    count *= BigInt(d);
  }
  if (count > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedError("joblib array too large", at);
  const align = dictGet(state, "numpy_array_alignment_bytes");
  if (align && align.t === "int") {
    if (!cur.has(1)) await cur.need(1);
    const pad = cur.u8();
    if (pad > 64) throw new MalformedError(`joblib array padding of ${pad} bytes is not plausible`, at);
    await cur.skip(pad);
  }
  await cur.skip(Number(count));
  return "raw";
}

/**
 * The SUSPICIOUS finding for an import outside the allow-list: which import, why it is not
 * allow-listed, and how an operator accepts it (INSPECTION_ALLOW_IMPORTS, then re-inspection).
 */
export function notAllowListedMessage(
  module: string,
  name: string,
  opts: { torchScript?: boolean } = {},
): string {
  const d = allowDecision(module, name, opts);
  const why = d.allowed ? "" : d.why;
  const key = `${module}.${name}`;
  const add = suggestedEntry(module, name);
  const entries =
    add.classes === null
      ? `\`${add.exact}\``
      : `\`${add.exact}\` (or \`${add.classes}\` to accept every CamelCase class of that package)`;
  return (
    `Pickle imports ${key}, which is not on the allow-list: ${why}. Loading this file imports it and ` +
    `may call it. To accept it, once you have checked that ${key} is expected from the code that wrote ` +
    `the file (a class of your own package, say): add ${entries} to the server setting ` +
    `${ALLOW_IMPORTS_SETTING}, restart, and re-inspect with the inspectModelVersionArtifacts mutation ` +
    `(docs/inspection.md "What a SUSPICIOUS import finding says"). SUSPICIOUS never blocks Production ` +
    `or aliases.`
  );
}

/** The INFO finding for an import that only an operator's entry lets through, for auditors. */
export function acceptedByOperatorMessage(
  module: string,
  name: string,
  entry: string,
  opts: { torchScript?: boolean } = {},
): string {
  const d = allowDecision(module, name, opts);
  return (
    `Pickle imports ${module}.${name}, accepted by ${ALLOW_IMPORTS_SETTING} entry ${entry} ` +
    `(not on the built-in allow-list: ${d.allowed ? "" : d.why})`
  );
}

/** Grades the imports of one walk into findings; returns the distinct "module.name" strings. */
export function reportImports(
  scan: Scan,
  walks: readonly PickleWalk[],
  label: string,
  opts: { torchScript?: boolean; torchBlobsWalked?: boolean } = {},
): string[] {
  const seen = new Map<string, PickleImport>();
  for (const w of walks) {
    for (const imp of w.imports) {
      // A Python 2 name counts as what pickle.load imports for it below protocol 3 (fix_imports).
      const key = `${imp.module}.${imp.name}`;
      const loaded = imp.loadedAs ?? imp;
      const loadedKey = `${loaded.module}.${loaded.name}`;
      const seenKey = loadedKey === key ? key : `${key} as ${loadedKey}`;
      if (!seen.has(seenKey)) seen.set(seenKey, imp);
    }
    for (const u of w.unresolved)
      scan.add(
        "HIGH",
        `Pickle import via ${u.opcode} could not be resolved (${u.why}); treated as dangerous`,
        `${label}@offset ${u.offset}`,
      );
    if (w.unresolvedMore > 0)
      scan.add(
        "HIGH",
        `${w.unresolvedMore} more pickle imports could not be resolved (extension codes or computed names); treated as dangerous`,
        `${label}@offset ${w.start}`,
      );
  }
  for (const [key, imp] of seen) {
    if (key === "torch.storage._load_from_bytes" && opts.torchBlobsWalked) continue;
    // Below protocol 3 the loaded name is what a default pickle.load imports; with fix_imports=False
    // it imports the name as written: the worse of the two counts.
    const asWritten = classifyImport(imp.module, imp.name, { ...opts, allowImports: scan.allowImports });
    const loaded = imp.loadedAs
      ? classifyImport(imp.loadedAs.module, imp.loadedAs.name, { ...opts, allowImports: scan.allowImports })
      : asWritten;
    const worse = IMPORT_CLASS_RANK[loaded] >= IMPORT_CLASS_RANK[asWritten];
    const { module, name } = worse ? (imp.loadedAs ?? imp) : imp;
    const cls = worse ? loaded : asWritten;
    const where = `${label}@offset ${imp.offset}`;
    const how = imp.loadedAs
      ? `${imp.opcode}, loaded as ${imp.loadedAs.module}.${imp.loadedAs.name}`
      : imp.opcode;
    if (cls === "denied")
      scan.add(
        "CRITICAL",
        `Dangerous pickle import ${imp.module}.${imp.name} (${how}): would run code on load`,
        where,
      );
    else if (cls === "unknown") scan.add("MEDIUM", notAllowListedMessage(module, name, opts), where);
    else if (cls === "accepted") {
      const entry = operatorEntryFor(scan.allowImports, module, name)!.text;
      scan.acceptedImports.add(entry);
      scan.add("INFO", acceptedByOperatorMessage(module, name, entry, opts), where);
    }
  }
  return [...seen.keys()].slice(0, 500);
}

export interface PickleStreamResult {
  walks: PickleWalk[];
  /** False when a walk stopped early; the scan already carries the finding. */
  complete: boolean;
  trailingBytes: number;
}

/**
 * Walks consecutive pickles until the data ends. Anything after the last STOP that is not another
 * pickle is reported, since loaders that call load() repeatedly would still read it.
 */
export async function walkPickleStream(
  cur: Cursor,
  scan: Scan,
  opts: { maxPickles?: number; stopAfter?: number; joblibArrays?: boolean } = {},
): Promise<PickleStreamResult> {
  const walks: PickleWalk[] = [];
  const maxPickles = opts.maxPickles ?? 64;
  const joblibArrays = opts.joblibArrays ?? true;
  for (;;) {
    const holder: { walk?: PickleWalk } = {};
    try {
      walks.push(await walkPickle(cur, { scan, maxOps: scan.limits.maxPickleOps, joblibArrays }, holder));
    } catch (err) {
      if (holder.walk) walks.push(holder.walk);
      scan.fail(err, `${cur.label}@offset ${cur.pos}`);
      return { walks, complete: false, trailingBytes: 0 };
    }
    if (opts.stopAfter !== undefined && walks.length >= opts.stopAfter)
      return { walks, complete: true, trailingBytes: 0 };
    if (!(await cur.more())) return { walks, complete: true, trailingBytes: 0 };
    const b = cur.peekU8();
    if (walks.length >= maxPickles) {
      scan.incomplete(
        `Incomplete scan: more than ${maxPickles} concatenated pickles`,
        `${cur.label}@offset ${cur.pos}`,
      );
      return { walks, complete: false, trailingBytes: 0 };
    }
    if (b === 0x80 || b === 0x28 || b === 0x63 || b === 0x7d || b === 0x5d) continue;
    const at = cur.pos;
    scan.add(
      "MEDIUM",
      `Data after the last pickle STOP (starting with byte 0x${b.toString(16)}) that is not a pickle`,
      `${cur.label}@offset ${at}`,
    );
    return { walks, complete: true, trailingBytes: 1 };
  }
}

/**
 * A tensor pickled with plain pickle (or joblib) is `torch.storage._load_from_bytes(b)`: torch.load
 * of b, a legacy torch.save file. When every such call in the file has a literal argument, walk each
 * one as a legacy torch file (its five pickles, graded like the file's own) and return true: the
 * call itself is then no finding. Otherwise (an argument computed at load time, a blob too large, a
 * blob that is not a legacy torch file) return false and the import stays dangerous.
 */
export async function walkTorchBlobs(
  src: ByteSource,
  walks: readonly PickleWalk[],
  scan: Scan,
  label: string,
): Promise<boolean> {
  const blobs = walks.flatMap((w) => w.torchBlobs);
  if (blobs.length === 0 || walks.some((w) => w.torchBlobsUnresolved > 0)) return false;
  let total = 0;
  for (const b of blobs) {
    total += b.len;
    if (total > scan.limits.maxMemberBytes) return false;
    let buf = await src.read(b.at, b.len);
    if (buf.length !== b.len) return false;
    if (b.latin1) buf = Buffer.from(buf.toString("utf8"), "latin1");
    if (buf[0] !== 0x80) return false; // a zip or tar inside: not walked here
    const where = `${label}@offset ${b.offset}:_load_from_bytes`;
    const res = await walkPickleStream(new Cursor(rangeChunks(new BufferSource(buf)), where), scan, {
      stopAfter: 5,
      joblibArrays: false,
    });
    reportImports(scan, res.walks, where);
    if (!res.complete || res.walks.length < 5) return false;
  }
  return true;
}

/**
 * The same bytes as `pickle.load` reads them. joblib's unpickler knows that raw array bytes follow
 * a NumpyArrayWrapper; pickle.load (or torch.load, or a zip member loaded by hand) does not, and
 * reads them as opcodes. A file with raw joblib arrays is therefore walked a second time that way,
 * so a payload placed where joblib sees array data is still found. Benign array bytes read as
 * opcodes are noise (pickle.load would stop at the first error, and so does this walk): only
 * dangerous imports are reported from it.
 */
export async function reportPlainLoadReading(
  cur: Cursor,
  scan: Scan,
  label: string,
  src?: ByteSource,
): Promise<void> {
  const walks: PickleWalk[] = [];
  for (let i = 0; i < 64; i++) {
    const holder: { walk?: PickleWalk } = {};
    let failed = false;
    try {
      await walkPickle(cur, { scan, maxOps: scan.limits.maxPickleOps, joblibArrays: false }, holder);
    } catch (err) {
      if (!(err instanceof MalformedError)) throw err;
      failed = true;
    }
    if (holder.walk) walks.push(holder.walk);
    if (failed || !(await cur.more())) break;
  }
  const torchBlobsWalked = src ? await walkTorchBlobs(src, walks, scan, label) : false;
  const seen = new Map<string, PickleImport>();
  for (const w of walks) for (const imp of w.imports) seen.set(`${imp.module}.${imp.name}`, imp);
  for (const [key, imp] of seen) {
    if (key === "torch.storage._load_from_bytes" && torchBlobsWalked) continue;
    if (classifyImport(imp.module, imp.name) === "denied")
      scan.add(
        "CRITICAL",
        `Dangerous pickle import ${key} (${imp.opcode}) where joblib reads array data: pickle.load would run it`,
        `${label}@offset ${imp.offset}`,
      );
  }
}

export function producerFromImports(
  imports: readonly string[],
  sklearnVersion: string | null,
): { framework: string | null; version: string | null } | null {
  const roots = new Set(imports.map((i) => i.split(".")[0]));
  if (roots.has("sklearn")) return { framework: "scikit-learn", version: sklearnVersion };
  for (const [root, fw] of [
    ["xgboost", "XGBoost"],
    ["lightgbm", "LightGBM"],
    ["catboost", "CatBoost"],
    ["torch", "PyTorch"],
    ["pandas", "pandas"],
    ["numpy", "NumPy"],
  ] as const)
    if (roots.has(root)) return { framework: fw, version: null };
  return null;
}
