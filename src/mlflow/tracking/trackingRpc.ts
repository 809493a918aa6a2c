// What the tracking RPCs share: who may write, the clock, and the list shapes of MLflow's requests.
import { z } from "zod";
import type { Database } from "../../db/database.ts";
import { MlflowError } from "../mlflowErrors.ts";
import type { RpcContext } from "../mlflowRpc.ts";
import { str } from "../mlflowRpc.ts";
import { validateKey, validateParamValue, validateTagValue } from "./trackingRules.ts";
import type { KeyValue } from "./trackingStore.ts";

export const db = (ctx: RpcContext): Database => ctx.commands.db;
export const now = (ctx: RpcContext): number => ctx.commands.clock().getTime();

/**
 * Writing tracking data (experiments, runs, logged models) takes the right to register models:
 * a MEMBER or ADMIN whose credential carries the `write` scope. MLflow has no per-run access
 * control, so any such principal may write to any run, not only to its own.
 */
export function requireWriter(ctx: RpcContext): void {
  if (!ctx.access.rights.canCreateModels)
    throw new MlflowError(
      "PERMISSION_DENIED",
      "Writing experiments, runs and logged models needs the right to register models (a MEMBER or ADMIN with the 'write' scope)",
    );
}

/** A list field as a client sends it; the counts MLflow limits are checked after, with MLflow's messages. */
export const keyValues = z.array(z.object({ key: str, value: str })).max(10_000);

export const int64Param = z.union([z.number(), str]);

export function tagsOf(given: readonly { key: string; value: string }[] | undefined): KeyValue[] {
  return (given ?? []).map(({ key, value }) => {
    validateKey("tag", key);
    validateTagValue(key, value);
    return { key, value };
  });
}

export function paramsOf(given: readonly { key: string; value: string }[] | undefined): KeyValue[] {
  return (given ?? []).map(({ key, value }) => {
    validateKey("param", key);
    validateParamValue(key, value);
    return { key, value };
  });
}
