-- Signed checkpoints of the event log (src/audit/checkpoints.ts). The position is the key, so servers
-- sharing a database create one checkpoint per position. Hand-written: Prisma would make the key
-- AUTOINCREMENT, but a checkpoint's position is the log's, never the table's own counter.
CREATE TABLE "audit_checkpoints" (
    "position" INTEGER NOT NULL PRIMARY KEY,
    "root" TEXT NOT NULL,
    "stream_count" INTEGER NOT NULL,
    "created_at" DATETIME NOT NULL,
    "algorithm" TEXT NOT NULL,
    "key_fingerprint" TEXT NOT NULL,
    "public_key" TEXT NOT NULL,
    "signature" TEXT NOT NULL
);

-- Checkpoints are append-only, like the events they vouch for.
CREATE TRIGGER "audit_checkpoints_refuse_update" BEFORE UPDATE ON "audit_checkpoints"
BEGIN
    SELECT RAISE(ABORT, 'registro: audit checkpoints are immutable (UPDATE refused)');
END;

CREATE TRIGGER "audit_checkpoints_refuse_delete" BEFORE DELETE ON "audit_checkpoints"
BEGIN
    SELECT RAISE(ABORT, 'registro: audit checkpoints are immutable (DELETE refused)');
END;
