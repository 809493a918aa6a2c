// Registering a model, as every entry point asks for it (GraphQL, the MLflow routes): a fresh id for
// the new stream and the CreateRegisteredModel command with the defaults of absent fields.
import { randomUUID } from "node:crypto";
import type { CreateRegisteredModel } from "../domain/registeredModel/commands.ts";
import type { ModelRef } from "./executeCommand.ts";

export interface NewRegisteredModel {
  readonly name: string;
  readonly description?: string | null | undefined;
  readonly tags?: readonly { readonly key: string; readonly value: string }[] | null | undefined;
  /** The principal registering it. */
  readonly creatorId: string;
}

export function newRegisteredModel(input: NewRegisteredModel): {
  readonly ref: ModelRef;
  readonly command: CreateRegisteredModel;
} {
  const modelId = randomUUID();
  return {
    ref: { kind: "new", modelId },
    command: {
      type: "CreateRegisteredModel",
      data: {
        modelId,
        name: input.name,
        description: input.description ?? "",
        tags: input.tags ?? [],
        creatorId: input.creatorId,
      },
    },
  };
}
