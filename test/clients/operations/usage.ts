// What a frontend writes against the generated types. Typechecked (tsc --strict) by
// codegen.e2e.test.ts next to a fresh codegen run, so it imports files that exist only there.
import type {
  CreateModelMutation,
  ListModelsQuery,
  ModelWithVersionsQuery,
  RegistryEventsSubscription,
  StageChangesSubscription,
  UploadArtifactMutationVariables,
  VersionSummaryFragment,
} from "./operations";
import type { ErrorCode, Stage } from "./schema";

/** A mutation answers a payload or a typed error; narrowing on __typename gives each its fields. */
export function describeCreation({ createRegisteredModel: outcome }: CreateModelMutation): string {
  switch (outcome.__typename) {
    case "RegisteredModelPayload":
      return `created ${outcome.registeredModel.name}`;
    case "AlreadyExistsError":
      return `${outcome.resource} ${outcome.key} already exists`;
    case "ValidationError":
      return `${outcome.field}: ${outcome.message}`;
    default: {
      const code: ErrorCode = outcome.code;
      return `${code}: ${outcome.message}`;
    }
  }
}

export const lastUpdates = (data: ListModelsQuery): Date[] =>
  data.registeredModels.nodes.map((model) => new Date(model.updatedAt));

export function storedBytes(data: ModelWithVersionsQuery): number {
  const versions = data.registeredModel?.versions.nodes ?? [];
  return versions.flatMap((version) => version.artifacts).reduce((sum, artifact) => sum + artifact.size, 0);
}

export const learningRate = (version: VersionSummaryFragment): unknown => version.params["learning_rate"];

export const promotedTo = (change: StageChangesSubscription): Stage => change.modelVersionStageChanged.stage;

export const eventPayload = (event: RegistryEventsSubscription): unknown => event.registryEvents.data;

export const uploadOf = (file: File): UploadArtifactMutationVariables => ({
  input: { name: "churn", version: 1, path: "model.onnx", file },
});

// The mapping is exact, not `any`: each of these must be a type error.
declare const models: ListModelsQuery;
declare const event: RegistryEventsSubscription;
// @ts-expect-error DateTime arrives as a string
export const notADate: Date = models.registeredModels.nodes[0]!.updatedAt;
// @ts-expect-error JSON is unknown until narrowed
export const notAString: string = event.registryEvents.data;
// @ts-expect-error ErrorCode lists the documented codes only
export const notACode: ErrorCode = "NOT_A_CODE";
export const notAFile: UploadArtifactMutationVariables = {
  // @ts-expect-error Upload is input-only and takes a File or Blob
  input: { name: "m", version: 1, path: "p", file: "x" },
};
