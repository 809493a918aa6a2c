-- The event row (#18, docs/performance.md "Storage per version"). Hand-written, SQLite only
-- (PostgreSQL's timestamp(3) is already 8 bytes). `occurred_at` becomes integer milliseconds since
-- the epoch instead of ISO-8601 text such as 2026-12-04T18:53:33.123+00:00: 6 bytes instead of 29
-- in the row and in `events_occurred_at_idx`. A change of representation only: src/store/eventCodec.ts
-- writes the integer and reads back the same instant, which is what the chain hashes (as ISO text,
-- src/audit/eventHash.ts), so every chain verifies unchanged.
--
-- The column keeps its declared type (DATETIME, NUMERIC affinity, which stores an integer as one):
-- Prisma's SQLite adapter reads integers in a DATETIME column back as dates. Its filters bind dates
-- as text, so no Prisma filter compares with this column (the audit log's window is SQL).
--
-- Converted in place: events are immutable, so the UPDATE trigger is lifted for this one statement
-- and put back as it was. strftime('%s') and the milliseconds of strftime('%f') are exact integers
-- (no floating point). A value SQLite cannot read as a date (written outside Registro) is kept as
-- it is, and the reader parses it as text, so verification still reports such an event.
DROP TRIGGER "events_refuse_update";
UPDATE "events"
SET "occurred_at" = CAST(strftime('%s', "occurred_at") AS INTEGER) * 1000
    + CAST(substr(strftime('%f', "occurred_at"), 4) AS INTEGER)
WHERE typeof("occurred_at") = 'text' AND strftime('%s', "occurred_at") IS NOT NULL;
CREATE TRIGGER "events_refuse_update" BEFORE UPDATE ON "events"
BEGIN
    SELECT RAISE(ABORT, 'registro: events are immutable (UPDATE refused)');
END;
