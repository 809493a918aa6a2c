-- SQLite only (see prisma/migrations/sqlite/20261220000000_event_stream): SQLite stores each stream
-- id once, behind an `events` view; PostgreSQL keeps its `events` table as it is. This migration
-- changes nothing here, and exists so that both providers name the same schema by the same last
-- migration: a backup records it, and a restore into either provider compares it with its own.
SELECT 1;
