-- Hand-written. The MLflow artifact proxy reads a folder as a range of paths compared byte by byte
-- (`"path" COLLATE "C" >= 'dir/' AND "path" COLLATE "C" < 'dir0'`, src/mlflow/stagedFiles.ts):
-- exact whatever the database's collation (Prisma's startsWith, a LIKE, did not escape `_` and `%`).
-- The primary key and the dir index use the database's collation, which such a range cannot use,
-- so every folder read (and the path-clash check of every PUT, inside the write transaction)
-- scanned the table; these two indexes serve the ranges.
CREATE INDEX "mlflow_artifact_files_path_binary_idx" ON "mlflow_artifact_files" ("path" COLLATE "C");
CREATE INDEX "mlflow_artifact_files_dir_binary_idx" ON "mlflow_artifact_files" ("dir" COLLATE "C");
