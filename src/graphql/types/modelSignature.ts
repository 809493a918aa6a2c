// A version's signature (named inputs and outputs with types and shapes): `ModelVersion.signature`
// and the mutation that sets it explicitly. A shape is a list of Dimension objects, each either a
// fixed size or a symbol (`batch`, `seq_len`, `?`): GraphQL lists cannot mix Int and String, and
// typed dimensions spare clients from parsing strings.
import { DomainError, ValidationError } from "../../domain/errors.ts";
import { SIGNATURE_SOURCES } from "../../domain/inspection.ts";
import type { SignatureSource, TensorSpec, VersionSignature } from "../../domain/inspection.ts";
import { builder } from "../builder.ts";
import { runCommand } from "../commandResult.ts";
import { EXPECTED_REVISION_FIELD, commandMutationErrors } from "./errors.ts";
import { ModelVersionPayloadRef } from "./modelVersion.ts";

type Dimension = number | string;

const DimensionRef = builder.objectRef<Dimension>("Dimension").implement({
  description:
    "One dimension of a tensor shape: exactly one of `size` (fixed) and `symbol` (named or unknown) is set.",
  fields: (t) => ({
    size: t.field({
      type: "SafeInt",
      nullable: true,
      description: "Fixed size, e.g. 3; null for a symbolic dimension.",
      resolve: (d) => (typeof d === "number" ? d : null),
    }),
    symbol: t.string({
      nullable: true,
      description: "Symbolic size, e.g. `batch` or `seq_len` (`?` when unknown); null for a fixed one.",
      resolve: (d) => (typeof d === "string" ? d : null),
    }),
  }),
});

const TensorSpecRef = builder.objectRef<TensorSpec>("TensorSpec").implement({
  description: "A named input or output of a model, with its element type and shape.",
  fields: (t) => ({
    name: t.exposeString("name", { description: "Name, as the model declares it." }),
    dtype: t.exposeString("dtype", {
      nullable: true,
      description:
        "Element type in the format's own words (`float32`, `double`, `string`…); null when not declared.",
    }),
    shape: t.field({
      type: [DimensionRef],
      nullable: true,
      description: "Dimensions, outermost first; `[]` is a scalar; null when the rank is unknown.",
      resolve: (s) => (s.shape === null ? null : [...s.shape]),
    }),
  }),
});

const SignatureSourceEnum = builder.enumType("SignatureSource", {
  description: "Where a version's signature came from.",
  values: {
    INSPECTION: {
      value: "INSPECTION",
      description:
        "Extracted from an uploaded artifact (ONNX, PMML, Core ML, SavedModel, MLeap). Only fills a version without a USER signature.",
    },
    USER: { value: "USER", description: "Set with setModelVersionSignature; inspection never replaces it." },
  } satisfies Record<SignatureSource, { value: SignatureSource; description: string }>,
});

const ModelSignatureRef = builder.objectRef<VersionSignature>("ModelSignature").implement({
  description: "The named inputs and outputs a model version expects and produces.",
  fields: (t) => ({
    inputs: t.field({
      type: [TensorSpecRef],
      description: "Inputs, in declaration order.",
      resolve: (s) => [...s.inputs],
    }),
    outputs: t.field({
      type: [TensorSpecRef],
      description: "Outputs, in declaration order.",
      resolve: (s) => [...s.outputs],
    }),
    source: t.field({ type: SignatureSourceEnum, description: "Who provided it.", resolve: (s) => s.source }),
    path: t.exposeString("path", {
      nullable: true,
      description: "The artifact it was extracted from (INSPECTION); null for USER.",
    }),
  }),
});

/** The projection stores the signature as JSON; anything not shaped like one reads as null. */
function asSignature(value: unknown): VersionSignature | null {
  if (typeof value !== "object" || value === null) return null;
  const s = value as Partial<VersionSignature>;
  if (!Array.isArray(s.inputs) || !Array.isArray(s.outputs)) return null;
  const source = (SIGNATURE_SOURCES as readonly unknown[]).includes(s.source)
    ? (s.source as SignatureSource)
    : "INSPECTION";
  return { inputs: s.inputs, outputs: s.outputs, source, path: typeof s.path === "string" ? s.path : null };
}

builder.prismaObjectField("ModelVersion", "signature", (t) =>
  t.field({
    type: ModelSignatureRef,
    nullable: true,
    description:
      "Named inputs and outputs with types and shapes: set by a user (setModelVersionSignature), or else extracted automatically from the first uploaded artifact that records one (ONNX, PMML, Core ML, SavedModel, MLeap). Null when neither happened.",
    resolve: (v) => asSignature(v.signature),
  }),
);

// ---- Mutation ----------------------------------------------------------------------------------

const DimensionInput = builder.inputType("DimensionInput", {
  description: "One dimension: give exactly one of `size` and `symbol`.",
  fields: (f) => ({
    size: f.field({ type: "SafeInt", required: false, description: "Fixed size (≥ 0)." }),
    symbol: f.string({ required: false, description: "Symbolic size, e.g. `batch` (1-128 characters)." }),
  }),
});

const TensorSpecInput = builder.inputType("TensorSpecInput", {
  description: "A named input or output.",
  fields: (f) => ({
    name: f.string({ description: "Name (1-256 characters, unique among the inputs, resp. the outputs)." }),
    dtype: f.string({ required: false, description: "Element type, e.g. `float32` (1-64 characters)." }),
    shape: f.field({
      type: [DimensionInput],
      required: false,
      description: "Dimensions, outermost first (at most 64); omit when unknown.",
    }),
  }),
});

const ModelSignatureInput = builder.inputType("ModelSignatureInput", {
  description: "A signature: at least one input or output, at most 1,000 of each.",
  fields: (f) => ({
    inputs: f.field({ type: [TensorSpecInput], description: "Inputs, in order." }),
    outputs: f.field({ type: [TensorSpecInput], description: "Outputs, in order." }),
  }),
});

interface TensorSpecArg {
  name: string;
  dtype?: string | null;
  shape?: { size?: number | null; symbol?: string | null }[] | null;
}

function toTensorSpecs(field: string, specs: readonly TensorSpecArg[]): TensorSpec[] | ValidationError {
  const out: TensorSpec[] = [];
  for (const [i, spec] of specs.entries()) {
    const shape: Dimension[] = [];
    for (const [d, dim] of (spec.shape ?? []).entries()) {
      const hasSize = dim.size !== null && dim.size !== undefined;
      const hasSymbol = dim.symbol !== null && dim.symbol !== undefined;
      if (hasSize === hasSymbol)
        return new ValidationError(
          `signature.${field}.${i}.shape.${d}`,
          "give exactly one of size and symbol",
        );
      shape.push(hasSize ? dim.size! : dim.symbol!);
    }
    out.push({
      name: spec.name,
      dtype: spec.dtype ?? null,
      shape: spec.shape === null || spec.shape === undefined ? null : shape,
    });
  }
  return out;
}

builder.mutationFields((t) => ({
  setModelVersionSignature: t.field({
    type: ModelVersionPayloadRef,
    description:
      "Sets a version's signature explicitly (any non-deleted version). A user-set signature wins: inspection never replaces it. The user-set signature it has changes nothing.",
    // The resolver's own refusals of the input's shape are ValidationErrors, which the command has too.
    errors: commandMutationErrors("SetModelVersionSignature", "SetModelVersionSignature", [ValidationError]),
    args: {
      input: t.arg({
        description: "The version and its signature.",
        type: builder.inputType("SetModelVersionSignatureInput", {
          description: "The version and its signature.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            version: f.int({ description: "Version number." }),
            signature: f.field({ type: ModelSignatureInput, description: "The signature." }),
            expectedRevision: f.int(EXPECTED_REVISION_FIELD),
          }),
        }),
      }),
    },
    resolve: (_root, { input }, ctx) => {
      const inputs = toTensorSpecs("inputs", input.signature.inputs);
      if (inputs instanceof DomainError) throw inputs;
      const outputs = toTensorSpecs("outputs", input.signature.outputs);
      if (outputs instanceof DomainError) throw outputs;
      return runCommand(
        ctx,
        { kind: "live", name: input.name },
        {
          type: "SetModelVersionSignature",
          data: { version: input.version, signature: { inputs, outputs } },
        },
        input.expectedRevision,
        input.version,
      );
    },
  }),
}));
