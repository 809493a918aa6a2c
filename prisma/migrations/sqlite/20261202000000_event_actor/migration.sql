-- AlterTable
ALTER TABLE "events" ADD COLUMN "actor_credential" JSONB;
ALTER TABLE "events" ADD COLUMN "actor_id" TEXT;
ALTER TABLE "events" ADD COLUMN "actor_kind" TEXT;

-- CreateIndex
CREATE INDEX "events_actor_id_idx" ON "events"("actor_id");
