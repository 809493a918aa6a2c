-- Aliases, artifacts, comments and deployments name their version by its model id and number
-- instead of by its 38-character id, and the id's unique index goes (#18, docs/performance.md
-- "Storage per version"). Hand-written.
--
-- `model_versions.id` ("<model id>:<version>") was indexed only for these four tables' foreign keys
-- and for lookups by id; lookups now use the (model_id, version) key every version already has.
-- Aliases, comments and deployments held the model id and the number beside the id, so the id
-- column goes; artifacts held only the id, which becomes the model id and the number. The id stays
-- a generated column of model_versions (STORED: PostgreSQL has no other kind), so the API reads it
-- as before.

ALTER TABLE "model_aliases" DROP CONSTRAINT "model_aliases_version_id_fkey";
DROP INDEX "model_aliases_version_id_idx";
ALTER TABLE "model_aliases" DROP COLUMN "version_id";
ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_model_id_version_fkey" FOREIGN KEY ("model_id", "version") REFERENCES "model_versions"("model_id", "version") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "model_version_artifacts" DROP CONSTRAINT "model_version_artifacts_version_id_fkey";
ALTER TABLE "model_version_artifacts" ADD COLUMN "model_id" TEXT, ADD COLUMN "version" INTEGER;
UPDATE "model_version_artifacts" AS a SET "model_id" = v."model_id", "version" = v."version"
  FROM "model_versions" v WHERE v."id" = a."version_id";
ALTER TABLE "model_version_artifacts" ALTER COLUMN "model_id" SET NOT NULL, ALTER COLUMN "version" SET NOT NULL;
ALTER TABLE "model_version_artifacts" DROP CONSTRAINT "model_version_artifacts_pkey";
ALTER TABLE "model_version_artifacts" DROP COLUMN "version_id";
ALTER TABLE "model_version_artifacts" ADD CONSTRAINT "model_version_artifacts_pkey" PRIMARY KEY ("model_id", "version", "path");
ALTER TABLE "model_version_artifacts" ADD CONSTRAINT "model_version_artifacts_model_id_version_fkey" FOREIGN KEY ("model_id", "version") REFERENCES "model_versions"("model_id", "version") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "model_version_comments" DROP CONSTRAINT "model_version_comments_version_id_fkey";
DROP INDEX "model_version_comments_version_id_created_at_id_idx";
ALTER TABLE "model_version_comments" DROP COLUMN "version_id";
CREATE INDEX "model_version_comments_model_id_version_created_at_id_idx" ON "model_version_comments"("model_id", "version", "created_at", "id");
ALTER TABLE "model_version_comments" ADD CONSTRAINT "model_version_comments_model_id_version_fkey" FOREIGN KEY ("model_id", "version") REFERENCES "model_versions"("model_id", "version") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "model_version_deployments" DROP CONSTRAINT "model_version_deployments_version_id_fkey";
DROP INDEX "model_version_deployments_version_id_active_idx";
ALTER TABLE "model_version_deployments" DROP COLUMN "version_id";
CREATE INDEX "model_version_deployments_model_id_version_active_idx" ON "model_version_deployments"("model_id", "version", "active");
ALTER TABLE "model_version_deployments" ADD CONSTRAINT "model_version_deployments_model_id_version_fkey" FOREIGN KEY ("model_id", "version") REFERENCES "model_versions"("model_id", "version") ON DELETE CASCADE ON UPDATE CASCADE;

DROP INDEX "model_versions_id_key";
