-- Event positions without AUTOINCREMENT (#18): a SQLite-only change, nothing to do on PostgreSQL.
--
-- On SQLite the event table's AUTOINCREMENT wrote the `sqlite_sequence` row (one more WAL page)
-- with every command; see prisma/migrations/sqlite/20261211000000_event_row. PostgreSQL's
-- positions come from the column's sequence, which is not a table page written by every insert.
-- This migration exists so that both providers list the same migrations: a backup records the
-- last migration of its source (src/backup/manifest.ts), and restoring it into the other provider
-- requires that name to be known there.

-- The chain hash as its 32 bytes (src/store/eventCodec.ts): bytea instead of 64 hex characters.
-- Rewrites the table (no row trigger fires); the CHECK is replaced by its bytea form.
ALTER TABLE "events" DROP CONSTRAINT "events_hash_present";
ALTER TABLE "events" ALTER COLUMN "hash" TYPE BYTEA USING decode("hash", 'hex');
ALTER TABLE "events" ADD CONSTRAINT "events_hash_present"
    CHECK ("hash" IS NOT NULL AND octet_length("hash") = 32);
