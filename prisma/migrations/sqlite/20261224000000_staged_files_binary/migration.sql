-- PostgreSQL only (see prisma/migrations/postgresql/20261224000000_staged_files_binary): SQLite
-- compares the columns as bytes already (BINARY), so its primary key and dir index serve the
-- staged-file ranges. This migration changes nothing here, and exists so that both providers name
-- the same schema by the same last migration (a backup records it, and a restore into either
-- provider compares it).
SELECT 1;
