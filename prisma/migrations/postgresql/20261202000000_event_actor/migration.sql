-- AlterTable
ALTER TABLE "events" ADD COLUMN     "actor_credential" JSONB,
ADD COLUMN     "actor_id" TEXT,
ADD COLUMN     "actor_kind" TEXT;

-- CreateIndex
CREATE INDEX "events_actor_id_idx" ON "events"("actor_id");
