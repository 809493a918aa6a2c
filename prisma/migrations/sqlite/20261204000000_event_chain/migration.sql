-- The event log's hash chain (src/audit/eventHash.ts): every event carries the SHA-256 of its
-- canonical encoding chained to the previous event of its stream. Hand-written: an added column
-- cannot be NOT NULL on SQLite without rebuilding the table, so a trigger refuses events without a
-- well-formed hash instead. Events written before this migration are hashed by its JavaScript step
-- (src/audit/backfillChain.ts), run in the same transaction.
ALTER TABLE "events" ADD COLUMN "hash" TEXT;

CREATE TRIGGER "events_require_hash" BEFORE INSERT ON "events"
WHEN NEW."hash" IS NULL OR length(NEW."hash") <> 64 OR NEW."hash" GLOB '*[^0-9a-f]*'
BEGIN
    SELECT RAISE(ABORT, 'registro: an event needs its chain hash (INSERT refused)');
END;
