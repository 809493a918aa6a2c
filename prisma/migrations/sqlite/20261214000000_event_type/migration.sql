-- The event row (#18, docs/performance.md "Storage per version"). Hand-written. Event types are
-- interned: each name (such as ModelVersionCreated, 19 bytes) is stored once in `event_types`, and
-- `events.type` holds its small integer code, in the row and in `events_type_idx` (1 byte instead
-- of 20). A change of representation only: every reader gets the name back (a join, or the
-- `eventType` relation), which is what the chain hashes (src/audit/eventHash.ts), so every chain
-- verifies unchanged. Codes are given out in order of first use; new names get theirs on first use
-- inside the append that needs them (src/store/eventTypes.ts).
--
-- `code` is an INTEGER PRIMARY KEY without AUTOINCREMENT, like `events.position`: rows are never
-- deleted (refused below), so max + 1 is never a code given out before.
CREATE TABLE "event_types" (
    "code" INTEGER NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL
);
CREATE UNIQUE INDEX "event_types_name_key" ON "event_types"("name");
INSERT INTO "event_types" ("name")
SELECT "type" FROM "events" GROUP BY "type" ORDER BY MIN("position");

CREATE TRIGGER "event_types_refuse_update" BEFORE UPDATE ON "event_types"
BEGIN
    SELECT RAISE(ABORT, 'registro: event types are immutable (UPDATE refused)');
END;
CREATE TRIGGER "event_types_refuse_delete" BEFORE DELETE ON "event_types"
BEGIN
    SELECT RAISE(ABORT, 'registro: event types are immutable (DELETE refused)');
END;

-- `type` changes its declared type (TEXT affinity would store a code as text), which SQLite cannot
-- do in place: the table is rebuilt with the same rows and positions, as 20261211000000_event_row
-- did, then its indexes and triggers are created again (DROP TABLE drops them; its implicit delete
-- fires no trigger). No foreign key: the code is checked by the append that looks it up, and a
-- code without a name (written outside Registro) reads as an event that cannot be decoded, which
-- verification reports.
CREATE TABLE "new_events" (
    "position" INTEGER NOT NULL PRIMARY KEY,
    "stream_id" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "type" INTEGER NOT NULL,
    "schema_version" INTEGER NOT NULL,
    "data" JSONB NOT NULL,
    "actor" TEXT NOT NULL,
    "occurred_at" DATETIME NOT NULL,
    "correlation_id" TEXT,
    "causation_id" TEXT,
    "actor_credential" JSONB,
    "actor_id" TEXT,
    "actor_kind" TEXT,
    "hash" BLOB
);
INSERT INTO "new_events" ("position", "stream_id", "revision", "type", "schema_version", "data", "actor",
    "occurred_at", "correlation_id", "causation_id", "actor_credential", "actor_id", "actor_kind", "hash")
SELECT "e"."position", "e"."stream_id", "e"."revision", "t"."code", "e"."schema_version", "e"."data", "e"."actor",
    "e"."occurred_at", "e"."correlation_id", "e"."causation_id", "e"."actor_credential", "e"."actor_id",
    "e"."actor_kind", "e"."hash"
FROM "events" "e" JOIN "event_types" "t" ON "t"."name" = "e"."type" ORDER BY "e"."position";
DROP TABLE "events";
ALTER TABLE "new_events" RENAME TO "events";

CREATE UNIQUE INDEX "events_stream_id_revision_key" ON "events"("stream_id", "revision");
CREATE INDEX "events_type_idx" ON "events"("type");
CREATE INDEX "events_actor_id_idx" ON "events"("actor_id");
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
