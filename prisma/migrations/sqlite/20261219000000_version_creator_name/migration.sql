-- The `createdBy` filter of versions reads the display name of the version's ModelVersionCreated
-- event's actor, as the `createdById` filter reads its principal id (migration
-- 20261217000000_version_creator), instead of an index of `model_versions.created_by` (#18,
-- docs/performance.md "Storage per version"). Hand-written.
--
-- The column stays (every version read shows it); its index, about 14 bytes a version and one more
-- index written by every registration, goes. event_actors holds one row per distinct actor, so its
-- index on the display name costs next to nothing.
DROP INDEX "model_versions_created_by_idx";
CREATE INDEX "event_actors_actor_idx" ON "event_actors"("actor");
