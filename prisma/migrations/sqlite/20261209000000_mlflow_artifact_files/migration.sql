-- The staging area of MLflow's artifact proxy (prisma/models/mlflowArtifacts.prisma): files MLflow
-- clients upload before registering them as a version's artifacts.
-- CreateTable
CREATE TABLE "mlflow_artifact_files" (
    "path" TEXT NOT NULL PRIMARY KEY,
    "dir" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "media_type" TEXT NOT NULL,
    "created_at" DATETIME NOT NULL,
    "created_by" TEXT NOT NULL
);

-- CreateIndex
CREATE INDEX "mlflow_artifact_files_dir_idx" ON "mlflow_artifact_files"("dir");

-- CreateIndex
CREATE INDEX "mlflow_artifact_files_sha256_idx" ON "mlflow_artifact_files"("sha256");
