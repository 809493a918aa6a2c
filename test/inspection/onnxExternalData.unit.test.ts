// onnx's loader resolves the external data of every TensorProto it can reach: initializers, node
// attribute tensors (a Constant's `value`), sparse tensors, sub-graphs and local functions. Each
// model below hides a `..` location in one of those places; each must be flagged like an initializer.
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../src/inspection/io.ts";
import { inspectOnnx } from "../../src/inspection/onnx.ts";
import { DEFAULT_LIMITS, Scan } from "../../src/inspection/verdict.ts";

const varint = (n: number): Buffer => {
  const out: number[] = [];
  for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
};
/** A varint field and a length-delimited field of the protobuf wire format. */
const num = (no: number, v: number) => Buffer.concat([varint(no << 3), varint(v)]);
const msg = (no: number, ...parts: (Buffer | string)[]) => {
  const body = Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
  return Buffer.concat([varint((no << 3) | 2), varint(body.length), body]);
};

/** TensorProto{1 dims, 2 data_type, 8 name, 13 external_data, 14 data_location = EXTERNAL}, as field `no`. */
const externalTensor = (no: number, name: string, location: string) =>
  msg(
    no,
    num(1, 4),
    num(2, 1),
    msg(8, name),
    msg(13, msg(1, "location"), msg(2, location)),
    msg(13, msg(1, "length"), msg(2, "16")),
    num(14, 1),
  );
const node = (op: string, ...attributes: Buffer[]) => msg(1, msg(4, op), ...attributes);
const attribute = (name: string, ...value: Buffer[]) => msg(5, msg(1, name), ...value);
const model = (graph: Buffer[], ...rest: Buffer[]) =>
  Buffer.concat([num(1, 8), msg(7, msg(2, "g"), ...graph), msg(8, msg(1, ""), num(2, 17)), ...rest]);

const TRAVERSAL = "../../../../../../etc/passwd";

async function inspect(bytes: Buffer) {
  const scan = new Scan(DEFAULT_LIMITS);
  const report = await inspectOnnx(new BufferSource(bytes), scan, "m.onnx");
  return { report, findings: scan.findings.map((f) => `${f.severity} ${f.message} @${f.location ?? ""}`) };
}

describe("ONNX external data outside the initializers", () => {
  it.each([
    ["an initializer", model([externalTensor(5, "w", TRAVERSAL)]), "m.onnx:graph:initializer w"],
    [
      "a Constant's value (AttributeProto.t)",
      model([node("Constant", attribute("value", num(20, 4), externalTensor(5, "c", TRAVERSAL)))]),
      "m.onnx:graph/Constant:attribute value tensor c",
    ],
    [
      "an attribute's tensor list (AttributeProto.tensors)",
      model([node("Custom", attribute("ts", num(20, 9), externalTensor(10, "t1", TRAVERSAL)))]),
      "m.onnx:graph/Custom:attribute ts tensor t1",
    ],
    [
      "a sparse initializer's values (GraphProto.sparse_initializer)",
      model([msg(15, externalTensor(1, "sv", TRAVERSAL), num(3, 4))]),
      "m.onnx:graph:sparse_initializer sv",
    ],
    [
      "a sparse attribute's indices (AttributeProto.sparse_tensor)",
      model([
        node("Constant", attribute("sparse_value", num(20, 11), msg(22, externalTensor(2, "si", TRAVERSAL)))),
      ]),
      "m.onnx:graph/Constant:attribute sparse_value tensor si",
    ],
    [
      "a Constant inside an If branch (AttributeProto.g)",
      model([
        node(
          "If",
          attribute(
            "then_branch",
            num(20, 5),
            msg(6, node("Constant", attribute("value", externalTensor(5, "c", TRAVERSAL)))),
          ),
        ),
      ]),
      "m.onnx:graph/If/Constant:attribute value tensor c",
    ],
    [
      "a Constant inside a graph list (AttributeProto.graphs)",
      model([
        node(
          "Custom",
          attribute(
            "bodies",
            num(20, 10),
            msg(11, node("Constant", attribute("value", externalTensor(5, "c", TRAVERSAL)))),
          ),
        ),
      ]),
      "m.onnx:graph/Custom/Constant:attribute value tensor c",
    ],
    [
      "a Constant in a local function (ModelProto.functions)",
      model(
        [node("Helper")],
        msg(
          25,
          msg(1, "Helper"),
          msg(10, "local"),
          msg(7, msg(4, "Constant"), attribute("value", externalTensor(5, "c", TRAVERSAL))),
        ),
      ),
      "m.onnx:function Helper/Constant:attribute value tensor c",
    ],
  ])("flags a '..' location in %s", async (_, bytes, where) => {
    const { findings, report } = await inspect(bytes);
    expect(findings).toContainEqual(
      `HIGH ONNX external_data location ${JSON.stringify(TRAVERSAL)} escapes the upload with '..' @${where}`,
    );
    expect(report.metadata?.externalDataLocations).toEqual([TRAVERSAL]);
  });

  it("checks every location entry of a tensor, not only the one the loader ends up using", async () => {
    const tensor = msg(
      5,
      msg(8, "w"),
      msg(13, msg(1, "location"), msg(2, "/etc/passwd")),
      msg(13, msg(1, "location"), msg(2, "w.bin")),
      num(14, 1),
    );
    const { findings } = await inspect(model([tensor]));
    expect(findings).toContainEqual(expect.stringMatching(/^HIGH .*"\/etc\/passwd" is an absolute path/));
  });

  it("a relative location in a Constant is recorded for the version's consistency check, not flagged", async () => {
    const { findings, report } = await inspect(
      model([node("Constant", attribute("value", externalTensor(5, "c", "weights/c.bin")))]),
    );
    expect(findings).toEqual(["INFO ONNX model stores 1 tensors in external data files @m.onnx:graph"]);
    expect(report.metadata?.externalData).toEqual([
      { tensor: "c", location: "weights/c.bin", offset: null, length: 16 },
    ]);
  });
});
