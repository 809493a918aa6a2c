// Where the projection writes version rows (migration 20261222000000_version_model_ref, #18). On
// SQLite they live in `model_version_rows`, which names the model by its stream's integer `ref` in
// `event_streams` (a model's stream id is its id), behind the `model_versions` view that every
// reader queries; on PostgreSQL in the `model_versions` table, by model id. The writers (the inline
// projection and the rebuild) name the table and the model through this, so that one statement text
// per dialect serves both and the view's INSTEAD OF triggers stay for tools and tests.
import type { Tx } from "../../db/database.ts";
import { STREAM_REF_OF_ID } from "../../store/eventStore.ts";

/** SQLite's table of version rows (the `model_versions` view reads it). */
export const SQLITE_VERSION_ROWS = "model_version_rows";

export interface VersionRowStorage {
  /** The table version rows are written to. */
  readonly table: "model_versions" | "model_version_rows";
  /** The column naming the model. */
  readonly modelColumn: "model_id" | "model_ref";
  /** SQL for that column's value, from the model id bound in its place. */
  readonly modelValue: string;
  /** SQL: the `ref` of the version whose model id and number are bound here. */
  readonly refOfNumber: string;
}

const POSTGRES: VersionRowStorage = {
  table: "model_versions",
  modelColumn: "model_id",
  modelValue: "?",
  refOfNumber: "(SELECT ref FROM model_versions WHERE model_id = ? AND version = ?)",
};

const SQLITE: VersionRowStorage = {
  table: SQLITE_VERSION_ROWS,
  modelColumn: "model_ref",
  modelValue: STREAM_REF_OF_ID,
  refOfNumber: `(SELECT ref FROM model_version_rows WHERE model_ref = ${STREAM_REF_OF_ID} AND version = ?)`,
};

export const versionRowStorage = (dialect: Tx["dialect"]): VersionRowStorage =>
  dialect === "sqlite" ? SQLITE : POSTGRES;
