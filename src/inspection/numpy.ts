import { Cursor, rangeChunks, truncate, type ByteSource } from "./io.ts";
import { reportImports, walkPickleStream, numpyItemSize } from "./pickle.ts";
import type { Report } from "./report.ts";
import { MalformedError, type Scan } from "./verdict.ts";
import { dataRecord } from "./dataRecord.ts";

export const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

type Lit = string | number | boolean | null | Lit[] | { [k: string]: Lit };

/** Parses the Python literal numpy writes as the .npy header; never evaluates anything. */
function parsePyLiteral(text: string, where: string): Lit {
  let i = 0;
  const fail = (m: string): never => {
    throw new MalformedError(`npy header: ${m} at ${i}`, where);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const val = (depth: number): Lit => {
    if (depth > 16) fail("nested too deeply");
    ws();
    const c = text[i];
    if (c === "{" || c === "[" || c === "(") {
      const close = c === "{" ? "}" : c === "[" ? "]" : ")";
      i++;
      const items: Lit[] = [];
      const obj = dataRecord<Lit>();
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return c === "{" ? obj : items;
        }
        const v = val(depth + 1);
        ws();
        if (c === "{") {
          if (text[i++] !== ":" || typeof v !== "string") fail("bad dict entry");
          obj[v as string] = val(depth + 1);
          ws();
        } else items.push(v);
        if (text[i] === ",") i++;
        else if (text[i] !== close) fail("expected separator");
      }
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail("unterminated string");
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i, i + 32));
    if (!m) fail("unexpected token");
    i += m![0].length;
    return m![0] === "True"
      ? true
      : m![0] === "False"
        ? false
        : m![0] === "None"
          ? null
          : Number(m![0].replace("L", ""));
  };
  return val(0);
}

function hasObject(descr: Lit): boolean {
  if (typeof descr === "string") return /^[<>|=]?O/.test(descr);
  if (Array.isArray(descr)) return descr.some((d) => hasObject(d));
  return false;
}

export async function inspectNumpy(src: ByteSource, scan: Scan, label: string): Promise<Report> {
  const head = await src.read(0, 12);
  if (head.length < 10 || !head.subarray(0, 6).equals(NPY_MAGIC))
    throw new MalformedError("not a .npy file", label);
  const major = head[6]!;
  const minor = head[7]!;
  let hlen: number;
  let start: number;
  if (major === 1) {
    hlen = head.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (head.length < 12) throw new MalformedError("npy header truncated", label);
    hlen = head.readUInt32LE(8);
    start = 12;
  } else throw new MalformedError(`npy version ${major}.${minor} is not supported`, label);
  if (hlen > 1 << 20 || start + hlen > src.size)
    throw new MalformedError(`npy header of ${hlen} bytes is truncated or implausible`, label);
  const text = (await src.read(start, hlen)).toString(major === 3 ? "utf8" : "latin1");
  const hdr = parsePyLiteral(text, `${label}:header`);
  if (typeof hdr !== "object" || hdr === null || Array.isArray(hdr))
    throw new MalformedError("npy header is not a dict", label);
  const descr = hdr.descr ?? null;
  const shape = Array.isArray(hdr.shape) && hdr.shape.every((d) => typeof d === "number") ? hdr.shape : null;
  if (!shape) throw new MalformedError("npy header has no shape", label);
  const dataStart = start + hlen;
  const meta: Record<string, unknown> = {
    version: `${major}.${minor}`,
    dtype: typeof descr === "string" ? descr : JSON.stringify(descr),
    shape,
    fortranOrder: hdr.fortran_order === true,
    dataBytes: src.size - dataStart,
  };
  if (hasObject(descr)) {
    // Object arrays are stored as a pickle after the header; np.load(allow_pickle=True) runs it.
    scan.add("LOW", "NumPy array has object dtype: its data is a pickle", label);
    const res = await walkPickleStream(
      new Cursor(rangeChunks(src, dataStart), `${label}:data`, dataStart),
      scan,
      { joblibArrays: false }, // np.load reads it with pickle.load
    );
    meta.embeddedPickle = {
      pickles: res.walks.length,
      imports: reportImports(scan, res.walks, `${label}:data`),
    };
  } else if (typeof descr === "string") {
    const item = numpyItemSize(descr);
    if (item !== null) {
      const need = shape.reduce((a, d) => a * d, 1) * item;
      meta.expectedDataBytes = need;
      if (need > src.size - dataStart)
        scan.incomplete(
          `Incomplete scan: .npy data needs ${need} bytes but ${src.size - dataStart} are present (truncated)`,
          label,
        );
      else if (need < src.size - dataStart)
        scan.add(
          "MEDIUM",
          `${src.size - dataStart - need} unexpected bytes after the array data`,
          `${label}@offset ${dataStart + need}`,
        );
    } else scan.add("LOW", `NumPy dtype ${truncate(descr, 40)} not understood; data size not checked`, label);
  } else scan.add("LOW", "NumPy structured dtype; data size not checked", label);
  return {
    format: "NUMPY",
    formatVersion: `${major}.${minor}`,
    producer: { framework: "NumPy", version: null },
    metadata: meta,
    signature: null,
  };
}
