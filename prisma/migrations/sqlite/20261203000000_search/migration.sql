-- Search: metric rows, the creator's principal id, and text columns free of LIKE wildcards.
-- Authored from `prisma migrate diff`, then edited: the columns are added in place (instead of the
-- table redefinition the diff proposes) because three of them are generated; model_version_metrics
-- is WITHOUT ROWID (a threshold checked per version reads the value from the primary key's B-tree);
-- and existing rows are backfilled from what the projections already hold and from the event log.

-- AlterTable: text filters match these. LIKE's `%` and `_` (and `\`) become the private-use code
-- points U+F0025, U+F005F and U+F005C, exactly as src/graphql/search/textFilter.ts encodes the
-- client's text, so a client's `%` matches only a `%`. Virtual: computed when read, never stored.
ALTER TABLE "registered_models" ADD COLUMN "search_name" TEXT GENERATED ALWAYS AS (replace(replace(replace("name", '\', char(983132)), '%', char(983077)), '_', char(983135))) VIRTUAL;
ALTER TABLE "registered_models" ADD COLUMN "search_description" TEXT GENERATED ALWAYS AS (replace(replace(replace("description", '\', char(983132)), '%', char(983077)), '_', char(983135))) VIRTUAL;
ALTER TABLE "model_versions" ADD COLUMN "search_description" TEXT GENERATED ALWAYS AS (replace(replace(replace("description", '\', char(983132)), '%', char(983077)), '_', char(983135))) VIRTUAL;

-- AlterTable
ALTER TABLE "model_versions" ADD COLUMN "created_by_id" TEXT;

-- CreateTable
CREATE TABLE "model_version_metrics" (
    "version_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" REAL NOT NULL,

    PRIMARY KEY ("version_id", "key"),
    CONSTRAINT "model_version_metrics_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions" ("id") ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;

-- CreateIndex
CREATE INDEX "model_version_metrics_key_value_version_id_idx" ON "model_version_metrics"("key", "value", "version_id");

-- DropIndex
DROP INDEX "model_versions_stage_idx";

-- CreateIndex
CREATE INDEX "model_versions_stage_deleted_model_id_id_idx" ON "model_versions"("stage", "deleted", "model_id", "id");

-- CreateIndex
CREATE INDEX "model_versions_created_by_id_idx" ON "model_versions"("created_by_id");

-- CreateIndex
CREATE INDEX "model_versions_created_by_idx" ON "model_versions"("created_by");

-- CreateIndex
CREATE INDEX "model_version_artifacts_verdict_idx" ON "model_version_artifacts"("verdict");

-- CreateIndex
CREATE INDEX "model_version_artifacts_format_idx" ON "model_version_artifacts"("format");

-- Backfill: every version's metrics JSON as rows (metrics are finite numbers; anything else is skipped).
INSERT INTO "model_version_metrics" ("version_id", "key", "value")
SELECT "model_versions"."id", "metric"."key", CAST("metric"."value" AS REAL)
FROM "model_versions", json_each("model_versions"."metrics") AS "metric"
WHERE "metric"."type" IN ('integer', 'real');

-- Backfill: who registered each version, from its ModelVersionCreated event (null before authentication).
UPDATE "model_versions" SET "created_by_id" = "created"."actor_id"
FROM (
    SELECT "stream_id", json_extract("data", '$.version') AS "version", "actor_id"
    FROM "events"
    WHERE "type" = 'ModelVersionCreated' AND "actor_id" IS NOT NULL
) AS "created"
WHERE "created"."stream_id" = "model_versions"."model_id" AND "created"."version" = "model_versions"."version";
