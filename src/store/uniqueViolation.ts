// Which unique constraint a failed write broke, read from the driver's error: the one place where a
// lost race becomes domain language (a concurrency conflict, or a live name taken meanwhile).
// better-sqlite3 names the columns in its message; pg names the constraint.
export type UniqueConstraint =
  "event_revision" | "live_model_name" | "principal_external_identity" | "team_name" | "api_token_hash";

const SQLITE_COLUMNS: Record<UniqueConstraint, string> = {
  // The table behind SQLite's `events` view (migration 20261220000000_event_stream).
  event_revision: "event_rows.stream_ref, event_rows.revision",
  live_model_name: "registered_models.name",
  principal_external_identity: "principals.external_issuer, principals.external_subject",
  team_name: "teams.name",
  api_token_hash: "api_tokens.token_hash",
};
const PG_CONSTRAINTS: Record<UniqueConstraint, string> = {
  event_revision: "events_stream_id_revision_key",
  live_model_name: "registered_models_live_name_key",
  principal_external_identity: "principals_external_identity_key",
  team_name: "teams_name_key",
  api_token_hash: "api_tokens_token_hash_key",
};

export function isUniqueViolation(error: unknown, constraint: UniqueConstraint): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { code?: unknown; message?: unknown; constraint?: unknown };
  if (e.code === "23505") return e.constraint === PG_CONSTRAINTS[constraint];
  if (e.code === "SQLITE_CONSTRAINT_UNIQUE")
    return (
      typeof e.message === "string" && e.message.endsWith(`constraint failed: ${SQLITE_COLUMNS[constraint]}`)
    );
  return false;
}
