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
    "created_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "edited" INTEGER NOT NULL DEFAULT 0,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" DATETIME,
    "revision" INTEGER NOT NULL,

    PRIMARY KEY ("model_id", "id"),
    CONSTRAINT "model_version_comments_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "model_version_comments_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "model_version_comments_id_idx" ON "model_version_comments"("id");

-- CreateIndex
CREATE INDEX "model_version_comments_version_id_created_at_id_idx" ON "model_version_comments"("version_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "model_version_comments_author_id_idx" ON "model_version_comments"("author_id");
