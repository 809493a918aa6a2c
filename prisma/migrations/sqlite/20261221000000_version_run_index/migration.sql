-- The versions' run index holds only versions that name a run (#18, docs/performance.md "Storage per
-- version"). Hand-written: the schema cannot express a partial index. A version registered without a
-- run id (from the CLI or GraphQL, not from an MLflow run) has no entry, where it had one for its
-- NULL: 10.3 bytes a version on SQLite (`npm run bench -- storage`, bytesPerVersionWithoutRunId). Every
-- query on `run_id` compares it with a value (`run_id = ?`, `run_id IN (…)`), which SQLite takes as
-- implying `run_id IS NOT NULL`, so it uses the index as before. A search for versions without a
-- run would read every version; no query asks for that.
DROP INDEX "model_versions_run_id_idx";
CREATE INDEX "model_versions_run_id_idx" ON "model_versions"("run_id") WHERE "run_id" IS NOT NULL;
