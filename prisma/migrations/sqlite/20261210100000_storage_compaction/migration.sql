-- Storage per version (#18, docs/performance.md "Storage per version"). Hand-written.
--
-- 1. model_versions_model_id_stage_idx is dropped: every query that names a stage also names
--    `deleted` and is served by model_versions_stage_deleted_model_id_id_idx (stage, deleted,
--    model_id, id), and the queries by model alone by model_versions_model_id_version_key
--    (checked with EXPLAIN QUERY PLAN: the command path's version lookup, the stage selector of
--    artifact downloads, `latestVersions`). It cost about 55 bytes and one written page per version.
DROP INDEX "model_versions_model_id_stage_idx";

-- 2. model_version_tags becomes WITHOUT ROWID, like model_version_metrics: a rowid table with a
--    composite primary key stores every tag twice (the row, and the primary key's own index
--    sqlite_autoindex_model_version_tags_1); keyed by (version_id, key) it is stored once. Rebuilt
--    in place with its rows (nothing references this table, so the rename touches no foreign key).
CREATE TABLE "new_model_version_tags" (
    "version_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    PRIMARY KEY ("version_id", "key"),
    CONSTRAINT "model_version_tags_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions" ("id") ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
INSERT INTO "new_model_version_tags" ("version_id", "key", "value")
SELECT "version_id", "key", "value" FROM "model_version_tags";
DROP TABLE "model_version_tags";
ALTER TABLE "new_model_version_tags" RENAME TO "model_version_tags";
CREATE INDEX "model_version_tags_key_value_idx" ON "model_version_tags"("key", "value");
