-- The event row (#18, docs/performance.md "Storage per version"). Hand-written. Event types are
-- interned: each name (such as ModelVersionCreated) is stored once in `event_types`, and
-- `events.type` holds its integer code (4 bytes instead of 20, in the row and in events_type_idx).
-- A change of representation only: every reader gets the name back (a join, or the `eventType`
-- relation), which is what the chain hashes (src/audit/eventHash.ts), so every chain verifies
-- unchanged. Codes are given out in order of first use; new names get theirs on first use inside
-- the append that needs them (insert-if-absent, then read: src/store/eventTypes.ts).
CREATE TABLE "event_types" (
    "code" SERIAL NOT NULL,
    "name" TEXT NOT NULL,

    CONSTRAINT "event_types_pkey" PRIMARY KEY ("code")
);
CREATE UNIQUE INDEX "event_types_name_key" ON "event_types"("name");
INSERT INTO "event_types" ("name")
SELECT "type" FROM "events" GROUP BY "type" ORDER BY MIN("position");

-- The names are part of the log's meaning: as immutable as the events.
CREATE FUNCTION "registro_refuse_event_type_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'registro: event types are immutable (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER "event_types_refuse_update_delete" BEFORE UPDATE OR DELETE ON "event_types"
    FOR EACH ROW EXECUTE FUNCTION "registro_refuse_event_type_change"();
CREATE TRIGGER "event_types_refuse_truncate" BEFORE TRUNCATE ON "event_types"
    FOR EACH STATEMENT EXECUTE FUNCTION "registro_refuse_event_type_change"();

-- ALTER ... TYPE rewrites the table (and events_type_idx) under an exclusive lock; no row trigger
-- fires. A USING expression may not hold a subquery, so the lookup is a function for this statement.
-- No foreign key: every insert would lock its type's row (FOR KEY SHARE) and concurrent appends
-- would contend on the few rows every event references; the append looks the code up itself.
CREATE FUNCTION "registro_event_type_code"(text) RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT "code" FROM "event_types" WHERE "name" = $1
$$;
ALTER TABLE "events" ALTER COLUMN "type" TYPE INTEGER USING "registro_event_type_code"("type");
DROP FUNCTION "registro_event_type_code"(text);
