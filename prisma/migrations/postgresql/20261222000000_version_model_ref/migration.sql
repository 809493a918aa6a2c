-- SQLite only (see prisma/migrations/sqlite/20261222000000_version_model_ref): SQLite names a
-- version's model by an integer behind a `model_versions` view; PostgreSQL keeps its table as it is.
-- This migration changes nothing here, and exists so that both providers name the same schema by the
-- same last migration (a backup records it, and a restore into either provider compares it).
SELECT 1;
