-- Storage per version (#18, docs/performance.md "Storage per version"). Hand-written.
--
-- model_versions_model_id_stage_idx is dropped: every query that names a stage also names
-- `deleted` and is served by model_versions_stage_deleted_model_id_id_idx (stage, deleted,
-- model_id, id), and the queries by model alone by model_versions_model_id_version_key.
-- (SQLite's migration also makes model_version_tags WITHOUT ROWID; PostgreSQL tables have no rowid
-- index to save.)
DROP INDEX "model_versions_model_id_stage_idx";
