// What inspection found in an artifact's bytes (format, summary, verdict, findings) as fields of
// Artifact, and the mutation that inspects stored artifacts again.
import { reinspectArtifacts } from "../../artifacts/artifactService.ts";
import { DomainError, InvalidStateError, NotFoundError, ValidationError } from "../../domain/errors.ts";
import type { ArtifactInspection, Finding, Producer } from "../../domain/inspection.ts";
import { versionConsistency } from "../../inspection/consistency.ts";
import { knownFormat } from "../../inspection/types.ts";
import { inspectionFromRow } from "../../projections/modelVersionArtifacts/evolve.ts";
import type { ArtifactView } from "../../projections/modelVersionArtifacts/evolve.ts";
import { builder } from "../builder.ts";
import type { CommandPayload } from "../commandResult.ts";
import { EXPECTED_REVISION_FIELD, commandMutationErrors } from "./errors.ts";
import { ArtifactFormatEnum, ArtifactVerdictEnum, FindingSeverityEnum } from "./inspectionEnums.ts";
import { ModelVersionPayloadRef } from "./modelVersion.ts";

type Inspected = ArtifactView["inspection"];

/** The inspection of an artifact, from a database row (columns) or a committed view (`inspection`). */
function inspectionOf(artifact: object): Inspected {
  if ("inspection" in artifact) return artifact.inspection as Inspected;
  return inspectionFromRow(artifact as Parameters<typeof inspectionFromRow>[0]);
}

const ProducerRef = builder.objectRef<Producer>("ArtifactProducer").implement({
  description: "The framework that wrote a file, as the file itself says.",
  fields: (t) => ({
    framework: t.exposeString("framework", {
      nullable: true,
      description: "E.g. `pytorch`, `scikit-learn`, `coremltools`.",
    }),
    version: t.exposeString("version", {
      nullable: true,
      description: "The framework's version, when recorded.",
    }),
  }),
});

const FindingRef = builder.objectRef<Finding>("InspectionFinding").implement({
  description: "One thing inspection noticed in a file.",
  fields: (t) => ({
    severity: t.field({
      type: FindingSeverityEnum,
      description: "How serious it is.",
      resolve: (f) => f.severity,
    }),
    message: t.exposeString("message", { description: "What was found." }),
    location: t.exposeString("location", {
      nullable: true,
      description: "Where in the file, e.g. `model.pkl@offset 1234` or `model.keras:config.json:layers[3]`.",
    }),
  }),
});

const field = <K extends keyof ArtifactInspection>(
  inspection: Inspected,
  key: K,
): ArtifactInspection[K] | null => (inspection === null ? null : inspection[key]);

builder.prismaObjectFields("ModelVersionArtifact", (t) => ({
  format: t.field({
    type: ArtifactFormatEnum,
    nullable: true,
    description: "File format recognised from the content; null until the artifact is inspected.",
    resolve: (a) => knownFormat(field(inspectionOf(a), "format")),
  }),
  formatVersion: t.string({
    nullable: true,
    description:
      "Version of the format (ONNX IR version, pickle protocol, PMML version…), when the file records one.",
    resolve: (a) => field(inspectionOf(a), "formatVersion"),
  }),
  producer: t.field({
    type: ProducerRef,
    nullable: true,
    description: "The framework (and version) that wrote the file, when it says.",
    resolve: (a) => field(inspectionOf(a), "producer"),
  }),
  metadata: t.field({
    type: "JSONObject",
    nullable: true,
    description:
      "Format-specific summary (tensors, opsets, layers, imports…; see the formats table in the README). Bounded to 64 KiB of JSON: a larger one is shrunk and carries `truncated`.",
    resolve: (a) => field(inspectionOf(a), "metadata"),
  }),
  verdict: t.field({
    type: ArtifactVerdictEnum,
    nullable: true,
    description:
      "Safety verdict of the latest inspection. Null means never inspected (e.g. uploaded before inspection existed, or with inspection off): it gates like UNSCANNABLE until `inspectModelVersionArtifacts` runs.",
    resolve: (a) => field(inspectionOf(a), "verdict"),
  }),
  findings: t.field({
    type: [FindingRef],
    description: "What the latest inspection noticed, in file order (at most 100; empty before inspection).",
    resolve: (a) => [...(field(inspectionOf(a), "findings") ?? [])],
  }),
  inspectedAt: t.field({
    type: "DateTime",
    nullable: true,
    description: "When the latest inspection was recorded; null before the first.",
    resolve: (a) => inspectionOf(a)?.inspectedAt ?? null,
  }),
}));

builder.prismaObjectField("ModelVersion", "consistencyFindings", (t) =>
  t.field({
    type: [FindingRef],
    description:
      "What inspection notices across the version's artifacts taken together (at most 100; empty when consistent or not yet inspected): ONNX external-data files missing, outside the version or shorter than the offsets they are read at; a SavedModel without its variables index or data shards; a tokenizer with more tokens than the model's embedding matrix has rows. Computed from the latest inspections; informational, not part of the safety gate. Locations name the artifact (and tensor) concerned.",
    select: { artifacts: { select: { path: true, size: true, format: true, metadata: true } } },
    resolve: (v) =>
      versionConsistency(
        v.artifacts.map((a) => ({
          path: a.path,
          size: Number(a.size),
          format: a.format,
          metadata: (a.metadata ?? null) as Record<string, unknown> | null,
        })),
      ),
  }),
);

// ---- Mutation ----------------------------------------------------------------------------------

builder.mutationFields((t) => ({
  inspectModelVersionArtifacts: t.field({
    type: ModelVersionPayloadRef,
    description:
      "Inspects stored artifacts of a version again (e.g. after a scanner upgrade) and records a new ModelVersionArtifactInspected event for each; their verdicts, and the safety gate, follow the latest. Allowed on any non-deleted version: inspection results are not part of the frozen artifact set.",
    // reinspectArtifacts refuses before the command too: inspection switched off or a deleted version
    // (InvalidState), a missing model, version or artifact (NotFound), too many or unstorable paths.
    errors: commandMutationErrors("InspectModelVersionArtifacts", "InspectModelVersionArtifacts", [
      InvalidStateError,
      NotFoundError,
      ValidationError,
    ]),
    args: {
      input: t.arg({
        description: "The version and which of its artifacts.",
        type: builder.inputType("InspectModelVersionArtifactsInput", {
          description: "Artifacts to inspect again.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            version: f.int({ description: "Version number." }),
            paths: f.stringList({
              required: false,
              description:
                "Paths of the artifacts to inspect (default: all of the version's artifacts; at most 100 per call).",
            }),
            expectedRevision: f.int(EXPECTED_REVISION_FIELD),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx): Promise<CommandPayload> => {
      const outcome = await reinspectArtifacts(
        ctx.reader,
        ctx.commands,
        ctx.inspector,
        { modelName: input.name, version: input.version, paths: input.paths ?? null },
        ctx,
        input.expectedRevision ?? undefined,
      );
      if (outcome instanceof DomainError) throw outcome;
      return {
        modelId: outcome.modelId,
        version: input.version,
        positions: outcome.events.map((e) => e.position),
        archivedVersions: [],
        views: outcome.views,
        events: outcome.events,
      };
    },
  }),
}));
