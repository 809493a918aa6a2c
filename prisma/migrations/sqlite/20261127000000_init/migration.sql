-- CreateTable
CREATE TABLE "events" (
    "position" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "stream_id" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "schema_version" INTEGER NOT NULL,
    "data" JSONB NOT NULL,
    "actor" TEXT NOT NULL,
    "occurred_at" DATETIME NOT NULL,
    "correlation_id" TEXT,
    "causation_id" TEXT
);

-- CreateTable
CREATE TABLE "registered_models" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" DATETIME,
    "created_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "created_by" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "last_version" INTEGER NOT NULL
);

-- CreateTable
CREATE TABLE "registered_model_tags" (
    "model_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    PRIMARY KEY ("model_id", "key"),
    CONSTRAINT "registered_model_tags_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "model_versions" (
    "id" TEXT NOT NULL PRIMARY KEY,
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
    "deleted_at" DATETIME,
    "created_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "created_by" TEXT NOT NULL,
    CONSTRAINT "model_versions_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "model_version_tags" (
    "version_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    PRIMARY KEY ("version_id", "key"),
    CONSTRAINT "model_version_tags_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "model_aliases" (
    "model_id" TEXT NOT NULL,
    "alias" TEXT NOT NULL,
    "version_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,

    PRIMARY KEY ("model_id", "alias"),
    CONSTRAINT "model_aliases_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "registered_models" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "model_aliases_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "model_versions" ("id") ON DELETE CASCADE ON UPDATE CASCADE
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

-- Hand-written (Prisma's schema language cannot express these).
-- A live model name is unique; deleted models keep their name so they can be restored.
CREATE UNIQUE INDEX "registered_models_live_name_key" ON "registered_models"("name") WHERE "deleted" = 0;

-- The event log is immutable: the database itself refuses to change or remove an event.
CREATE TRIGGER "events_refuse_update" BEFORE UPDATE ON "events"
BEGIN
    SELECT RAISE(ABORT, 'registro: events are immutable (UPDATE refused)');
END;

CREATE TRIGGER "events_refuse_delete" BEFORE DELETE ON "events"
BEGIN
    SELECT RAISE(ABORT, 'registro: events are immutable (DELETE refused)');
END;
