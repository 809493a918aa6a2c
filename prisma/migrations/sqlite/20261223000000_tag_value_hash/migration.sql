-- PostgreSQL only (see prisma/migrations/postgresql/20261223000000_tag_value_hash): its btree index
-- entries have a size limit that long tag values passed; SQLite's have none, so its (key, value)
-- indexes stay. This migration changes nothing here, and exists so that both providers name the
-- same schema by the same last migration (a backup records it, and a restore into either provider
-- compares it).
SELECT 1;
