-- registro:foreign-keys-off
-- Aliases, artifacts, comments and deployments name their version by its model id and number
-- instead of by its 38-character id, and the id's unique index goes (#18, docs/performance.md
-- "Storage per version"). Hand-written.
--
-- `model_versions.id` ("<model id>:<version>") was indexed only for these four tables' foreign keys
-- and for lookups by id; lookups now use the (model_id, version) key every version already has.
-- Aliases, comments and deployments held the model id and the number beside the id, so the id
-- column goes; artifacts held only the id, which becomes the model id and the number. The id stays
-- a VIRTUAL generated column of model_versions, so the API reads it as before.
--
-- The first line asks src/db/migrate.ts to run this migration with foreign keys off, as SQLite's
-- documented way of changing a table's definition requires; it checks every foreign key
-- (PRAGMA foreign_key_check) before it commits.

CREATE TABLE "new_model_aliases" (
    "model_id" TEXT NOT NULL,
    "alias" TEXT NOT NULL,
    "version" INTEGER NOT NULL,

    PRIMARY KEY ("model_id", "alias"),
    CONSTRAINT "model_aliases_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "model_aliases_model_id_version_fkey" FOREIGN KEY ("model_id", "version") REFERENCES "model_versions" ("model_id", "version") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_model_aliases" ("model_id", "alias", "version")
SELECT "model_id", "alias", "version" FROM "model_aliases";
DROP TABLE "model_aliases";
ALTER TABLE "new_model_aliases" RENAME TO "model_aliases";

CREATE TABLE "new_model_version_artifacts" (
    "model_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "path" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "media_type" TEXT NOT NULL,
    "created_at" DATETIME NOT NULL,
    "created_by" TEXT NOT NULL,
    "format" TEXT,
    "format_version" TEXT,
    "producer" JSONB,
    "metadata" JSONB,
    "verdict" TEXT,
    "findings" JSONB,
    "inspected_at" DATETIME,

    PRIMARY KEY ("model_id", "version", "path"),
    CONSTRAINT "model_version_artifacts_model_id_version_fkey" FOREIGN KEY ("model_id", "version") REFERENCES "model_versions" ("model_id", "version") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_model_version_artifacts" ("model_id", "version", "path", "role", "size", "sha256", "media_type", "created_at", "created_by", "format", "format_version", "producer", "metadata", "verdict", "findings", "inspected_at")
SELECT v."model_id", v."version", a."path", a."role", a."size", a."sha256", a."media_type", a."created_at", a."created_by", a."format", a."format_version", a."producer", a."metadata", a."verdict", a."findings", a."inspected_at"
  FROM "model_version_artifacts" a JOIN "model_versions" v ON v."id" = a."version_id";
DROP TABLE "model_version_artifacts";
ALTER TABLE "new_model_version_artifacts" RENAME TO "model_version_artifacts";
CREATE INDEX "model_version_artifacts_sha256_idx" ON "model_version_artifacts"("sha256");
CREATE INDEX "model_version_artifacts_verdict_idx" ON "model_version_artifacts"("verdict");
CREATE INDEX "model_version_artifacts_format_idx" ON "model_version_artifacts"("format");

CREATE TABLE "new_model_version_comments" (
    "id" TEXT NOT NULL,
    "model_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "author_id" TEXT NOT NULL,
    "body" TEXT,
    "created_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "edited" INTEGER NOT NULL DEFAULT 0,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" DATETIME,
    "revision" INTEGER NOT NULL,

    PRIMARY KEY ("model_id", "id"),
    CONSTRAINT "model_version_comments_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "model_version_comments_model_id_version_fkey" FOREIGN KEY ("model_id", "version") REFERENCES "model_versions" ("model_id", "version") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_model_version_comments" ("id", "model_id", "version", "author_id", "body", "created_at", "updated_at", "edited", "deleted", "deleted_at", "revision")
SELECT "id", "model_id", "version", "author_id", "body", "created_at", "updated_at", "edited", "deleted", "deleted_at", "revision"
  FROM "model_version_comments";
DROP TABLE "model_version_comments";
ALTER TABLE "new_model_version_comments" RENAME TO "model_version_comments";
CREATE INDEX "model_version_comments_id_idx" ON "model_version_comments"("id");
CREATE INDEX "model_version_comments_model_id_version_created_at_id_idx" ON "model_version_comments"("model_id", "version", "created_at", "id");
CREATE INDEX "model_version_comments_author_id_idx" ON "model_version_comments"("author_id");

CREATE TABLE "new_model_version_deployments" (
    "model_id" TEXT NOT NULL,
    "environment" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "endpoint" TEXT NOT NULL,
    "description" TEXT,
    "active" BOOLEAN NOT NULL,
    "deployed_at" DATETIME NOT NULL,
    "deployed_by" TEXT NOT NULL,
    "retired_at" DATETIME,
    "retired_by" TEXT,
    "retire_reason" TEXT,
    "revision" INTEGER NOT NULL,

    PRIMARY KEY ("model_id", "environment", "version"),
    CONSTRAINT "model_version_deployments_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "model_version_deployments_model_id_version_fkey" FOREIGN KEY ("model_id", "version") REFERENCES "model_versions" ("model_id", "version") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_model_version_deployments" ("model_id", "environment", "version", "endpoint", "description", "active", "deployed_at", "deployed_by", "retired_at", "retired_by", "retire_reason", "revision")
SELECT "model_id", "environment", "version", "endpoint", "description", "active", "deployed_at", "deployed_by", "retired_at", "retired_by", "retire_reason", "revision"
  FROM "model_version_deployments";
DROP TABLE "model_version_deployments";
ALTER TABLE "new_model_version_deployments" RENAME TO "model_version_deployments";
CREATE INDEX "model_version_deployments_model_id_active_environment_idx" ON "model_version_deployments"("model_id", "active", "environment");
CREATE INDEX "model_version_deployments_model_id_version_active_idx" ON "model_version_deployments"("model_id", "version", "active");

DROP INDEX "model_versions_id_key";
