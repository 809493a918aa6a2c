// What a backup does with each table of the schema. A table holding anything the log cannot
// reproduce must be copied or consciously left out; test/backup/tableCoverage.int.test.ts fails when
// a migration adds a table this list does not decide about.
export const TABLE_COVERAGE = {
  events: "copied: the log itself, event by event with positions and hashes (events.ndjson)",
  registered_models: "rebuilt from the log",
  registered_model_tags: "rebuilt from the log",
  model_versions: "rebuilt from the log",
  model_version_tags: "rebuilt from the log",
  model_version_metrics: "rebuilt from the log",
  model_aliases: "rebuilt from the log",
  model_version_artifacts: "rebuilt from the log (inspection results are events too)",
  model_permissions: "rebuilt from the log",
  model_version_comments:
    "rebuilt from the log (comments are model-stream events; earlier bodies and deleted comments' texts are only in the log)",
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
  _prisma_migrations: "not copied: restore migrates the target with its own migrations",
} as const satisfies Record<string, string>;
