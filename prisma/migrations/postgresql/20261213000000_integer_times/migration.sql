-- Every time column as integer milliseconds on SQLite (#18, docs/performance.md "Storage per
-- version"). Nothing to do on PostgreSQL: SQLite's migration of the same name turns its ISO-8601
-- text times into integer milliseconds, and PostgreSQL's timestamp(3) is already 8 bytes. The
-- migration exists on both providers so that both know the same schema versions (a backup names
-- its source's last migration, and restore into either provider checks that it knows it).
SELECT 1;
