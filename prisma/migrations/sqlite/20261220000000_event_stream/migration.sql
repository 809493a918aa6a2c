-- The event row (#18, docs/performance.md "Storage per version", twelfth step). Hand-written,
-- SQLite only. Stream ids are interned like event types and actors (20261214000000_event_type,
-- 20261215000000_event_actor): each stream id is stored once in `event_streams`, and each event row
-- holds the stream's integer `ref`, in the row and in the (stream, revision) key: one or two bytes
-- instead of the 36-character id, twice a version (about 80 bytes in all).
--
-- Readers are not changed: `events` becomes a view with the table's columns, the stream id joined
-- back from `event_streams` (a rowid lookup per row; a read by stream id finds the ref first through
-- `event_streams_id_key`, then the rows through `event_rows_stream_ref_revision_key`). The join is a
-- LEFT JOIN on the key, which SQLite leaves out of a read that does not use the stream id (a filter
-- on it makes it an inner join), and which would show a row naming no stream rather than hide it
-- (every row names one: `stream_ref` is NOT NULL and streams are never deleted). What is
-- hashed is the stream id, as before, so every chain verifies unchanged. Appends write `event_rows`
-- themselves (src/store/eventStore.ts: an INSERT into a view returns no position); an insert into
-- the view (restore, tools) interns the stream id through the INSTEAD OF trigger below.
--
-- The correlation id, in most events a UUID the server made for the request, is stored as its 16
-- bytes when it is one in canonical lowercase form (a BLOB, which no text id can be); any other id
-- (a client's X-Request-Id, a token's jti, an uppercase UUID) stays the text it was, so the view
-- gives back exactly what was hashed. About 20 bytes an event.
--
-- PostgreSQL keeps its `events` table: the storage target is measured on SQLite, and its appends go
-- through the batched commit path (tx.later) that this migration does not touch there.
CREATE TABLE "event_streams" (
    "ref" INTEGER NOT NULL PRIMARY KEY,
    "id" TEXT NOT NULL
);
CREATE UNIQUE INDEX "event_streams_id_key" ON "event_streams"("id");
-- Refs in order of each stream's first event.
INSERT INTO "event_streams" ("id")
SELECT "stream_id" FROM "events" GROUP BY "stream_id" ORDER BY MIN("position");

CREATE TRIGGER "event_streams_refuse_update" BEFORE UPDATE ON "event_streams"
BEGIN
    SELECT RAISE(ABORT, 'registro: event streams are immutable (UPDATE refused)');
END;
CREATE TRIGGER "event_streams_refuse_delete" BEFORE DELETE ON "event_streams"
BEGIN
    SELECT RAISE(ABORT, 'registro: event streams are immutable (DELETE refused)');
END;

-- The same rows and positions under a new name (no foreign key, as for type and actor: the append
-- looks the ref up itself).
CREATE TABLE "event_rows" (
    "position" INTEGER NOT NULL PRIMARY KEY,
    "stream_ref" INTEGER NOT NULL,
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
INSERT INTO "event_rows" ("position", "stream_ref", "revision", "type", "schema_version", "data", "actor_ref",
    "occurred_at", "correlation_id", "causation_id", "hash")
SELECT "e"."position", "s"."ref", "e"."revision", "e"."type", "e"."schema_version", "e"."data", "e"."actor_ref",
    "e"."occurred_at", CASE WHEN "e"."correlation_id" GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
        THEN unhex(replace("e"."correlation_id", '-', '')) ELSE "e"."correlation_id" END, "e"."causation_id", "e"."hash"
FROM "events" "e" JOIN "event_streams" "s" ON "s"."id" = "e"."stream_id"
ORDER BY "e"."position";
DROP TABLE "events";

CREATE UNIQUE INDEX "event_rows_stream_ref_revision_key" ON "event_rows"("stream_ref", "revision");
CREATE INDEX "event_rows_type_idx" ON "event_rows"("type");
-- With the stream's ref: the view's join names it, so without it a read of events by actor that
-- needs their positions alone (the versions' creator filters) would read each row, where the
-- index on `events.actor_ref` covered it.
CREATE INDEX "event_rows_actor_ref_idx" ON "event_rows"("actor_ref", "stream_ref");
CREATE INDEX "event_rows_occurred_at_idx" ON "event_rows"("occurred_at");

CREATE TRIGGER "event_rows_refuse_update" BEFORE UPDATE ON "event_rows"
BEGIN
    SELECT RAISE(ABORT, 'registro: events are immutable (UPDATE refused)');
END;
CREATE TRIGGER "event_rows_refuse_delete" BEFORE DELETE ON "event_rows"
BEGIN
    SELECT RAISE(ABORT, 'registro: events are immutable (DELETE refused)');
END;
CREATE TRIGGER "event_rows_require_hash" BEFORE INSERT ON "event_rows"
WHEN NEW."hash" IS NULL OR typeof(NEW."hash") <> 'blob' OR length(NEW."hash") <> 32
BEGIN
    SELECT RAISE(ABORT, 'registro: an event needs its chain hash (INSERT refused)');
END;

CREATE VIEW "events" AS
SELECT "r"."position" AS "position", "s"."id" AS "stream_id", "r"."revision" AS "revision",
    "r"."type" AS "type", "r"."schema_version" AS "schema_version", "r"."data" AS "data",
    "r"."actor_ref" AS "actor_ref", "r"."occurred_at" AS "occurred_at",
    CASE WHEN typeof("r"."correlation_id") = 'blob' THEN lower(substr(hex("r"."correlation_id"), 1, 8) || '-' ||
        substr(hex("r"."correlation_id"), 9, 4) || '-' || substr(hex("r"."correlation_id"), 13, 4) || '-' ||
        substr(hex("r"."correlation_id"), 17, 4) || '-' || substr(hex("r"."correlation_id"), 21, 12))
        ELSE "r"."correlation_id" END AS "correlation_id",
    "r"."causation_id" AS "causation_id", "r"."hash" AS "hash"
FROM "event_rows" "r" LEFT JOIN "event_streams" "s" ON "s"."ref" = "r"."stream_ref";

-- An insert into the view: the stream id interned, then the row (whose own triggers check the hash).
CREATE TRIGGER "events_insert" INSTEAD OF INSERT ON "events"
BEGIN
    INSERT INTO "event_streams" ("id") VALUES (NEW."stream_id") ON CONFLICT ("id") DO NOTHING;
    INSERT INTO "event_rows" ("position", "stream_ref", "revision", "type", "schema_version", "data",
        "actor_ref", "occurred_at", "correlation_id", "causation_id", "hash")
    VALUES (NEW."position", (SELECT "ref" FROM "event_streams" WHERE "id" = NEW."stream_id"), NEW."revision",
        NEW."type", NEW."schema_version", NEW."data", NEW."actor_ref", NEW."occurred_at",
        CASE WHEN NEW."correlation_id" GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
        THEN unhex(replace(NEW."correlation_id", '-', '')) ELSE NEW."correlation_id" END, NEW."causation_id", NEW."hash");
END;
-- Changes through the view are refused with the table's own words.
CREATE TRIGGER "events_refuse_update" INSTEAD OF UPDATE ON "events"
BEGIN
    SELECT RAISE(ABORT, 'registro: events are immutable (UPDATE refused)');
END;
CREATE TRIGGER "events_refuse_delete" INSTEAD OF DELETE ON "events"
BEGIN
    SELECT RAISE(ABORT, 'registro: events are immutable (DELETE refused)');
END;
