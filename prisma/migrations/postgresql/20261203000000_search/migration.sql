-- Search: metric rows, the creator's principal id, and text columns free of LIKE wildcards.
-- Authored from `prisma migrate diff`; the text columns are generated, and existing rows are
-- backfilled from what the projections already hold and from the event log.

-- AlterTable: text filters match these. LIKE's `%` and `_` (and `\`) become the private-use code
-- points U+F0025, U+F005F and U+F005C, exactly as src/graphql/search/textFilter.ts encodes the
-- client's text, so a client's `%` matches only a `%`.
ALTER TABLE "registered_models"
ADD COLUMN "search_name" TEXT NOT NULL GENERATED ALWAYS AS (replace(replace(replace("name", E'\\', chr(983132)), '%', chr(983077)), '_', chr(983135))) STORED,
ADD COLUMN "search_description" TEXT NOT NULL GENERATED ALWAYS AS (replace(replace(replace("description", E'\\', chr(983132)), '%', chr(983077)), '_', chr(983135))) STORED;

-- AlterTable
ALTER TABLE "model_versions"
ADD COLUMN "created_by_id" TEXT,
ADD COLUMN "search_description" TEXT NOT NULL GENERATED ALWAYS AS (replace(replace(replace("description", E'\\', chr(983132)), '%', chr(983077)), '_', chr(983135))) STORED;

-- CreateTable
CREATE TABLE "model_version_metrics" (
    "version_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "model_version_metrics_pkey" PRIMARY KEY ("version_id","key")
);

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

-- AddForeignKey
ALTER TABLE "model_version_metrics" ADD CONSTRAINT "model_version_metrics_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill: every version's metrics JSON as rows (metrics are finite numbers; anything else is skipped).
INSERT INTO "model_version_metrics" ("version_id", "key", "value")
SELECT "model_versions"."id", "metric"."key", ("metric"."value" #>> '{}')::double precision
FROM "model_versions" CROSS JOIN LATERAL jsonb_each("model_versions"."metrics") AS "metric"
WHERE jsonb_typeof("metric"."value") = 'number';

-- Backfill: who registered each version, from its ModelVersionCreated event (null before authentication).
UPDATE "model_versions" SET "created_by_id" = "events"."actor_id"
FROM "events"
WHERE "events"."type" = 'ModelVersionCreated' AND "events"."actor_id" IS NOT NULL
  AND "events"."stream_id" = "model_versions"."model_id"
  AND ("events"."data" ->> 'version')::int = "model_versions"."version";
