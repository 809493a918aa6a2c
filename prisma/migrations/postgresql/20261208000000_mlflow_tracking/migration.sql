-- MLflow tracking tables (src/mlflow/tracking): experiments, runs with their params, tags and metric
-- history, and MLflow 3 logged models. Written directly, not projected from the event log.
-- CreateTable
CREATE TABLE "mlflow_experiments" (
    "id" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "artifact_location" TEXT NOT NULL,
    "lifecycle_stage" TEXT NOT NULL,
    "tags" TEXT NOT NULL,
    "creation_time" BIGINT NOT NULL,
    "last_update_time" BIGINT NOT NULL,
    "created_by" TEXT NOT NULL,

    CONSTRAINT "mlflow_experiments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "mlflow_runs" (
    "id" TEXT NOT NULL,
    "experiment_id" INTEGER NOT NULL,
    "run_name" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "start_time" BIGINT NOT NULL,
    "end_time" BIGINT,
    "lifecycle_stage" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "outputs" TEXT NOT NULL,

    CONSTRAINT "mlflow_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "mlflow_run_params" (
    "run_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    CONSTRAINT "mlflow_run_params_pkey" PRIMARY KEY ("run_id","key")
);

-- CreateTable
CREATE TABLE "mlflow_run_tags" (
    "run_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    CONSTRAINT "mlflow_run_tags_pkey" PRIMARY KEY ("run_id","key")
);

-- CreateTable
CREATE TABLE "mlflow_run_metrics" (
    "id" SERIAL NOT NULL,
    "run_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" DOUBLE PRECISION,
    "timestamp" BIGINT NOT NULL,
    "step" BIGINT NOT NULL,
    "model_id" TEXT NOT NULL,
    "dataset_name" TEXT NOT NULL,
    "dataset_digest" TEXT NOT NULL,

    CONSTRAINT "mlflow_run_metrics_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "mlflow_logged_models" (
    "id" TEXT NOT NULL,
    "experiment_id" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "model_type" TEXT NOT NULL,
    "source_run_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "creation_time" BIGINT NOT NULL,
    "last_update_time" BIGINT NOT NULL,
    "created_by" TEXT NOT NULL,

    CONSTRAINT "mlflow_logged_models_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "mlflow_logged_model_params" (
    "model_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    CONSTRAINT "mlflow_logged_model_params_pkey" PRIMARY KEY ("model_id","key")
);

-- CreateTable
CREATE TABLE "mlflow_logged_model_tags" (
    "model_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    CONSTRAINT "mlflow_logged_model_tags_pkey" PRIMARY KEY ("model_id","key")
);

-- CreateIndex
CREATE UNIQUE INDEX "mlflow_experiments_name_key" ON "mlflow_experiments"("name");

-- CreateIndex
CREATE INDEX "mlflow_runs_experiment_id_idx" ON "mlflow_runs"("experiment_id");

-- CreateIndex
CREATE INDEX "mlflow_run_metrics_run_id_key_id_idx" ON "mlflow_run_metrics"("run_id", "key", "id");

-- CreateIndex
CREATE INDEX "mlflow_run_metrics_model_id_idx" ON "mlflow_run_metrics"("model_id");

-- CreateIndex
CREATE UNIQUE INDEX "mlflow_run_metrics_run_id_key_timestamp_step_value_model_id_key" ON "mlflow_run_metrics"("run_id", "key", "timestamp", "step", "value", "model_id");

-- CreateIndex
CREATE INDEX "mlflow_logged_models_experiment_id_creation_time_idx" ON "mlflow_logged_models"("experiment_id", "creation_time");

-- CreateIndex
CREATE INDEX "mlflow_logged_models_source_run_id_idx" ON "mlflow_logged_models"("source_run_id");

-- AddForeignKey
ALTER TABLE "mlflow_run_params" ADD CONSTRAINT "mlflow_run_params_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "mlflow_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mlflow_run_tags" ADD CONSTRAINT "mlflow_run_tags_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "mlflow_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mlflow_run_metrics" ADD CONSTRAINT "mlflow_run_metrics_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "mlflow_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mlflow_logged_model_params" ADD CONSTRAINT "mlflow_logged_model_params_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "mlflow_logged_models"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mlflow_logged_model_tags" ADD CONSTRAINT "mlflow_logged_model_tags_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "mlflow_logged_models"("id") ON DELETE CASCADE ON UPDATE CASCADE;
