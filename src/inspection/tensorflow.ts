import type { ByteSource } from "./io.ts";
import { truncate } from "./io.ts";
import { first, ProtoReader, signedInt64, type WireField } from "./protobuf.ts";
import type { Report } from "./report.ts";
import type { TensorSpec } from "./types.ts";
import type { Scan } from "./verdict.ts";

const DTYPES: Record<number, string> = {
  1: "float32",
  2: "float64",
  3: "int32",
  4: "uint8",
  5: "int16",
  6: "int8",
  7: "string",
  8: "complex64",
  9: "int64",
  10: "bool",
  11: "qint8",
  12: "quint8",
  13: "qint32",
  14: "bfloat16",
  15: "qint16",
  16: "quint16",
  17: "uint16",
  18: "complex128",
  19: "float16",
  20: "resource",
  21: "variant",
  22: "uint32",
  23: "uint64",
};

/** Ops that touch the file system or run Python: never expected in a model served from a registry. */
const FILE_OPS = new Set(
  // Ops that open paths named by their inputs or attributes: readers, datasets reading or writing
  // record files, summary and debug writers (`debug_urls`/`dump_root` are `file://` paths), memory
  // regions mapped from a file.
  `ReadFile WriteFile MatchingFiles DeleteFile Copy WholeFileReader WholeFileReaderV2 ImmutableConst
TextLineReader TextLineReaderV2 TFRecordReader TFRecordReaderV2 FixedLengthRecordReader FixedLengthRecordReaderV2
LMDBReader IdentityReader IdentityReaderV2 ReaderReadV2 ReaderRead ReaderReadUpToV2 ReaderReadUpTo
TFRecordDataset TFRecordDatasetV2 TextLineDataset FixedLengthRecordDataset FixedLengthRecordDatasetV2 CSVDataset
CSVDatasetV2 ExperimentalCSVDataset LMDBDataset ExperimentalLMDBDataset MatchingFilesDataset
ExperimentalMatchingFilesDataset SqlDataset ExperimentalSqlDataset SaveDataset SaveDatasetV2 ExperimentalSaveDataset
LoadDataset ExperimentalLoadDataset SnapshotDataset SnapshotDatasetV2 DatasetToTFRecord ExperimentalDatasetToTFRecord
CreateSummaryFileWriter CreateSummaryDbWriter SummaryWriter WriteSummary WriteScalarSummary WriteHistogramSummary
WriteImageSummary WriteAudioSummary WriteGraphSummary WriteRawProtoSummary ImportEvent FlushSummaryWriter
DebugIdentity DebugIdentityV2 DebugIdentityV3 DebugNanCount DebugNumericSummary DebugNumericSummaryV2`
    .split(/\s+/)
    .filter(Boolean),
);
/** Distinct op names recorded; more are counted, but the dangerous ones are always recorded. */
const MAX_DISTINCT_OPS = 5000;
const PYTHON_OPS = new Set(["PyFunc", "PyFuncStateless", "EagerPyFunc"]);

/**
 * The standard op set, as far as models in the wild use it. Ops outside it are flagged
 * (MEDIUM): they need a custom kernel library, which is native code.
 */
const STANDARD_OPS = new Set(
  `Abs Acos Acosh Add AddN AddV2 All Any ApproximateEqual ArgMax ArgMin AsString Asin Asinh Assert Assign AssignAdd
AssignAddVariableOp AssignSub AssignSubVariableOp AssignVariableOp Atan Atan2 Atanh AvgPool AvgPool3D AvgPoolGrad
BatchMatMul BatchMatMulV2 BatchMatMulV3 BatchNormWithGlobalNormalization BatchToSpace BatchToSpaceND BiasAdd BiasAddGrad
BiasAddV1 Bincount Bitcast BitwiseAnd BitwiseOr BitwiseXor BroadcastArgs BroadcastGradientArgs BroadcastTo Bucketize
Case Cast Ceil CheckNumerics CheckNumericsV2 Cholesky ClipByValue Complex ComplexAbs Concat ConcatOffset ConcatV2 Conj
ConjugateTranspose Const ControlTrigger Conv2D Conv2DBackpropFilter Conv2DBackpropInput Conv3D Conv3DBackpropInputV2
Cos Cosh CropAndResize Cross Cumprod Cumsum DecodeBase64 DecodeJpeg DecodePng DecodeImage DecodeRaw DepthToSpace
DepthwiseConv2dNative DepthwiseConv2dNativeBackpropFilter DepthwiseConv2dNativeBackpropInput Dequantize DestroyResourceOp
DiagPart Diag Digamma Dilation2D DisableCopyOnRead Div DivNoNan DynamicPartition DynamicStitch Einsum Elu EluGrad
EmptyTensorList EncodeBase64 EncodePng EnsureShape Enter Equal Erf Erfc Exit Exp ExpandDims Expm1 ExtractImagePatches FFT
FFT2D FFT3D FakeQuantWithMinMaxArgs FakeQuantWithMinMaxVars FakeQuantWithMinMaxVarsPerChannel Fill Floor FloorDiv FloorMod
FusedBatchNorm FusedBatchNormGrad FusedBatchNormGradV3 FusedBatchNormV2 FusedBatchNormV3 Gather GatherNd GatherV2 Greater
GreaterEqual HashTableV2 IFFT IRFFT Identity IdentityN If Imag InTopKV2 InitializeTableFromTextFileV2 InitializeTableV2
InvertPermutation IsFinite IsInf IsNan IsVariableInitialized L2Loss LeakyRelu LeakyReluGrad LeftShift Less LessEqual
Lgamma LinSpace ListDiff Log Log1p LogSoftmax LogicalAnd LogicalNot LogicalOr LookupTableExportV2 LookupTableFindV2
LookupTableImportV2 LookupTableInsertV2 LookupTableSizeV2 LoopCond LRN MatMul MatrixBandPart MatrixDiag MatrixDiagV3
MatrixInverse MatrixSetDiag MatrixSetDiagV3 MatrixSolve MatrixTriangularSolve Max MaxPool MaxPool3D MaxPoolGrad MaxPoolV2
MaxPoolWithArgmax Maximum Mean MergeV2Checkpoints Merge Min Minimum MirrorPad Mod Mul MulNoNan Multinomial MutableHashTableV2
Ndtri Neg NextIteration NoOp NonMaxSuppressionV2 NonMaxSuppressionV3 NonMaxSuppressionV4 NonMaxSuppressionV5 NotEqual
OneHot OnesLike OptionalFromValue OptionalGetValue OptionalHasValue OptionalNone Pack Pad PadV2 PartitionedCall Placeholder
PlaceholderWithDefault Pow Prod QuantizeV2 Qr RFFT RandomShuffle RandomStandardNormal RandomUniform RandomUniformInt Range
Rank ReadVariableOp Real RealDiv Reciprocal ReciprocalGrad RefSwitch RegexFullMatch RegexReplace Relu Relu6 Relu6Grad ReluGrad
Reshape ResizeArea ResizeBicubic ResizeBilinear ResizeBilinearGrad ResizeNearestNeighbor ResizeNearestNeighborGrad
ResourceGather ResourceScatterAdd ResourceScatterUpdate ResourceStridedSliceAssign RestoreV2 Reverse ReverseSequence
ReverseV2 RightShift Rint Round Rsqrt RsqrtGrad SaveV2 ScatterNd ScatterNdUpdate SegmentMax SegmentMean SegmentMin
SegmentProd SegmentSum Select SelectV2 Selu SeluGrad Shape ShapeN ShardedFilename Sigmoid SigmoidGrad Sign Sin Sinh Size
Slice Snapshot Softmax SoftmaxCrossEntropyWithLogits Softplus SoftplusGrad Softsign SpaceToBatch SpaceToBatchND SpaceToDepth
SparseFillEmptyRows SparseReshape SparseSegmentMean SparseSegmentSqrtN SparseSegmentSum SparseSoftmaxCrossEntropyWithLogits
SparseTensorDenseMatMul SparseToDense Split SplitV Sqrt SqrtGrad Square SquaredDifference Squeeze Stack StackPopV2
StackPushV2 StackV2 StatefulPartitionedCall StatelessIf StatelessRandomNormal StatelessRandomNormalV2 StatelessRandomUniform
StatelessRandomUniformV2 StatelessWhile StaticRegexFullMatch StopGradient StridedSlice StridedSliceGrad StringJoin
StringLength StringSplit StringSplitV2 StringToHashBucketFast StringToNumber Sub Substr Sum Svd Switch TanhGrad Tan Tanh
TensorArrayGatherV3 TensorArrayReadV3 TensorArrayScatterV3 TensorArraySizeV3 TensorArrayV3 TensorArrayWriteV3
TensorListFromTensor TensorListGetItem TensorListLength TensorListReserve TensorListSetItem TensorListStack
TensorScatterAdd TensorScatterUpdate Tile TopKV2 Transpose TruncateDiv TruncateMod TruncatedNormal Unique UniqueV2
Unpack UnsortedSegmentMax UnsortedSegmentMin UnsortedSegmentProd UnsortedSegmentSum VarHandleOp VarIsInitializedOp
Variable VariableV2 Where While Xdivy Xlog1py Xlogy ZerosLike Zeta _Arg _Retval _FusedConv2D _FusedMatMul
_FusedBatchNormEx NoOp SaveSlices Restore RestoreSlice Save StringFormat PrintV2 Print Timestamp UnravelIndex
TensorListConcatV2 TensorListElementShape TensorListPushBack TensorListPopBack Roll Softmax ClipByValue`
    .split(/\s+/)
    .filter(Boolean),
);

interface OpStats {
  nodes: number;
  functions: number;
  ops: Map<string, number>;
  placeholders: TensorSpec[];
  /** Ops past MAX_DISTINCT_OPS distinct names, not recorded one by one. */
  unrecordedOps: number;
  /** `output_stream` attributes of PrintV2 nodes that name a file. */
  fileStreams: string[];
}

async function readShape(r: ProtoReader, f: WireField | undefined): Promise<(number | string)[] | null> {
  if (!f) return null;
  const m = await r.message(f.offset, f.offset + f.length);
  if (first(m, 3)?.num === 1n) return null; // unknown_rank
  const out: (number | string)[] = [];
  for (const d of m.get(2) ?? []) {
    const dm = await r.message(d.offset, d.offset + d.length);
    const size = first(dm, 1);
    const name = first(dm, 2);
    const v = size ? Number(signedInt64(size.num)) : 0;
    out.push(name ? await r.string(name, 1024) : v < 0 ? "?" : v);
  }
  return out;
}

async function readNode(r: ProtoReader, f: WireField, stats: OpStats, topLevel: boolean): Promise<void> {
  stats.nodes++;
  const m = await r.message(f.offset, f.offset + f.length);
  const opF = first(m, 2);
  const op = opF ? await r.string(opF, 1024) : "";
  // A graph with thousands of distinct junk ops must not push PyFunc out of the table.
  if (stats.ops.size < MAX_DISTINCT_OPS || stats.ops.has(op) || PYTHON_OPS.has(op) || FILE_OPS.has(op))
    stats.ops.set(op, (stats.ops.get(op) ?? 0) + 1);
  else stats.unrecordedOps++;
  if (op === "PrintV2" && stats.fileStreams.length < 100) {
    // PrintV2 appends to the file its `output_stream` attribute names as `file://<path>`.
    for (const a of m.get(5) ?? []) {
      const kv = await r.message(a.offset, a.offset + a.length);
      const k = first(kv, 1);
      const v = first(kv, 2);
      if (!k || !v || (await r.string(k, 256)) !== "output_stream") continue;
      const s = first(await r.message(v.offset, v.offset + v.length), 2);
      const stream = s ? await r.string(s, 4096) : "";
      if (stream.trimStart().toLowerCase().startsWith("file:")) stats.fileStreams.push(stream);
    }
  }
  if (topLevel && op === "Placeholder" && stats.placeholders.length < 1000) {
    const nameF = first(m, 1);
    let dtype: string | null = null;
    let shape: (number | string)[] | null = null;
    for (const a of m.get(5) ?? []) {
      const kv = await r.message(a.offset, a.offset + a.length);
      const k = first(kv, 1);
      const v = first(kv, 2);
      if (!k || !v) continue;
      const key = await r.string(k, 256);
      const av = await r.message(v.offset, v.offset + v.length);
      if (key === "dtype") dtype = DTYPES[Number(first(av, 6)?.num ?? 0)] ?? null;
      if (key === "shape") shape = await readShape(r, first(av, 7));
    }
    stats.placeholders.push({ name: nameF ? await r.string(nameF, 4096) : "", dtype, shape });
  }
}

/** GraphDef{1 node, 2 library{1 function{3 node_def}}, 4 versions}. */
async function walkGraphDef(
  r: ProtoReader,
  start: number,
  end: number,
  stats: OpStats,
): Promise<{ producer: number | null }> {
  let producer: number | null = null;
  for await (const f of r.fields(start, end)) {
    if (f.wire !== 2) continue;
    if (f.no === 1) await readNode(r, f, stats, true);
    else if (f.no === 2) {
      for await (const fn of r.fields(f.offset, f.offset + f.length)) {
        if (fn.no !== 1 || fn.wire !== 2) continue;
        stats.functions++;
        for await (const nf of r.fields(fn.offset, fn.offset + fn.length))
          if (nf.no === 3 && nf.wire === 2) await readNode(r, nf, stats, false);
      }
    } else if (f.no === 4) {
      const v = await r.message(f.offset, f.offset + f.length);
      const p = first(v, 1);
      if (p) producer = Number(p.num);
    }
  }
  return { producer };
}

function reportOps(scan: Scan, stats: OpStats, where: string): void {
  for (const op of stats.ops.keys()) {
    if (PYTHON_OPS.has(op))
      scan.add("CRITICAL", `TensorFlow graph uses ${op}, which runs arbitrary Python`, where);
    else if (FILE_OPS.has(op)) scan.add("HIGH", `TensorFlow graph uses file-system op ${op}`, where);
    else if (!STANDARD_OPS.has(op))
      scan.add(
        "MEDIUM",
        `TensorFlow graph uses non-standard op ${JSON.stringify(truncate(op, 100))} (needs a custom kernel)`,
        where,
      );
  }
  if (stats.unrecordedOps > 0)
    scan.add(
      "MEDIUM",
      `TensorFlow graph uses more than ${MAX_DISTINCT_OPS} distinct ops; ${stats.unrecordedOps} nodes with further op names not listed`,
      where,
    );
  for (const s of stats.fileStreams)
    scan.add(
      "HIGH",
      `TensorFlow graph uses PrintV2 writing to a file (output_stream ${JSON.stringify(truncate(s, 200))})`,
      where,
    );
}

async function readTensorInfoMap(
  r: ProtoReader,
  list: readonly WireField[] | undefined,
): Promise<TensorSpec[]> {
  const out: TensorSpec[] = [];
  for (const e of list ?? []) {
    const kv = await r.message(e.offset, e.offset + e.length);
    const k = first(kv, 1);
    const v = first(kv, 2);
    const name = k ? await r.string(k, 4096) : "";
    if (!v) {
      out.push({ name, dtype: null, shape: null });
      continue;
    }
    const ti = await r.message(v.offset, v.offset + v.length);
    out.push({
      name,
      dtype: DTYPES[Number(first(ti, 2)?.num ?? 0)] ?? null,
      shape: await readShape(r, first(ti, 3)),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Op statistics of a graph not walked yet. */
function newOpStats(): OpStats {
  return { nodes: 0, functions: 0, ops: new Map(), placeholders: [], unrecordedOps: 0, fileStreams: [] };
}

export async function inspectSavedModel(src: ByteSource, scan: Scan, label: string): Promise<Report> {
  const r = new ProtoReader(src, label, scan);
  const stats = newOpStats();
  let schemaVersion: string | null = null;
  let tfVersion: string | null = null;
  const metaGraphs: { tags: string[]; tensorflowVersion: string | null; signatureKeys: string[] }[] = [];
  const signatures = new Map<
    string,
    { inputs: TensorSpec[]; outputs: TensorSpec[]; methodName: string | null }
  >();
  for await (const f of r.fields(0, src.size)) {
    if (f.no === 1 && f.wire === 0) schemaVersion = String(f.num);
    if (f.no !== 2 || f.wire !== 2) continue;
    const mg = {
      tags: [] as string[],
      tensorflowVersion: null as string | null,
      signatureKeys: [] as string[],
    };
    for await (const m of r.fields(f.offset, f.offset + f.length)) {
      if (m.wire !== 2) continue;
      if (m.no === 1) {
        const info = await r.message(m.offset, m.offset + m.length);
        for (const t of info.get(4) ?? []) mg.tags.push(await r.string(t, 1024));
        const v = first(info, 5);
        if (v) mg.tensorflowVersion = tfVersion = await r.string(v, 256);
      } else if (m.no === 2) await walkGraphDef(r, m.offset, m.offset + m.length, stats);
      else if (m.no === 5) {
        const kv = await r.message(m.offset, m.offset + m.length);
        const k = first(kv, 1);
        const v = first(kv, 2);
        const key = k ? await r.string(k, 4096) : "";
        mg.signatureKeys.push(key);
        if (v && signatures.size < 100) {
          const sd = await r.message(v.offset, v.offset + v.length);
          const method = first(sd, 3);
          signatures.set(key, {
            inputs: await readTensorInfoMap(r, sd.get(1)),
            outputs: await readTensorInfoMap(r, sd.get(2)),
            methodName: method ? await r.string(method, 1024) : null,
          });
        }
      }
    }
    metaGraphs.push(mg);
  }
  reportOps(scan, stats, `${label}:graph`);
  const chosen =
    signatures.get("serving_default") ??
    [...signatures.values()].find((s) => s.inputs.length || s.outputs.length) ??
    null;
  return {
    format: "TF_SAVEDMODEL",
    formatVersion: schemaVersion,
    producer: { framework: "TensorFlow", version: tfVersion },
    metadata: {
      schemaVersion: schemaVersion === null ? null : Number(schemaVersion),
      metaGraphs,
      signatureDefs: Object.fromEntries(
        [...signatures].map(([k, v]) => [
          k,
          { methodName: v.methodName, inputs: v.inputs.length, outputs: v.outputs.length },
        ]),
      ),
      nodeCount: stats.nodes,
      functionCount: stats.functions,
      opTypes: Object.fromEntries(stats.ops),
    },
    signature: chosen ? { inputs: chosen.inputs, outputs: chosen.outputs } : null,
  };
}

export async function inspectGraphDef(src: ByteSource, scan: Scan, label: string): Promise<Report> {
  const r = new ProtoReader(src, label, scan);
  const stats = newOpStats();
  const { producer } = await walkGraphDef(r, 0, src.size, stats);
  reportOps(scan, stats, `${label}:node`);
  return {
    format: "TF_GRAPHDEF",
    formatVersion: producer === null ? null : String(producer),
    producer: { framework: "TensorFlow", version: null },
    metadata: {
      graphDefVersion: producer,
      nodeCount: stats.nodes,
      functionCount: stats.functions,
      opTypes: Object.fromEntries(stats.ops),
    },
    // A frozen graph records no outputs; Placeholders are its inputs by construction.
    signature: stats.placeholders.length ? { inputs: stats.placeholders, outputs: [] } : null,
  };
}
