-- The event row (#18, docs/performance.md "Storage per version"). Hand-written.
--
-- The chain hash as its 32 bytes (src/store/eventCodec.ts): bytea instead of 64 hex characters;
-- what is read back (hex) and what is hashed are unchanged. ALTER ... TYPE rewrites the table under
-- an exclusive lock (no row trigger fires); the CHECK is replaced by its bytea form.
--
-- SQLite's migration of the same name also drops the event position's AUTOINCREMENT, which wrote
-- the `sqlite_sequence` row (one more WAL page) with every command. Nothing to do here: PostgreSQL's
-- positions come from the column's sequence, not a table page written by every insert.
ALTER TABLE "events" DROP CONSTRAINT "events_hash_present";
ALTER TABLE "events" ALTER COLUMN "hash" TYPE BYTEA USING decode("hash", 'hex');
ALTER TABLE "events" ADD CONSTRAINT "events_hash_present"
    CHECK ("hash" IS NOT NULL AND octet_length("hash") = 32);
