-- registro:foreign-keys-off
-- The version row names its model by an integer (#18, docs/performance.md "Storage per version",
-- fourteenth step). Hand-written, SQLite only.
--
-- The model's 36-character id was the last text key of a version: in its row, in its
-- (model, version) key and in the stage index, about 40 bytes in each. The version rows move to
-- `model_version_rows`, which names the model by its stream's `ref` in `event_streams` (a model's
-- stream id is its id, interned since 20261220000000_event_stream): one or two bytes.
--
-- Readers are not changed: `model_versions` becomes a view with the table's columns, the model id
-- (and `id`, "<model id>:<version>") joined back from `event_streams`. It is an inner join on the
-- key, so that a read naming a model finds its ref first (`event_streams_id_key`), then its versions
-- (`model_version_rows_model_ref_version_key`). The projection writes `model_version_rows` itself
-- (src/projections/modelVersions/versionRows.ts); an insert, update or delete through the view
-- (tests, tools) goes through the INSTEAD OF triggers below, which intern a model id not seen yet.
--
-- A view cannot be the parent of a foreign key: tags and metrics refer to `model_version_rows` by
-- `ref`, and aliases, artifacts, comments and deployments, which name their version by model id and
-- number, lose the foreign key to it (they keep the one to their model). Only the projection writes
-- them, after the version's row, and versions are never deleted but by hand: a trigger deletes those
-- four tables' rows of a version deleted from `model_version_rows`, as the cascade did.
--
-- PostgreSQL keeps its table: the storage target is measured on SQLite (its migration of this name
-- changes nothing).

-- Models with a version row but no stream (rows written by hand): their ids are interned too.
INSERT INTO "event_streams" ("id")
SELECT "model_id" FROM "model_versions"
 WHERE "model_id" NOT IN (SELECT "id" FROM "event_streams")
 GROUP BY "model_id" ORDER BY MIN("ref");

CREATE TABLE "model_version_rows" (
    "ref" INTEGER NOT NULL PRIMARY KEY,
    "model_ref" INTEGER NOT NULL,
    "version" INTEGER NOT NULL,
    "stage" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "run_id" TEXT,
    "description" TEXT NOT NULL DEFAULT '',
    "params" JSONB NOT NULL,
    "metrics" JSONB NOT NULL,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" DATETIME,
    "created_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "created_by" TEXT NOT NULL,
    "signature" JSONB,
    "search_description" TEXT GENERATED ALWAYS AS (replace(replace(replace("description", '\', char(983132)), '%', char(983077)), '_', char(983135))) VIRTUAL
);
INSERT INTO "model_version_rows" ("ref", "model_ref", "version", "stage", "status", "source", "run_id",
    "description", "params", "metrics", "deleted", "deleted_at", "created_at", "updated_at", "created_by", "signature")
SELECT "v"."ref", "s"."ref", "v"."version", "v"."stage", "v"."status", "v"."source", "v"."run_id",
    "v"."description", "v"."params", "v"."metrics", "v"."deleted", "v"."deleted_at", "v"."created_at",
    "v"."updated_at", "v"."created_by", "v"."signature"
  FROM "model_versions" "v" JOIN "event_streams" "s" ON "s"."id" = "v"."model_id"
 ORDER BY "v"."ref";
DROP TABLE "model_versions";
CREATE UNIQUE INDEX "model_version_rows_model_ref_version_key" ON "model_version_rows"("model_ref", "version");
CREATE INDEX "model_version_rows_stage_deleted_model_ref_idx" ON "model_version_rows"("stage", "deleted", "model_ref");
CREATE INDEX "model_version_rows_run_id_idx" ON "model_version_rows"("run_id") WHERE "run_id" IS NOT NULL;
CREATE INDEX "model_version_rows_created_at_idx" ON "model_version_rows"("created_at");

-- model_version_tags refers to `model_version_rows`.
CREATE TABLE "new_model_version_tags" (
    "version_ref" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    PRIMARY KEY ("version_ref", "key"),
    CONSTRAINT "model_version_tags_version_ref_fkey" FOREIGN KEY ("version_ref") REFERENCES "model_version_rows" ("ref") ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
INSERT INTO "new_model_version_tags" ("version_ref", "key", "value")
SELECT "version_ref", "key", "value" FROM "model_version_tags";
DROP TABLE "model_version_tags";
ALTER TABLE "new_model_version_tags" RENAME TO "model_version_tags";
CREATE INDEX "model_version_tags_key_value_idx" ON "model_version_tags"("key", "value");

-- model_version_metrics refers to `model_version_rows`.
CREATE TABLE "new_model_version_metrics" (
    "version_ref" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "value" REAL NOT NULL,

    PRIMARY KEY ("version_ref", "key"),
    CONSTRAINT "model_version_metrics_version_ref_fkey" FOREIGN KEY ("version_ref") REFERENCES "model_version_rows" ("ref") ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
INSERT INTO "new_model_version_metrics" ("version_ref", "key", "value")
SELECT "version_ref", "key", "value" FROM "model_version_metrics";
DROP TABLE "model_version_metrics";
ALTER TABLE "new_model_version_metrics" RENAME TO "model_version_metrics";
CREATE INDEX "model_version_metrics_key_value_version_ref_idx" ON "model_version_metrics"("key", "value", "version_ref");

-- model_aliases without the foreign key to its version.
CREATE TABLE "new_model_aliases" (
    "model_id" TEXT NOT NULL,
    "alias" TEXT NOT NULL,
    "version" INTEGER NOT NULL,

    PRIMARY KEY ("model_id", "alias"),
    CONSTRAINT "model_aliases_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_model_aliases" ("model_id", "alias", "version")
SELECT "model_id", "alias", "version" FROM "model_aliases";
DROP TABLE "model_aliases";
ALTER TABLE "new_model_aliases" RENAME TO "model_aliases";

-- model_version_artifacts without the foreign key to its version.
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

    PRIMARY KEY ("model_id", "version", "path")
);
INSERT INTO "new_model_version_artifacts" ("model_id", "version", "path", "role", "size", "sha256", "media_type", "created_at", "created_by", "format", "format_version", "producer", "metadata", "verdict", "findings", "inspected_at")
SELECT "model_id", "version", "path", "role", "size", "sha256", "media_type", "created_at", "created_by", "format", "format_version", "producer", "metadata", "verdict", "findings", "inspected_at" FROM "model_version_artifacts";
DROP TABLE "model_version_artifacts";
ALTER TABLE "new_model_version_artifacts" RENAME TO "model_version_artifacts";
CREATE INDEX "model_version_artifacts_sha256_idx" ON "model_version_artifacts"("sha256");
CREATE INDEX "model_version_artifacts_verdict_idx" ON "model_version_artifacts"("verdict");
CREATE INDEX "model_version_artifacts_format_idx" ON "model_version_artifacts"("format");

-- model_version_comments without the foreign key to its version.
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
    CONSTRAINT "model_version_comments_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_model_version_comments" ("id", "model_id", "version", "author_id", "body", "created_at", "updated_at", "edited", "deleted", "deleted_at", "revision")
SELECT "id", "model_id", "version", "author_id", "body", "created_at", "updated_at", "edited", "deleted", "deleted_at", "revision" FROM "model_version_comments";
DROP TABLE "model_version_comments";
ALTER TABLE "new_model_version_comments" RENAME TO "model_version_comments";
CREATE INDEX "model_version_comments_id_idx" ON "model_version_comments"("id");
CREATE INDEX "model_version_comments_model_id_version_created_at_id_idx" ON "model_version_comments"("model_id", "version", "created_at", "id");
CREATE INDEX "model_version_comments_author_id_idx" ON "model_version_comments"("author_id");

-- model_version_deployments without the foreign key to its version.
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
    CONSTRAINT "model_version_deployments_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_model_version_deployments" ("model_id", "environment", "version", "endpoint", "description", "active", "deployed_at", "deployed_by", "retired_at", "retired_by", "retire_reason", "revision")
SELECT "model_id", "environment", "version", "endpoint", "description", "active", "deployed_at", "deployed_by", "retired_at", "retired_by", "retire_reason", "revision" FROM "model_version_deployments";
DROP TABLE "model_version_deployments";
ALTER TABLE "new_model_version_deployments" RENAME TO "model_version_deployments";
CREATE INDEX "model_version_deployments_model_id_active_environment_idx" ON "model_version_deployments"("model_id", "active", "environment");
CREATE INDEX "model_version_deployments_model_id_version_active_idx" ON "model_version_deployments"("model_id", "version", "active");

-- The view and its triggers last: renaming a table checks every view and trigger of the schema.
CREATE VIEW "model_versions" AS
SELECT "v"."ref", "m"."id" || ':' || "v"."version" AS "id", "m"."id" AS "model_id", "v"."version", "v"."stage",
    "v"."status", "v"."source", "v"."run_id", "v"."description", "v"."params", "v"."metrics", "v"."deleted",
    "v"."deleted_at", "v"."created_at", "v"."updated_at", "v"."created_by", "v"."signature",
    "v"."search_description"
  FROM "model_version_rows" "v" JOIN "event_streams" "m" ON "m"."ref" = "v"."model_ref";

CREATE TRIGGER "model_versions_insert" INSTEAD OF INSERT ON "model_versions"
BEGIN
    INSERT INTO "event_streams" ("id") SELECT NEW."model_id"
     WHERE NOT EXISTS (SELECT 1 FROM "event_streams" WHERE "id" = NEW."model_id");
    INSERT INTO "model_version_rows" ("ref", "model_ref", "version", "stage", "status", "source", "run_id",
        "description", "params", "metrics", "deleted", "deleted_at", "created_at", "updated_at", "created_by", "signature")
    VALUES (NEW."ref", (SELECT "ref" FROM "event_streams" WHERE "id" = NEW."model_id"), NEW."version", NEW."stage",
        NEW."status", NEW."source", NEW."run_id", COALESCE(NEW."description", ''), NEW."params", NEW."metrics",
        COALESCE(NEW."deleted", false), NEW."deleted_at", NEW."created_at", NEW."updated_at", NEW."created_by",
        NEW."signature");
END;
CREATE TRIGGER "model_versions_update" INSTEAD OF UPDATE ON "model_versions"
BEGIN
    INSERT INTO "event_streams" ("id") SELECT NEW."model_id"
     WHERE NOT EXISTS (SELECT 1 FROM "event_streams" WHERE "id" = NEW."model_id");
    UPDATE "model_version_rows" SET "ref" = NEW."ref",
        "model_ref" = (SELECT "ref" FROM "event_streams" WHERE "id" = NEW."model_id"), "version" = NEW."version",
        "stage" = NEW."stage", "status" = NEW."status", "source" = NEW."source", "run_id" = NEW."run_id",
        "description" = NEW."description", "params" = NEW."params", "metrics" = NEW."metrics",
        "deleted" = NEW."deleted", "deleted_at" = NEW."deleted_at", "created_at" = NEW."created_at",
        "updated_at" = NEW."updated_at", "created_by" = NEW."created_by", "signature" = NEW."signature"
     WHERE "ref" = OLD."ref";
END;
CREATE TRIGGER "model_versions_delete" INSTEAD OF DELETE ON "model_versions"
BEGIN
    DELETE FROM "model_version_rows" WHERE "ref" = OLD."ref";
END;

-- What the (model_id, version) foreign keys' ON DELETE CASCADE did.
CREATE TRIGGER "model_version_rows_delete_children" AFTER DELETE ON "model_version_rows"
BEGIN
    DELETE FROM "model_aliases" WHERE "model_id" = (SELECT "id" FROM "event_streams" WHERE "ref" = OLD."model_ref") AND "version" = OLD."version";
    DELETE FROM "model_version_artifacts" WHERE "model_id" = (SELECT "id" FROM "event_streams" WHERE "ref" = OLD."model_ref") AND "version" = OLD."version";
    DELETE FROM "model_version_comments" WHERE "model_id" = (SELECT "id" FROM "event_streams" WHERE "ref" = OLD."model_ref") AND "version" = OLD."version";
    DELETE FROM "model_version_deployments" WHERE "model_id" = (SELECT "id" FROM "event_streams" WHERE "ref" = OLD."model_ref") AND "version" = OLD."version";
END;
