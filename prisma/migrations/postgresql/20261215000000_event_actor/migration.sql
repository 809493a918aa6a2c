-- The event row (#18, docs/performance.md "Storage per version"). Hand-written. Actors are
-- interned like event types (20261214000000_event_type): each distinct (display name, principal
-- id, kind, credential) is stored once in `event_actors`, and `events.actor_ref` holds its id, in
-- the row and in `events_actor_ref_idx` instead of the four columns and `events_actor_id_idx`.
-- A change of representation only: every reader gets the four values back (a lookup, or the
-- `eventActor` relation), which is what the chain hashes (src/audit/eventHash.ts), so every chain
-- verifies unchanged. Ids are given out in order of first use; new actors get theirs on first use
-- (insert-if-absent, then read: src/store/eventActors.ts).
CREATE TABLE "event_actors" (
    "id" SERIAL NOT NULL,
    "actor" TEXT NOT NULL,
    "actor_id" TEXT,
    "actor_kind" TEXT,
    "actor_credential" JSONB,

    CONSTRAINT "event_actors_pkey" PRIMARY KEY ("id")
);
-- NULLs are values here: an anonymous actor (null id, kind and credential) is one row.
CREATE UNIQUE INDEX "event_actors_key" ON "event_actors"("actor", "actor_id", "actor_kind", "actor_credential")
    NULLS NOT DISTINCT;
-- The audit log's `actors` filter and history's `actorId` filter look principals up here.
CREATE INDEX "event_actors_actor_id_idx" ON "event_actors"("actor_id");
INSERT INTO "event_actors" ("actor", "actor_id", "actor_kind", "actor_credential")
SELECT "actor", "actor_id", "actor_kind", "actor_credential" FROM "events"
GROUP BY "actor", "actor_id", "actor_kind", "actor_credential" ORDER BY MIN("position");

-- The actors are part of the log's meaning: as immutable as the events.
CREATE FUNCTION "registro_refuse_event_actor_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'registro: event actors are immutable (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER "event_actors_refuse_update_delete" BEFORE UPDATE OR DELETE ON "event_actors"
    FOR EACH ROW EXECUTE FUNCTION "registro_refuse_event_actor_change"();
CREATE TRIGGER "event_actors_refuse_truncate" BEFORE TRUNCATE ON "event_actors"
    FOR EACH STATEMENT EXECUTE FUNCTION "registro_refuse_event_actor_change"();

-- As for the type: ALTER ... TYPE rewrites the table under an exclusive lock and no row trigger
-- fires (an UPDATE would be refused). The USING expression reads the row's four columns through a
-- function (no subquery allowed there); the other three are dropped afterwards (their bytes leave
-- the rows when the table is next rewritten). No foreign key, as for the type.
CREATE FUNCTION "registro_event_actor_ref"(text, text, text, jsonb) RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT "id" FROM "event_actors" WHERE "actor" = $1 AND "actor_id" IS NOT DISTINCT FROM $2
        AND "actor_kind" IS NOT DISTINCT FROM $3 AND "actor_credential" IS NOT DISTINCT FROM $4
$$;
DROP INDEX "events_actor_id_idx";
ALTER TABLE "events" ALTER COLUMN "actor" TYPE INTEGER
    USING "registro_event_actor_ref"("actor", "actor_id", "actor_kind", "actor_credential");
ALTER TABLE "events" RENAME COLUMN "actor" TO "actor_ref";
ALTER TABLE "events" DROP COLUMN "actor_id", DROP COLUMN "actor_kind", DROP COLUMN "actor_credential";
DROP FUNCTION "registro_event_actor_ref"(text, text, text, jsonb);
CREATE INDEX "events_actor_ref_idx" ON "events"("actor_ref");
