// The thin writer of model_version_deployments, used by the model stream's views (src/projections/
// streamViews.ts) inline, and by the rebuild through them: loads the rows a command or a batch of
// events needs, and writes back the ones that changed.
import { actorFromColumns } from "../../access/actor.ts";
import type { EventActor } from "../../access/actor.ts";
import type { Tx } from "../../db/database.ts";
import { rowBool, rowDate, rowDateOrNull, rowInt, rowJson } from "../../db/sql.ts";
import type { SqlValue } from "../../db/sql.ts";
import { deploymentKey } from "../domain/state.ts";
import type { DeploymentView } from "./evolve.ts";

/** Columns in insert order (the rebuild inserts rows in this order too). */
export const DEPLOYMENT_COLUMNS = [
  "model_id",
  "environment",
  "version",
  "endpoint",
  "description",
  "active",
  "deployed_at",
  "deployed_by",
  "retired_at",
  "retired_by",
  "retire_reason",
  "revision",
] as const;

const KEY_COLUMNS = ["model_id", "environment", "version"] as const;

/** Objects with their keys sorted, so that the same actor is stored as the same text however it was read. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortedKeys(v)]),
  );
}

/**
 * An actor as the row stores it: the JSON of the EventActor recorded with the event, keys sorted (the
 * inline projection has it from the request, the rebuild from the event table's columns).
 */
export const actorJson = (actor: EventActor | null): string | null =>
  actor === null ? null : JSON.stringify(sortedKeys(actor));

/** A stored actor, validated like the event table's actor columns (damage reads as the name alone). */
export function actorOfJson(value: unknown): EventActor {
  let stored: Partial<Record<keyof EventActor, unknown>> = {};
  try {
    const parsed = rowJson<unknown>(value);
    if (typeof parsed === "object" && parsed !== null) stored = parsed;
  } catch {
    // Damaged JSON reads as an anonymous actor, as the event table's damaged columns do.
  }
  return actorFromColumns({
    actor: typeof stored.displayName === "string" ? stored.displayName : "anonymous",
    actorId: typeof stored.id === "string" ? stored.id : null,
    actorKind: typeof stored.kind === "string" ? stored.kind : null,
    actorCredential: stored.credential ?? null,
  });
}

export const deploymentRow = (d: DeploymentView): SqlValue[] => [
  d.modelId,
  d.environment,
  d.version,
  d.endpoint,
  d.description,
  d.active,
  d.deployedAt,
  actorJson(d.deployedBy),
  d.retiredAt,
  actorJson(d.retiredBy),
  d.retireReason,
  d.revision,
];

const text = (value: unknown): string => (typeof value === "string" ? value : String(value));
const textOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : text(value);

function deploymentFromRow(row: Record<string, unknown>): DeploymentView {
  return {
    modelId: text(row.model_id),
    environment: text(row.environment),
    version: rowInt(row.version),
    endpoint: text(row.endpoint),
    description: textOrNull(row.description),
    active: rowBool(row.active),
    deployedAt: rowDate(row.deployed_at),
    deployedBy: actorOfJson(row.deployed_by),
    retiredAt: rowDateOrNull(row.retired_at),
    retiredBy: row.retired_by === null || row.retired_by === undefined ? null : actorOfJson(row.retired_by),
    retireReason: textOrNull(row.retire_reason),
    revision: rowInt(row.revision),
  };
}

/** Every active deployment of one model stream, by deployment key. */
export async function loadActiveDeployments(
  tx: Tx,
  streamId: string,
): Promise<Map<string, DeploymentView | null>> {
  const rows = await tx.query("SELECT * FROM model_version_deployments WHERE model_id = ? AND active = ?", [
    streamId,
    true,
  ]);
  return new Map(
    rows.map((row) => {
      const view = deploymentFromRow(row);
      return [deploymentKey(view.environment, view.version), view] as const;
    }),
  );
}

/** The rows of the named (environment, version) pairs; null marks a pair never deployed. */
export async function loadDeployments(
  tx: Tx,
  streamId: string,
  pairs: readonly { environment: string; version: number }[],
): Promise<Map<string, DeploymentView | null>> {
  const loaded = new Map<string, DeploymentView | null>(
    pairs.map((p) => [deploymentKey(p.environment, p.version), null]),
  );
  // One pair per event: a batch names a handful, so a query each stays cheap and simple.
  for (const { environment, version } of pairs) {
    const [row] = await tx.query(
      "SELECT * FROM model_version_deployments WHERE model_id = ? AND environment = ? AND version = ?",
      [streamId, environment, version],
    );
    if (row) loaded.set(deploymentKey(environment, version), deploymentFromRow(row));
  }
  return loaded;
}

const UPDATED_COLUMNS = DEPLOYMENT_COLUMNS.filter((c) => !(KEY_COLUMNS as readonly string[]).includes(c));
const UPSERT_SQL = `INSERT INTO model_version_deployments (${DEPLOYMENT_COLUMNS.join(", ")})
  VALUES (${DEPLOYMENT_COLUMNS.map(() => "?").join(", ")})
  ON CONFLICT (${KEY_COLUMNS.join(", ")}) DO UPDATE SET ${UPDATED_COLUMNS.map((c) => `${c} = excluded.${c}`).join(", ")}`;

/** Writes the deployments whose view changed between two states of a stream's views. */
export async function persistDeployments(
  tx: Tx,
  before: ReadonlyMap<string, DeploymentView | null>,
  after: ReadonlyMap<string, DeploymentView | null>,
): Promise<void> {
  for (const [key, view] of after) {
    if (view === null || view === (before.get(key) ?? null)) continue;
    await tx.later(UPSERT_SQL, deploymentRow(view));
  }
}
