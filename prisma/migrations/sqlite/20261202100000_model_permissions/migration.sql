-- CreateTable
CREATE TABLE "model_permissions" (
    "model_id" TEXT NOT NULL,
    "grantee_kind" TEXT NOT NULL,
    "grantee_id" TEXT NOT NULL,
    "permission" TEXT NOT NULL,

    PRIMARY KEY ("model_id", "grantee_kind", "grantee_id"),
    CONSTRAINT "model_permissions_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "model_permissions_grantee_id_model_id_idx" ON "model_permissions"("grantee_id", "model_id");
