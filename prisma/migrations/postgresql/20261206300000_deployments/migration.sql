-- Deployments of model versions (prisma/models/deployments.prisma): a projection of the model
-- streams' ModelVersionDeployed / ModelVersionDeploymentRetired events, rebuilt from the log like the
-- other model tables.
-- CreateTable
CREATE TABLE "model_version_deployments" (
    "model_id" TEXT NOT NULL,
    "environment" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "version_id" TEXT NOT NULL,
    "endpoint" TEXT NOT NULL,
    "description" TEXT,
    "active" BOOLEAN NOT NULL,
    "deployed_at" TIMESTAMP(3) NOT NULL,
    "deployed_by" TEXT NOT NULL,
    "retired_at" TIMESTAMP(3),
    "retired_by" TEXT,
    "retire_reason" TEXT,
    "revision" INTEGER NOT NULL,

    CONSTRAINT "model_version_deployments_pkey" PRIMARY KEY ("model_id","environment","version")
);

-- CreateIndex
CREATE INDEX "model_version_deployments_model_id_active_environment_idx" ON "model_version_deployments"("model_id", "active", "environment");

-- CreateIndex
CREATE INDEX "model_version_deployments_version_id_active_idx" ON "model_version_deployments"("version_id", "active");

-- AddForeignKey
ALTER TABLE "model_version_deployments" ADD CONSTRAINT "model_version_deployments_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_version_deployments" ADD CONSTRAINT "model_version_deployments_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
