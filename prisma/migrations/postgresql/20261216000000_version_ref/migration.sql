-- Versions get an integer key, `ref`, and their tags and metrics refer to them by it (#18,
-- docs/performance.md "Storage per version"). Hand-written.
--
-- `ref` is the global position of the version's ModelVersionCreated event: deterministic, so that a
-- rebuild of the projections gives every version the key it had. A version row whose creation event
-- cannot be found (written outside Registro) gets a negative key instead of failing the upgrade.
ALTER TABLE "model_versions" ADD COLUMN "ref" INTEGER;

UPDATE "model_versions" AS v
   SET "ref" = c."position"
  FROM (
    SELECT e."stream_id", (e."data"->>'version')::integer AS "version", min(e."position") AS "position"
      FROM "events" e
      JOIN "event_types" t ON t."code" = e."type"
     WHERE t."name" = 'ModelVersionCreated'
     GROUP BY 1, 2
  ) AS c
 WHERE c."stream_id" = v."model_id" AND c."version" = v."version";

UPDATE "model_versions" AS v
   SET "ref" = -o."n"
  FROM (SELECT "id", row_number() OVER (ORDER BY "id") AS "n" FROM "model_versions" WHERE "ref" IS NULL) AS o
 WHERE o."id" = v."id";

ALTER TABLE "model_versions" ALTER COLUMN "ref" SET NOT NULL;

-- The foreign keys on `id` depend on the primary key's index: dropped, and added again on the
-- unique key that replaces it.
ALTER TABLE "model_aliases" DROP CONSTRAINT "model_aliases_version_id_fkey";
ALTER TABLE "model_version_artifacts" DROP CONSTRAINT "model_version_artifacts_version_id_fkey";
ALTER TABLE "model_version_comments" DROP CONSTRAINT "model_version_comments_version_id_fkey";
ALTER TABLE "model_version_deployments" DROP CONSTRAINT "model_version_deployments_version_id_fkey";
ALTER TABLE "model_version_tags" DROP CONSTRAINT "model_version_tags_version_id_fkey";
ALTER TABLE "model_version_metrics" DROP CONSTRAINT "model_version_metrics_version_id_fkey";

ALTER TABLE "model_versions" DROP CONSTRAINT "model_versions_pkey";
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_pkey" PRIMARY KEY ("ref");

-- `id` is generated from the model id and the version number, which it always was: writers no
-- longer send it (on SQLite it is a VIRTUAL column and takes no byte in the row; PostgreSQL has
-- only STORED generated columns, so here it keeps its bytes). Replaced, with the stage index that
-- holds it (recreated below without it).
DROP INDEX "model_versions_stage_deleted_model_id_id_idx";
ALTER TABLE "model_versions" DROP COLUMN "id";
ALTER TABLE "model_versions" ADD COLUMN "id" TEXT NOT NULL GENERATED ALWAYS AS ("model_id" || ':' || "version"::text) STORED;
CREATE UNIQUE INDEX "model_versions_id_key" ON "model_versions"("id");

ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "model_version_artifacts" ADD CONSTRAINT "model_version_artifacts_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "model_version_comments" ADD CONSTRAINT "model_version_comments_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "model_version_deployments" ADD CONSTRAINT "model_version_deployments_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The stage index no longer carries the 38-character id.
CREATE INDEX "model_versions_stage_deleted_model_id_idx" ON "model_versions"("stage", "deleted", "model_id");

-- Tags and metrics: `version_ref` instead of `version_id`.
ALTER TABLE "model_version_tags" ADD COLUMN "version_ref" INTEGER;
UPDATE "model_version_tags" AS t SET "version_ref" = v."ref" FROM "model_versions" v WHERE v."id" = t."version_id";
ALTER TABLE "model_version_tags" ALTER COLUMN "version_ref" SET NOT NULL;
ALTER TABLE "model_version_tags" DROP CONSTRAINT "model_version_tags_pkey";
DROP INDEX "model_version_tags_key_value_idx";
ALTER TABLE "model_version_tags" DROP COLUMN "version_id";
ALTER TABLE "model_version_tags" ADD CONSTRAINT "model_version_tags_pkey" PRIMARY KEY ("version_ref", "key");
CREATE INDEX "model_version_tags_key_value_idx" ON "model_version_tags"("key", "value");
ALTER TABLE "model_version_tags" ADD CONSTRAINT "model_version_tags_version_ref_fkey" FOREIGN KEY ("version_ref") REFERENCES "model_versions"("ref") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "model_version_metrics" ADD COLUMN "version_ref" INTEGER;
UPDATE "model_version_metrics" AS m SET "version_ref" = v."ref" FROM "model_versions" v WHERE v."id" = m."version_id";
ALTER TABLE "model_version_metrics" ALTER COLUMN "version_ref" SET NOT NULL;
ALTER TABLE "model_version_metrics" DROP CONSTRAINT "model_version_metrics_pkey";
DROP INDEX "model_version_metrics_key_value_version_id_idx";
ALTER TABLE "model_version_metrics" DROP COLUMN "version_id";
ALTER TABLE "model_version_metrics" ADD CONSTRAINT "model_version_metrics_pkey" PRIMARY KEY ("version_ref", "key");
CREATE INDEX "model_version_metrics_key_value_version_ref_idx" ON "model_version_metrics"("key", "value", "version_ref");
ALTER TABLE "model_version_metrics" ADD CONSTRAINT "model_version_metrics_version_ref_fkey" FOREIGN KEY ("version_ref") REFERENCES "model_versions"("ref") ON DELETE CASCADE ON UPDATE CASCADE;
