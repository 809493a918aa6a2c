-- AlterTable
ALTER TABLE "registered_models" ADD COLUMN     "review_policy" JSONB;

-- CreateTable
CREATE TABLE "review_requests" (
    "id" TEXT NOT NULL,
    "model_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "target_kind" TEXT NOT NULL,
    "stage" TEXT,
    "archive_existing_versions" BOOLEAN NOT NULL DEFAULT false,
    "alias" TEXT,
    "reason" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "requester_id" TEXT NOT NULL,
    "requested_by" TEXT NOT NULL,
    "required_approvals" INTEGER NOT NULL,
    "reviewers" JSONB NOT NULL,
    "allow_self_approval" BOOLEAN NOT NULL,
    "approvals" JSONB NOT NULL,
    "rejection" JSONB,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "closed_at" TIMESTAMP(3),
    "closed_reason" TEXT,
    "revision" INTEGER NOT NULL,

    CONSTRAINT "review_requests_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "review_requests_model_id_status_idx" ON "review_requests"("model_id", "status");

-- CreateIndex
CREATE INDEX "review_requests_status_idx" ON "review_requests"("status");

-- CreateIndex
CREATE INDEX "review_requests_requester_id_idx" ON "review_requests"("requester_id");

-- AddForeignKey
ALTER TABLE "review_requests" ADD CONSTRAINT "review_requests_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models"("id") ON DELETE CASCADE ON UPDATE CASCADE;
