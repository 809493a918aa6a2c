-- Comments on model versions (prisma/models/comments.prisma): a projection of the model streams'
-- ModelVersionComment* events, rebuilt from the log like the other model tables.
-- CreateTable
CREATE TABLE "model_version_comments" (
    "id" TEXT NOT NULL,
    "model_id" TEXT NOT NULL,
    "version_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "author_id" TEXT NOT NULL,
    "body" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "edited" INTEGER NOT NULL DEFAULT 0,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" TIMESTAMP(3),
    "revision" INTEGER NOT NULL,

    CONSTRAINT "model_version_comments_pkey" PRIMARY KEY ("model_id","id")
);

-- CreateIndex
CREATE INDEX "model_version_comments_id_idx" ON "model_version_comments"("id");

-- CreateIndex
CREATE INDEX "model_version_comments_version_id_created_at_id_idx" ON "model_version_comments"("version_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "model_version_comments_author_id_idx" ON "model_version_comments"("author_id");

-- AddForeignKey
ALTER TABLE "model_version_comments" ADD CONSTRAINT "model_version_comments_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_version_comments" ADD CONSTRAINT "model_version_comments_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
