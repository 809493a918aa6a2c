-- Signed checkpoints of the event log (src/audit/checkpoints.ts). The position is the key, so servers
-- sharing a database create one checkpoint per position.
CREATE TABLE "audit_checkpoints" (
    "position" INTEGER NOT NULL,
    "root" TEXT NOT NULL,
    "stream_count" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "algorithm" TEXT NOT NULL,
    "key_fingerprint" TEXT NOT NULL,
    "public_key" TEXT NOT NULL,
    "signature" TEXT NOT NULL,

    CONSTRAINT "audit_checkpoints_pkey" PRIMARY KEY ("position")
);

-- Hand-written. A checkpoint's Merkle leaves are sorted by stream id byte by byte, whatever the
-- database's collation: this index lets the heads be read in that order a page at a time.
CREATE INDEX "events_stream_id_binary_idx" ON "events" ("stream_id" COLLATE "C", "revision");

-- Checkpoints are append-only, like the events they vouch for.
CREATE FUNCTION "registro_refuse_checkpoint_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'registro: audit checkpoints are immutable (% refused)', TG_OP;
END;
$$;

CREATE TRIGGER "audit_checkpoints_refuse_update_delete" BEFORE UPDATE OR DELETE ON "audit_checkpoints"
    FOR EACH ROW EXECUTE FUNCTION "registro_refuse_checkpoint_change"();

CREATE TRIGGER "audit_checkpoints_refuse_truncate" BEFORE TRUNCATE ON "audit_checkpoints"
    FOR EACH STATEMENT EXECUTE FUNCTION "registro_refuse_checkpoint_change"();
