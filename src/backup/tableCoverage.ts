// What a backup does with each table of the schema. A table holding anything the log cannot
// reproduce must be copied or consciously left out; test/backup/tableCoverage.int.test.ts fails when
// a migration adds a table this list does not decide about.
export const TABLE_COVERAGE = {
  events:
    "copied: the log itself, event by event with positions and hashes (events.ndjson); on SQLite a view over event_rows and event_streams (SQLITE_STORAGE_TABLES)",
  event_types:
    "copied within events.ndjson: each event names its type; restore gives the names codes of the target's own (src/store/eventTypes.ts)",
  event_actors:
    "copied within events.ndjson: each event holds its actor's four values; restore interns them in the target (src/store/eventActors.ts)",
  registered_models: "rebuilt from the log",
  registered_model_tags: "rebuilt from the log",
  model_versions: "rebuilt from the log; on SQLite a view over model_version_rows (SQLITE_STORAGE_TABLES)",
  model_version_tags: "rebuilt from the log",
  model_version_metrics: "rebuilt from the log",
  model_aliases: "rebuilt from the log",
  model_version_artifacts: "rebuilt from the log (inspection results are events too)",
  model_permissions: "rebuilt from the log",
  model_version_comments:
    "rebuilt from the log (comments are model-stream events; earlier bodies and deleted comments' texts are only in the log)",
  model_version_deployments:
    "rebuilt from the log (ModelVersionDeployed/DeploymentRetired are model-stream events; earlier deployments of a pair are only in the log)",
  review_requests: "rebuilt from the log (the ReviewRequest* events of the model streams)",
  principals: "rebuilt from the log",
  teams: "rebuilt from the log",
  team_members: "rebuilt from the log",
  api_tokens:
    "rebuilt from the log, except last_used_at (written by src/access/lastUsed.ts, not by events): copied (token-usage.ndjson)",
  model_state_snapshots:
    "not copied: as-of read snapshots, derived from the log, written lazily and checked on use (src/store/modelSnapshots.ts)",
  audit_checkpoints:
    "copied: the signed checkpoints at or before the backup position (checkpoints.ndjson), verified and restored with their signatures",
  webhooks:
    "rebuilt from the log (the `webhook:<id>` streams; src/webhooks/projection.ts rebuildWebhookProjection)",
  webhook_secrets:
    "not copied: signing secrets never leave the database (backups are read by more people than the server); after a restore each webhook waits, delivering nothing, until rotateWebhookSecret gives it a new one (docs/webhooks.md)",
  webhook_cursors:
    "not copied: delivery positions of the source server; a restored webhook starts at the head of the restored log (its cursor row is recreated on first use), so events of the backup are not sent again",
  webhook_deliveries:
    "not copied: the delivery log is operational history of the source server, pruned after WEBHOOK_DELIVERY_LOG_RETENTION_DAYS",
  usage_buckets:
    "copied: download and serving time series are not in the log (src/usage); usage.ndjson, a page at a time from the snapshot",
  usage_metrics: "copied: custom serving metrics, with usage_buckets (usage.ndjson)",
  usage_applied_batches:
    "not copied: ids of applied usage batches matter only to retries in flight at the source, which never reach the restored database",
  mlflow_artifact_files:
    "copied: files MLflow clients uploaded through the artifact proxy are in no event (src/mlflow/stagedFiles.ts); mlflow-artifact-files.ndjson with the blobs they name",
  blob_store:
    "not copied: it names the store the source's blobs live in; the restored registry records the store the restore wrote the blobs into when its first instance starts",
  mlflow_experiments:
    "copied: MLflow tracking is not in the log (src/mlflow/tracking/trackingBackup.ts); mlflow-tracking.ndjson, a page at a time from the snapshot",
  mlflow_runs: "copied: with mlflow_experiments (mlflow-tracking.ndjson)",
  mlflow_run_params: "copied: with mlflow_experiments (mlflow-tracking.ndjson)",
  mlflow_run_tags: "copied: with mlflow_experiments (mlflow-tracking.ndjson)",
  mlflow_run_metrics:
    "copied: with mlflow_experiments (mlflow-tracking.ndjson); row ids are not copied, values are restored in their logged order",
  mlflow_logged_models: "copied: with mlflow_experiments (mlflow-tracking.ndjson)",
  mlflow_logged_model_params: "copied: with mlflow_experiments (mlflow-tracking.ndjson)",
  mlflow_logged_model_tags: "copied: with mlflow_experiments (mlflow-tracking.ndjson)",
  _prisma_migrations: "not copied: restore migrates the target with its own migrations",
} as const satisfies Record<string, string>;

/**
 * SQLite only: the tables behind its `events` view (migration 20261220000000_event_stream), which
 * the backup reads through the view like PostgreSQL's table, and behind its `model_versions` view
 * (migration 20261222000000_version_model_ref).
 */
export const SQLITE_STORAGE_TABLES = {
  event_rows: "copied as `events` (events.ndjson): the rows, each naming its stream by ref",
  event_streams:
    "copied within events.ndjson: each event names its stream; restore interns the ids in the target",
  model_version_rows: "rebuilt from the log, as `model_versions`",
} as const satisfies Record<string, string>;
