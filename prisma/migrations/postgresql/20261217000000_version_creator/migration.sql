-- Who registered a version, by principal id, is read from its ModelVersionCreated event instead of
-- a copy in the version row (#18, docs/performance.md "Storage per version"). Hand-written.
--
-- `model_versions.ref` is the position of that event (migration 20261216000000_version_ref), and the
-- event's actor (event_actors, through `events.actor_ref`) holds the principal id: the column and
-- its index were the same fact a second time. The `createdById` filter now finds the principal's
-- actors, their events (the `actor_ref` index) and the versions at those positions. A row written
-- outside Registro, with a negative `ref` and no event, has no principal id any more; its display
-- name (`created_by`) stays. PostgreSQL marks the column dropped: existing rows keep its bytes until
-- they are next written (or VACUUM FULL rewrites the table), new rows never hold them.
DROP INDEX "model_versions_created_by_id_idx";
ALTER TABLE "model_versions" DROP COLUMN "created_by_id";
