-- Every time column as integer milliseconds on SQLite (#18, docs/performance.md "Storage per
-- version"). Hand-written, SQLite only (PostgreSQL's timestamp(3) is already 8 bytes). What
-- 20261212000000_event_time did for `events.occurred_at`, for every other DATETIME column: ISO-8601
-- text such as 2026-12-04T22:08:32.038+00:00 (29 bytes, in the row and in every index on the column)
-- becomes the same instant as integer milliseconds since the epoch (6 bytes). From here on
-- src/db/sql.ts binds dates as integers and Prisma's reader does too (timestampFormat
-- "unixepoch-ms", src/db/database.ts), so writes, filters and orders all meet one representation:
-- a column holding both would silently order every integer before every text.
--
-- Columns keep their declared type (DATETIME: NUMERIC affinity, which stores an integer as one), and
-- Prisma's SQLite adapter reads integers in a DATETIME column back as dates. Converted in place with
-- the event_time migration's exact expression: strftime('%s') and the milliseconds of strftime('%f')
-- are exact integers (no floating point). A value SQLite cannot read as a date (written outside
-- Registro) is kept as it is, and readers parse it as text (src/db/sql.ts rowDate).
--
-- Audit checkpoints are immutable: their UPDATE trigger is lifted for their one statement and put
-- back as it was (the signed content names the instant, not its storage, so signatures verify
-- unchanged). `events` was converted by 20261212000000_event_time; `_prisma_migrations` is Prisma's
-- own bookkeeping (written as Prisma writes it, src/db/migrate.ts) and stays as it is.

UPDATE "api_tokens" SET
    "expires_at" = CASE WHEN typeof("expires_at") = 'text' AND strftime('%s', "expires_at") IS NOT NULL
        THEN CAST(strftime('%s', "expires_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "expires_at"), 4) AS INTEGER)
        ELSE "expires_at" END,
    "revoked_at" = CASE WHEN typeof("revoked_at") = 'text' AND strftime('%s', "revoked_at") IS NOT NULL
        THEN CAST(strftime('%s', "revoked_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "revoked_at"), 4) AS INTEGER)
        ELSE "revoked_at" END,
    "last_used_at" = CASE WHEN typeof("last_used_at") = 'text' AND strftime('%s', "last_used_at") IS NOT NULL
        THEN CAST(strftime('%s', "last_used_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "last_used_at"), 4) AS INTEGER)
        ELSE "last_used_at" END,
    "created_at" = CASE WHEN typeof("created_at") = 'text' AND strftime('%s', "created_at") IS NOT NULL
        THEN CAST(strftime('%s', "created_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "created_at"), 4) AS INTEGER)
        ELSE "created_at" END
WHERE typeof("expires_at") = 'text' OR typeof("revoked_at") = 'text' OR typeof("last_used_at") = 'text' OR typeof("created_at") = 'text';

DROP TRIGGER "audit_checkpoints_refuse_update";
UPDATE "audit_checkpoints" SET
    "created_at" = CASE WHEN typeof("created_at") = 'text' AND strftime('%s', "created_at") IS NOT NULL
        THEN CAST(strftime('%s', "created_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "created_at"), 4) AS INTEGER)
        ELSE "created_at" END
WHERE typeof("created_at") = 'text';
CREATE TRIGGER "audit_checkpoints_refuse_update" BEFORE UPDATE ON "audit_checkpoints"
BEGIN
    SELECT RAISE(ABORT, 'registro: audit checkpoints are immutable (UPDATE refused)');
END;

UPDATE "blob_store" SET
    "recorded_at" = CASE WHEN typeof("recorded_at") = 'text' AND strftime('%s', "recorded_at") IS NOT NULL
        THEN CAST(strftime('%s', "recorded_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "recorded_at"), 4) AS INTEGER)
        ELSE "recorded_at" END
WHERE typeof("recorded_at") = 'text';

UPDATE "mlflow_artifact_files" SET
    "created_at" = CASE WHEN typeof("created_at") = 'text' AND strftime('%s', "created_at") IS NOT NULL
        THEN CAST(strftime('%s', "created_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "created_at"), 4) AS INTEGER)
        ELSE "created_at" END
WHERE typeof("created_at") = 'text';

UPDATE "model_state_snapshots" SET
    "occurred_at" = CASE WHEN typeof("occurred_at") = 'text' AND strftime('%s', "occurred_at") IS NOT NULL
        THEN CAST(strftime('%s', "occurred_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "occurred_at"), 4) AS INTEGER)
        ELSE "occurred_at" END,
    "max_occurred_at" = CASE WHEN typeof("max_occurred_at") = 'text' AND strftime('%s', "max_occurred_at") IS NOT NULL
        THEN CAST(strftime('%s', "max_occurred_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "max_occurred_at"), 4) AS INTEGER)
        ELSE "max_occurred_at" END
WHERE typeof("occurred_at") = 'text' OR typeof("max_occurred_at") = 'text';

UPDATE "model_version_artifacts" SET
    "created_at" = CASE WHEN typeof("created_at") = 'text' AND strftime('%s', "created_at") IS NOT NULL
        THEN CAST(strftime('%s', "created_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "created_at"), 4) AS INTEGER)
        ELSE "created_at" END,
    "inspected_at" = CASE WHEN typeof("inspected_at") = 'text' AND strftime('%s', "inspected_at") IS NOT NULL
        THEN CAST(strftime('%s', "inspected_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "inspected_at"), 4) AS INTEGER)
        ELSE "inspected_at" END
WHERE typeof("created_at") = 'text' OR typeof("inspected_at") = 'text';

UPDATE "model_version_comments" SET
    "created_at" = CASE WHEN typeof("created_at") = 'text' AND strftime('%s', "created_at") IS NOT NULL
        THEN CAST(strftime('%s', "created_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "created_at"), 4) AS INTEGER)
        ELSE "created_at" END,
    "updated_at" = CASE WHEN typeof("updated_at") = 'text' AND strftime('%s', "updated_at") IS NOT NULL
        THEN CAST(strftime('%s', "updated_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "updated_at"), 4) AS INTEGER)
        ELSE "updated_at" END,
    "deleted_at" = CASE WHEN typeof("deleted_at") = 'text' AND strftime('%s', "deleted_at") IS NOT NULL
        THEN CAST(strftime('%s', "deleted_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "deleted_at"), 4) AS INTEGER)
        ELSE "deleted_at" END
WHERE typeof("created_at") = 'text' OR typeof("updated_at") = 'text' OR typeof("deleted_at") = 'text';

UPDATE "model_version_deployments" SET
    "deployed_at" = CASE WHEN typeof("deployed_at") = 'text' AND strftime('%s', "deployed_at") IS NOT NULL
        THEN CAST(strftime('%s', "deployed_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "deployed_at"), 4) AS INTEGER)
        ELSE "deployed_at" END,
    "retired_at" = CASE WHEN typeof("retired_at") = 'text' AND strftime('%s', "retired_at") IS NOT NULL
        THEN CAST(strftime('%s', "retired_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "retired_at"), 4) AS INTEGER)
        ELSE "retired_at" END
WHERE typeof("deployed_at") = 'text' OR typeof("retired_at") = 'text';

UPDATE "model_versions" SET
    "created_at" = CASE WHEN typeof("created_at") = 'text' AND strftime('%s', "created_at") IS NOT NULL
        THEN CAST(strftime('%s', "created_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "created_at"), 4) AS INTEGER)
        ELSE "created_at" END,
    "updated_at" = CASE WHEN typeof("updated_at") = 'text' AND strftime('%s', "updated_at") IS NOT NULL
        THEN CAST(strftime('%s', "updated_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "updated_at"), 4) AS INTEGER)
        ELSE "updated_at" END,
    "deleted_at" = CASE WHEN typeof("deleted_at") = 'text' AND strftime('%s', "deleted_at") IS NOT NULL
        THEN CAST(strftime('%s', "deleted_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "deleted_at"), 4) AS INTEGER)
        ELSE "deleted_at" END
WHERE typeof("created_at") = 'text' OR typeof("updated_at") = 'text' OR typeof("deleted_at") = 'text';

UPDATE "principals" SET
    "created_at" = CASE WHEN typeof("created_at") = 'text' AND strftime('%s', "created_at") IS NOT NULL
        THEN CAST(strftime('%s', "created_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "created_at"), 4) AS INTEGER)
        ELSE "created_at" END,
    "updated_at" = CASE WHEN typeof("updated_at") = 'text' AND strftime('%s', "updated_at") IS NOT NULL
        THEN CAST(strftime('%s', "updated_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "updated_at"), 4) AS INTEGER)
        ELSE "updated_at" END
WHERE typeof("created_at") = 'text' OR typeof("updated_at") = 'text';

UPDATE "registered_models" SET
    "created_at" = CASE WHEN typeof("created_at") = 'text' AND strftime('%s', "created_at") IS NOT NULL
        THEN CAST(strftime('%s', "created_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "created_at"), 4) AS INTEGER)
        ELSE "created_at" END,
    "updated_at" = CASE WHEN typeof("updated_at") = 'text' AND strftime('%s', "updated_at") IS NOT NULL
        THEN CAST(strftime('%s', "updated_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "updated_at"), 4) AS INTEGER)
        ELSE "updated_at" END,
    "deleted_at" = CASE WHEN typeof("deleted_at") = 'text' AND strftime('%s', "deleted_at") IS NOT NULL
        THEN CAST(strftime('%s', "deleted_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "deleted_at"), 4) AS INTEGER)
        ELSE "deleted_at" END
WHERE typeof("created_at") = 'text' OR typeof("updated_at") = 'text' OR typeof("deleted_at") = 'text';

UPDATE "review_requests" SET
    "created_at" = CASE WHEN typeof("created_at") = 'text' AND strftime('%s', "created_at") IS NOT NULL
        THEN CAST(strftime('%s', "created_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "created_at"), 4) AS INTEGER)
        ELSE "created_at" END,
    "updated_at" = CASE WHEN typeof("updated_at") = 'text' AND strftime('%s', "updated_at") IS NOT NULL
        THEN CAST(strftime('%s', "updated_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "updated_at"), 4) AS INTEGER)
        ELSE "updated_at" END,
    "closed_at" = CASE WHEN typeof("closed_at") = 'text' AND strftime('%s', "closed_at") IS NOT NULL
        THEN CAST(strftime('%s', "closed_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "closed_at"), 4) AS INTEGER)
        ELSE "closed_at" END
WHERE typeof("created_at") = 'text' OR typeof("updated_at") = 'text' OR typeof("closed_at") = 'text';

UPDATE "team_members" SET
    "added_at" = CASE WHEN typeof("added_at") = 'text' AND strftime('%s', "added_at") IS NOT NULL
        THEN CAST(strftime('%s', "added_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "added_at"), 4) AS INTEGER)
        ELSE "added_at" END
WHERE typeof("added_at") = 'text';

UPDATE "teams" SET
    "created_at" = CASE WHEN typeof("created_at") = 'text' AND strftime('%s', "created_at") IS NOT NULL
        THEN CAST(strftime('%s', "created_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "created_at"), 4) AS INTEGER)
        ELSE "created_at" END,
    "updated_at" = CASE WHEN typeof("updated_at") = 'text' AND strftime('%s', "updated_at") IS NOT NULL
        THEN CAST(strftime('%s', "updated_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "updated_at"), 4) AS INTEGER)
        ELSE "updated_at" END
WHERE typeof("created_at") = 'text' OR typeof("updated_at") = 'text';

UPDATE "usage_applied_batches" SET
    "applied_at" = CASE WHEN typeof("applied_at") = 'text' AND strftime('%s', "applied_at") IS NOT NULL
        THEN CAST(strftime('%s', "applied_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "applied_at"), 4) AS INTEGER)
        ELSE "applied_at" END
WHERE typeof("applied_at") = 'text';

UPDATE "usage_buckets" SET
    "bucket_start" = CASE WHEN typeof("bucket_start") = 'text' AND strftime('%s', "bucket_start") IS NOT NULL
        THEN CAST(strftime('%s', "bucket_start") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "bucket_start"), 4) AS INTEGER)
        ELSE "bucket_start" END,
    "last_at" = CASE WHEN typeof("last_at") = 'text' AND strftime('%s', "last_at") IS NOT NULL
        THEN CAST(strftime('%s', "last_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "last_at"), 4) AS INTEGER)
        ELSE "last_at" END
WHERE typeof("bucket_start") = 'text' OR typeof("last_at") = 'text';

UPDATE "usage_metrics" SET
    "bucket_start" = CASE WHEN typeof("bucket_start") = 'text' AND strftime('%s', "bucket_start") IS NOT NULL
        THEN CAST(strftime('%s', "bucket_start") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "bucket_start"), 4) AS INTEGER)
        ELSE "bucket_start" END,
    "last_at" = CASE WHEN typeof("last_at") = 'text' AND strftime('%s', "last_at") IS NOT NULL
        THEN CAST(strftime('%s', "last_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "last_at"), 4) AS INTEGER)
        ELSE "last_at" END
WHERE typeof("bucket_start") = 'text' OR typeof("last_at") = 'text';

UPDATE "webhook_cursors" SET
    "lease_expires_at" = CASE WHEN typeof("lease_expires_at") = 'text' AND strftime('%s', "lease_expires_at") IS NOT NULL
        THEN CAST(strftime('%s', "lease_expires_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "lease_expires_at"), 4) AS INTEGER)
        ELSE "lease_expires_at" END,
    "next_attempt_at" = CASE WHEN typeof("next_attempt_at") = 'text' AND strftime('%s', "next_attempt_at") IS NOT NULL
        THEN CAST(strftime('%s', "next_attempt_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "next_attempt_at"), 4) AS INTEGER)
        ELSE "next_attempt_at" END,
    "failing_since" = CASE WHEN typeof("failing_since") = 'text' AND strftime('%s', "failing_since") IS NOT NULL
        THEN CAST(strftime('%s', "failing_since") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "failing_since"), 4) AS INTEGER)
        ELSE "failing_since" END
WHERE typeof("lease_expires_at") = 'text' OR typeof("next_attempt_at") = 'text' OR typeof("failing_since") = 'text';

UPDATE "webhook_deliveries" SET
    "attempted_at" = CASE WHEN typeof("attempted_at") = 'text' AND strftime('%s', "attempted_at") IS NOT NULL
        THEN CAST(strftime('%s', "attempted_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "attempted_at"), 4) AS INTEGER)
        ELSE "attempted_at" END
WHERE typeof("attempted_at") = 'text';

UPDATE "webhook_secrets" SET
    "created_at" = CASE WHEN typeof("created_at") = 'text' AND strftime('%s', "created_at") IS NOT NULL
        THEN CAST(strftime('%s', "created_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "created_at"), 4) AS INTEGER)
        ELSE "created_at" END
WHERE typeof("created_at") = 'text';

UPDATE "webhooks" SET
    "created_at" = CASE WHEN typeof("created_at") = 'text' AND strftime('%s', "created_at") IS NOT NULL
        THEN CAST(strftime('%s', "created_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "created_at"), 4) AS INTEGER)
        ELSE "created_at" END,
    "updated_at" = CASE WHEN typeof("updated_at") = 'text' AND strftime('%s', "updated_at") IS NOT NULL
        THEN CAST(strftime('%s', "updated_at") AS INTEGER) * 1000 + CAST(substr(strftime('%f', "updated_at"), 4) AS INTEGER)
        ELSE "updated_at" END
WHERE typeof("created_at") = 'text' OR typeof("updated_at") = 'text';
