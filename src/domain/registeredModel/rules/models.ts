// Rules of the model itself: creation, name, description, deletion and restoration, model tags.
import { InvalidStateError, NotFoundError, ValidationError } from "../../errors.ts";
import { ActiveDeploymentError } from "../../../deployments/domain/errors.ts";
import { environmentsServing } from "../../../deployments/domain/state.ts";
import {
  LIMITS,
  checkDescription,
  checkModelName,
  checkRoom,
  checkTagKey,
  checkTagValue,
  checkTags,
  firstError,
} from "../../validation.ts";
import type {
  CreateRegisteredModel,
  DeleteRegisteredModel,
  DeleteRegisteredModelTag,
  RenameRegisteredModel,
  RestoreRegisteredModel,
  SetRegisteredModelTag,
  UpdateRegisteredModel,
} from "../commands.ts";
import { onLiveModel } from "./commandRule.ts";
import type { CommandRule } from "./commandRule.ts";
import { toTags } from "./keyValues.ts";

export const createRegisteredModel: CommandRule<CreateRegisteredModel> = {
  errors: [InvalidStateError, ValidationError],
  decide(command, state) {
    if (state.status !== "absent")
      return new InvalidStateError(`model stream ${command.data.modelId} already exists`);
    const { modelId, name, description, tags, creatorId } = command.data;
    const error = firstError(
      checkModelName("name", name),
      checkDescription("description", description),
      checkTags("tags", tags),
    );
    if (error) return error;
    return [
      {
        type: "RegisteredModelCreated",
        data: { modelId, name, description, tags: toTags(tags), ...(creatorId ? { creatorId } : {}) },
      },
    ];
  },
};

export const renameRegisteredModel: CommandRule<RenameRegisteredModel> = onLiveModel({
  errors: [ValidationError],
  decide(command, state) {
    const { newName } = command.data;
    const error = checkModelName("newName", newName);
    if (error) return error;
    if (newName === state.name) return [];
    return [{ type: "RegisteredModelRenamed", data: { from: state.name, to: newName } }];
  },
});

export const updateRegisteredModel: CommandRule<UpdateRegisteredModel> = onLiveModel({
  errors: [ValidationError],
  decide(command, state) {
    const error = checkDescription("description", command.data.description);
    if (error) return error;
    if (command.data.description === state.description) return [];
    return [{ type: "RegisteredModelDescriptionUpdated", data: { description: command.data.description } }];
  },
});

/** Refused while environments serve any of its versions (ActiveDeploymentError names them). */
export const deleteRegisteredModel: CommandRule<DeleteRegisteredModel> = onLiveModel({
  errors: [ActiveDeploymentError],
  decide(_command, state) {
    const serving = environmentsServing(state.deployments, null);
    if (serving.length > 0) return new ActiveDeploymentError(null, serving);
    return [{ type: "RegisteredModelDeleted", data: { name: state.name } }];
  },
});

export const restoreRegisteredModel: CommandRule<RestoreRegisteredModel> = {
  errors: [InvalidStateError, NotFoundError],
  decide(_command, state) {
    if (state.status === "live") return new InvalidStateError(`model ${state.name} is not deleted`);
    if (state.status === "absent") return new NotFoundError("RegisteredModel", state.name);
    return [{ type: "RegisteredModelRestored", data: { name: state.name } }];
  },
};

export const setRegisteredModelTag: CommandRule<SetRegisteredModelTag> = onLiveModel({
  errors: [ValidationError],
  decide(command, state) {
    const { key, value } = command.data;
    const error = firstError(
      checkTagKey("key", key),
      checkTagValue("value", value),
      checkRoom("key", state.tags, key, LIMITS.maxTagsPerEntity, "the model's tags"),
    );
    if (error) return error;
    if (Object.hasOwn(state.tags, key) && state.tags[key] === value) return [];
    return [{ type: "RegisteredModelTagSet", data: { key, value } }];
  },
});

export const deleteRegisteredModelTag: CommandRule<DeleteRegisteredModelTag> = onLiveModel({
  errors: [ValidationError],
  decide(command, state) {
    const { key } = command.data;
    if (!Object.hasOwn(state.tags, key)) return [];
    return [{ type: "RegisteredModelTagDeleted", data: { key } }];
  },
});
