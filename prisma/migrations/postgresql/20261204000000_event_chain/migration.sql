-- The event log's hash chain (src/audit/eventHash.ts): every event carries the SHA-256 of its
-- canonical encoding chained to the previous event of its stream. Hand-written: events written
-- before this migration are hashed by its JavaScript step (src/audit/backfillChain.ts), run in the
-- same transaction, which then validates the constraint for every row.
ALTER TABLE "events" ADD COLUMN "hash" TEXT;

ALTER TABLE "events" ADD CONSTRAINT "events_hash_present"
    CHECK ("hash" IS NOT NULL AND "hash" ~ '^[0-9a-f]{64}$') NOT VALID;
