// MLflow's experiment RPCs a client calls before it starts a run: find an experiment by name (what
// `mlflow.set_experiment` does first), create one, get one by id.
import { z } from "zod";
import type { Rpc } from "../mlflowRpc.ts";
import { parse, str } from "../mlflowRpc.ts";
import { experimentJson } from "./trackingJson.ts";
import { db, keyValues, now, requireWriter, tagsOf } from "./trackingRpc.ts";
import { LIMITS, experimentIdOf, invalid } from "./trackingRules.ts";
import { createExperiment, experimentById, experimentByName } from "./trackingStore.ts";

const getExperimentByName: Rpc = async (params, ctx) => {
  const input = parse({ experiment_name: str }, params);
  return { experiment: experimentJson(await experimentByName(db(ctx), input.experiment_name, now(ctx))) };
};

const getExperiment: Rpc = async (params, ctx) => {
  const input = parse({ experiment_id: z.union([str, z.number()]) }, params);
  return {
    experiment: experimentJson(await experimentById(db(ctx), experimentIdOf(input.experiment_id), now(ctx))),
  };
};

const createExperimentRpc: Rpc = async (params, ctx) => {
  requireWriter(ctx);
  const input = parse({ name: str, artifact_location: str.optional(), tags: keyValues.optional() }, params);
  if (input.name.trim() === "") throw invalid("Invalid experiment name: ''. It must be a non-empty string");
  if (input.name.length > LIMITS.experimentNameLength)
    throw invalid(`Experiment name exceeds the maximum length of ${LIMITS.experimentNameLength}`);
  // Files reach Registro only through its MLflow artifact proxy, so the server picks the location.
  if (input.artifact_location !== undefined && input.artifact_location !== "")
    throw invalid(
      "artifact_location is chosen by Registro (mlflow-artifacts:/<experiment_id>, served by its artifact proxy); leave it out",
    );
  const tags = tagsOf(input.tags);
  if (tags.length > LIMITS.experimentTags)
    throw invalid(`An experiment can be created with at most ${LIMITS.experimentTags} tags`);
  // The last value of a repeated key wins, as for run tags.
  const unique = [...new Map(tags.map((t) => [t.key, t])).values()];
  const id = await createExperiment(db(ctx), {
    name: input.name,
    tags: unique,
    now: now(ctx),
    createdBy: ctx.principalId,
  });
  return { experiment_id: String(id) };
};

export const EXPERIMENT_RPCS: ReadonlyMap<string, ReadonlyMap<string, Rpc>> = new Map([
  ["experiments/get-by-name", new Map([["GET", getExperimentByName]])],
  ["experiments/get", new Map([["GET", getExperiment]])],
  ["experiments/create", new Map([["POST", createExperimentRpc]])],
]);
