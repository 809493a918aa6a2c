-- The event row (#18, docs/performance.md "Storage per version"). Hand-written. Actors are
-- interned like event types (20261214000000_event_type): each distinct (display name, principal
-- id, kind, credential) is stored once in `event_actors`, and `events.actor_ref` holds its id, in
-- the row and in `events_actor_ref_idx` (one or two bytes instead of about 60 in the row and 49 in
-- events_actor_id_idx). A change of representation only: every reader gets the four values back
-- (a lookup, or the `eventActor` relation), which is what the chain hashes (src/audit/eventHash.ts),
-- so every chain verifies unchanged. Ids are given out in order of first use; new actors get theirs
-- on first use inside the append that needs them (src/store/eventActors.ts).
--
-- Unique on the four values, NULLs included: a unique index treats NULLs as distinct, so it holds
-- each value with NULL as a blob (x'', never equal to any text: these columns hold text only).
CREATE TABLE "event_actors" (
    "id" INTEGER NOT NULL PRIMARY KEY,
    "actor" TEXT NOT NULL,
    "actor_id" TEXT,
    "actor_kind" TEXT,
    "actor_credential" JSONB
);
CREATE UNIQUE INDEX "event_actors_key" ON "event_actors"("actor", COALESCE("actor_id", x''),
    COALESCE("actor_kind", x''), COALESCE("actor_credential", x''));
-- The audit log's `actors` filter and history's `actorId` filter look principals up here.
CREATE INDEX "event_actors_actor_id_idx" ON "event_actors"("actor_id");
INSERT INTO "event_actors" ("actor", "actor_id", "actor_kind", "actor_credential")
SELECT "actor", "actor_id", "actor_kind", "actor_credential" FROM "events"
GROUP BY "actor", "actor_id", "actor_kind", "actor_credential" ORDER BY MIN("position");

CREATE TRIGGER "event_actors_refuse_update" BEFORE UPDATE ON "event_actors"
BEGIN
    SELECT RAISE(ABORT, 'registro: event actors are immutable (UPDATE refused)');
END;
CREATE TRIGGER "event_actors_refuse_delete" BEFORE DELETE ON "event_actors"
BEGIN
    SELECT RAISE(ABORT, 'registro: event actors are immutable (DELETE refused)');
END;

-- The four columns become one, which SQLite cannot do in place: the table is rebuilt with the same
-- rows and positions, as 20261214000000_event_type did, then its indexes and triggers are created
-- again. No foreign key, as for the type: the append looks the id up itself. `IS` compares NULLs
-- as equal (GROUP BY above did too).
CREATE TABLE "new_events" (
    "position" INTEGER NOT NULL PRIMARY KEY,
    "stream_id" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "type" INTEGER NOT NULL,
    "schema_version" INTEGER NOT NULL,
    "data" JSONB NOT NULL,
    "actor_ref" INTEGER NOT NULL,
    "occurred_at" DATETIME NOT NULL,
    "correlation_id" TEXT,
    "causation_id" TEXT,
    "hash" BLOB
);
INSERT INTO "new_events" ("position", "stream_id", "revision", "type", "schema_version", "data", "actor_ref",
    "occurred_at", "correlation_id", "causation_id", "hash")
SELECT "e"."position", "e"."stream_id", "e"."revision", "e"."type", "e"."schema_version", "e"."data", "a"."id",
    "e"."occurred_at", "e"."correlation_id", "e"."causation_id", "e"."hash"
FROM "events" "e" JOIN "event_actors" "a" ON "a"."actor" = "e"."actor" AND "a"."actor_id" IS "e"."actor_id"
    AND "a"."actor_kind" IS "e"."actor_kind" AND "a"."actor_credential" IS "e"."actor_credential"
ORDER BY "e"."position";
DROP TABLE "events";
ALTER TABLE "new_events" RENAME TO "events";

CREATE UNIQUE INDEX "events_stream_id_revision_key" ON "events"("stream_id", "revision");
CREATE INDEX "events_type_idx" ON "events"("type");
CREATE INDEX "events_actor_ref_idx" ON "events"("actor_ref");
CREATE INDEX "events_occurred_at_idx" ON "events"("occurred_at");

CREATE TRIGGER "events_refuse_update" BEFORE UPDATE ON "events"
BEGIN
    SELECT RAISE(ABORT, 'registro: events are immutable (UPDATE refused)');
END;
CREATE TRIGGER "events_refuse_delete" BEFORE DELETE ON "events"
BEGIN
    SELECT RAISE(ABORT, 'registro: events are immutable (DELETE refused)');
END;
CREATE TRIGGER "events_require_hash" BEFORE INSERT ON "events"
WHEN NEW."hash" IS NULL OR typeof(NEW."hash") <> 'blob' OR length(NEW."hash") <> 32
BEGIN
    SELECT RAISE(ABORT, 'registro: an event needs its chain hash (INSERT refused)');
END;
