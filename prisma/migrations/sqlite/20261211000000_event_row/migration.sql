-- The event row (#18, docs/performance.md "Storage per version"). Hand-written. Two changes of
-- representation, in one rebuild of the table: positions without AUTOINCREMENT, and the chain hash
-- as its 32 bytes (a BLOB; src/store/eventCodec.ts reads it back as hex, which is what is hashed).
--
-- With AUTOINCREMENT SQLite keeps the table's highest position in `sqlite_sequence` and updates
-- that row on every insert: one more page written to the WAL (and fsynced) by every command. As a
-- plain INTEGER PRIMARY KEY (an alias of the rowid) a new position is max(position) + 1, which is
-- the same number as long as the newest event is never deleted. Registro never deletes events: the
-- `events_refuse_delete` trigger refuses it, restore writes into an empty registry, and the
-- rebuild only reads the log. Only a log truncated outside Registro (triggers dropped) could see a
-- position given out again, and such a log no longer matches its audit checkpoints (heads bound to
-- positions), which `npm run audit:verify` reports.
--
-- SQLite cannot drop AUTOINCREMENT in place: the table is rebuilt with the same columns, rows and
-- positions, then its indexes and triggers are created again (DROP TABLE drops them; its implicit
-- delete fires no trigger). No table, view or trigger elsewhere references `events`.
CREATE TABLE "new_events" (
    "position" INTEGER NOT NULL PRIMARY KEY,
    "stream_id" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
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
SELECT "position", "stream_id", "revision", "type", "schema_version", "data", "actor",
    "occurred_at", "correlation_id", "causation_id", "actor_credential", "actor_id", "actor_kind",
    -- The chain hash as its 32 bytes (src/store/eventCodec.ts). A value that is not 64 hex digits
    -- (written outside Registro) is kept as it is, so verification still reports it.
    CASE WHEN length("hash") = 64 AND "hash" NOT GLOB '*[^0-9a-f]*' THEN unhex("hash") ELSE "hash" END
FROM "events" ORDER BY "position";
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
