// Every tracking RPC Registro serves, by path (relative to /api/2.0/mlflow/); `{name}` segments are
// path parameters (src/mlflow/rpcPaths.ts).
import type { Rpc } from "../mlflowRpc.ts";
import { EXPERIMENT_RPCS } from "./experimentRpcs.ts";
import { LOGGED_MODEL_RPCS } from "./loggedModelRpcs.ts";
import { RUN_RPCS } from "./runRpcs.ts";

export const TRACKING_RPCS: ReadonlyMap<string, ReadonlyMap<string, Rpc>> = new Map([
  ...EXPERIMENT_RPCS,
  ...RUN_RPCS,
  ...LOGGED_MODEL_RPCS,
]);
