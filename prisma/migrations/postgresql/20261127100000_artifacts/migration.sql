-- AlterTable
ALTER TABLE "model_versions" ADD COLUMN     "signature" JSONB;

-- CreateTable
CREATE TABLE "model_version_artifacts" (
    "version_id" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "media_type" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "created_by" TEXT NOT NULL,
    "format" TEXT,
    "format_version" TEXT,
    "producer" JSONB,
    "metadata" JSONB,
    "verdict" TEXT,
    "findings" JSONB,
    "inspected_at" TIMESTAMP(3),

    CONSTRAINT "model_version_artifacts_pkey" PRIMARY KEY ("version_id","path")
);

-- CreateIndex
CREATE INDEX "model_version_artifacts_sha256_idx" ON "model_version_artifacts"("sha256");

-- AddForeignKey
ALTER TABLE "model_version_artifacts" ADD CONSTRAINT "model_version_artifacts_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
