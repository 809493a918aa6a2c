-- registro:foreign-keys-off
-- Versions get an integer key, `ref`, and their tags and metrics refer to them by it (#18,
-- docs/performance.md "Storage per version"). Hand-written.
--
-- `ref` is the global position of the version's ModelVersionCreated event: deterministic, so that a
-- rebuild of the projections gives every version the key it had. A version row whose creation event
-- cannot be found (written outside Registro) gets a negative key instead of failing the upgrade.
--
-- model_versions is rebuilt with `ref` as its INTEGER PRIMARY KEY: the rowid itself, so the key
-- costs no byte in the row, and every index entry already ends with it. `id` stays, UNIQUE: the
-- API, aliases, artifacts, comments and deployments name versions by it; but as a VIRTUAL column
-- generated from the model id and the version number, which it always was, so the row no longer
-- stores those 38 characters a second time (its unique index still does). Tags and metrics hold the
-- 1-3 byte `ref` instead of the 38-character id, in their rows and in their indexes.
--
-- The first line asks src/db/migrate.ts to run this migration with foreign keys off: dropping
-- model_versions with them on would delete every row that references it (ON DELETE CASCADE). The
-- runner checks every foreign key (PRAGMA foreign_key_check) before it commits.

CREATE TEMP TABLE "version_refs" ("model_id" TEXT NOT NULL, "version" INTEGER NOT NULL, "ref" INTEGER NOT NULL, PRIMARY KEY ("model_id", "version"));
INSERT INTO "version_refs" ("model_id", "version", "ref")
SELECT e."stream_id", json_extract(e."data", '$.version'), min(e."position")
  FROM "events" e
 WHERE e."type" = (SELECT "code" FROM "event_types" WHERE "name" = 'ModelVersionCreated')
 GROUP BY 1, 2;

CREATE TABLE "new_model_versions" (
    "ref" INTEGER NOT NULL PRIMARY KEY,
    "id" TEXT NOT NULL GENERATED ALWAYS AS ("model_id" || ':' || "version") VIRTUAL,
    "model_id" TEXT NOT NULL,
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
    "search_description" TEXT GENERATED ALWAYS AS (replace(replace(replace("description", '\', char(983132)), '%', char(983077)), '_', char(983135))) VIRTUAL,
    "created_by_id" TEXT,
    CONSTRAINT "model_versions_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_model_versions" ("ref", "model_id", "version", "stage", "status", "source", "run_id", "description", "params", "metrics", "deleted", "deleted_at", "created_at", "updated_at", "created_by", "signature", "created_by_id")
SELECT coalesce(r."ref", -row_number() OVER (PARTITION BY r."ref" IS NULL ORDER BY v."id")),
       v."model_id", v."version", v."stage", v."status", v."source", v."run_id", v."description", v."params", v."metrics", v."deleted", v."deleted_at", v."created_at", v."updated_at", v."created_by", v."signature", v."created_by_id"
  FROM "model_versions" v
  LEFT JOIN "version_refs" r ON r."model_id" = v."model_id" AND r."version" = v."version"
 ORDER BY 1;
DROP TABLE "model_versions";
ALTER TABLE "new_model_versions" RENAME TO "model_versions";
CREATE UNIQUE INDEX "model_versions_id_key" ON "model_versions"("id");
CREATE UNIQUE INDEX "model_versions_model_id_version_key" ON "model_versions"("model_id", "version");
CREATE INDEX "model_versions_stage_deleted_model_id_idx" ON "model_versions"("stage", "deleted", "model_id");
CREATE INDEX "model_versions_run_id_idx" ON "model_versions"("run_id");
CREATE INDEX "model_versions_created_at_idx" ON "model_versions"("created_at");
CREATE INDEX "model_versions_created_by_id_idx" ON "model_versions"("created_by_id");
CREATE INDEX "model_versions_created_by_idx" ON "model_versions"("created_by");

CREATE TABLE "new_model_version_tags" (
    "version_ref" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    PRIMARY KEY ("version_ref", "key"),
    CONSTRAINT "model_version_tags_version_ref_fkey" FOREIGN KEY ("version_ref") REFERENCES "model_versions" ("ref") ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
INSERT INTO "new_model_version_tags" ("version_ref", "key", "value")
SELECT v."ref", t."key", t."value" FROM "model_version_tags" t JOIN "model_versions" v ON v."id" = t."version_id";
DROP TABLE "model_version_tags";
ALTER TABLE "new_model_version_tags" RENAME TO "model_version_tags";
CREATE INDEX "model_version_tags_key_value_idx" ON "model_version_tags"("key", "value");

CREATE TABLE "new_model_version_metrics" (
    "version_ref" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "value" REAL NOT NULL,

    PRIMARY KEY ("version_ref", "key"),
    CONSTRAINT "model_version_metrics_version_ref_fkey" FOREIGN KEY ("version_ref") REFERENCES "model_versions" ("ref") ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
INSERT INTO "new_model_version_metrics" ("version_ref", "key", "value")
SELECT v."ref", m."key", m."value" FROM "model_version_metrics" m JOIN "model_versions" v ON v."id" = m."version_id";
DROP TABLE "model_version_metrics";
ALTER TABLE "new_model_version_metrics" RENAME TO "model_version_metrics";
CREATE INDEX "model_version_metrics_key_value_version_ref_idx" ON "model_version_metrics"("key", "value", "version_ref");

DROP TABLE "version_refs";
