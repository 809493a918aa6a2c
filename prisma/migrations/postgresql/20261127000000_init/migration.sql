-- CreateTable
CREATE TABLE "events" (
    "position" SERIAL NOT NULL,
    "stream_id" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "schema_version" INTEGER NOT NULL,
    "data" JSONB NOT NULL,
    "actor" TEXT NOT NULL,
    "occurred_at" TIMESTAMP(3) NOT NULL,
    "correlation_id" TEXT,
    "causation_id" TEXT,

    CONSTRAINT "events_pkey" PRIMARY KEY ("position")
);

-- CreateTable
CREATE TABLE "registered_models" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "created_by" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "last_version" INTEGER NOT NULL,

    CONSTRAINT "registered_models_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "registered_model_tags" (
    "model_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    CONSTRAINT "registered_model_tags_pkey" PRIMARY KEY ("model_id","key")
);

-- CreateTable
CREATE TABLE "model_versions" (
    "id" TEXT NOT NULL,
    "model_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "stage" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "run_id" TEXT,
    "description" TEXT NOT NULL DEFAULT '',
    "params" JSONB NOT NULL,
    "metrics" JSONB NOT NULL,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "created_by" TEXT NOT NULL,

    CONSTRAINT "model_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "model_version_tags" (
    "version_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    CONSTRAINT "model_version_tags_pkey" PRIMARY KEY ("version_id","key")
);

-- CreateTable
CREATE TABLE "model_aliases" (
    "model_id" TEXT NOT NULL,
    "alias" TEXT NOT NULL,
    "version_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,

    CONSTRAINT "model_aliases_pkey" PRIMARY KEY ("model_id","alias")
);

-- CreateIndex
CREATE INDEX "events_type_idx" ON "events"("type");

-- CreateIndex
CREATE UNIQUE INDEX "events_stream_id_revision_key" ON "events"("stream_id", "revision");

-- CreateIndex
CREATE INDEX "registered_models_name_idx" ON "registered_models"("name");

-- CreateIndex
CREATE INDEX "registered_models_created_at_idx" ON "registered_models"("created_at");

-- CreateIndex
CREATE INDEX "registered_models_updated_at_idx" ON "registered_models"("updated_at");

-- CreateIndex
CREATE INDEX "registered_model_tags_key_value_idx" ON "registered_model_tags"("key", "value");

-- CreateIndex
CREATE INDEX "model_versions_model_id_stage_idx" ON "model_versions"("model_id", "stage");

-- CreateIndex
CREATE INDEX "model_versions_stage_idx" ON "model_versions"("stage");

-- CreateIndex
CREATE INDEX "model_versions_run_id_idx" ON "model_versions"("run_id");

-- CreateIndex
CREATE INDEX "model_versions_created_at_idx" ON "model_versions"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "model_versions_model_id_version_key" ON "model_versions"("model_id", "version");

-- CreateIndex
CREATE INDEX "model_version_tags_key_value_idx" ON "model_version_tags"("key", "value");

-- CreateIndex
CREATE INDEX "model_aliases_version_id_idx" ON "model_aliases"("version_id");

-- AddForeignKey
ALTER TABLE "registered_model_tags" ADD CONSTRAINT "registered_model_tags_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_version_tags" ADD CONSTRAINT "model_version_tags_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_aliases" ADD CONSTRAINT "model_aliases_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written (Prisma's schema language cannot express these).
-- A live model name is unique; deleted models keep their name so they can be restored.
CREATE UNIQUE INDEX "registered_models_live_name_key" ON "registered_models"("name") WHERE NOT "deleted";

-- The event log is immutable: the database itself refuses to change or remove an event.
CREATE FUNCTION "registro_refuse_event_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'registro: events are immutable (% refused)', TG_OP;
END;
$$;

CREATE TRIGGER "events_refuse_update_delete" BEFORE UPDATE OR DELETE ON "events"
    FOR EACH ROW EXECUTE FUNCTION "registro_refuse_event_change"();

CREATE TRIGGER "events_refuse_truncate" BEFORE TRUNCATE ON "events"
    FOR EACH STATEMENT EXECUTE FUNCTION "registro_refuse_event_change"();
