-- Usage time series (src/usage). usage_buckets has no foreign key to model_versions on purpose:
-- the projection rebuild replaces model_versions with a new table, and usage rows (which the
-- event log does not hold) must survive it.
-- CreateTable
CREATE TABLE "usage_buckets" (
    "granularity" TEXT NOT NULL,
    "bucket_start" TIMESTAMP(3) NOT NULL,
    "model_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "series" TEXT NOT NULL,
    "dimension" TEXT NOT NULL,
    "consumer_id" TEXT NOT NULL,
    "count" BIGINT NOT NULL,
    "errors" BIGINT NOT NULL,
    "bytes" BIGINT NOT NULL,
    "latency_p50_ms" DOUBLE PRECISION,
    "latency_p99_ms" DOUBLE PRECISION,
    "last_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "usage_buckets_pkey" PRIMARY KEY ("granularity","model_id","bucket_start","version","series","dimension","consumer_id")
);

-- CreateTable
CREATE TABLE "usage_metrics" (
    "granularity" TEXT NOT NULL,
    "bucket_start" TIMESTAMP(3) NOT NULL,
    "model_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "environment" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "sum" DOUBLE PRECISION NOT NULL,
    "reports" BIGINT NOT NULL,
    "last" DOUBLE PRECISION NOT NULL,
    "last_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "usage_metrics_pkey" PRIMARY KEY ("granularity","model_id","bucket_start","version","environment","name")
);

-- CreateTable
CREATE TABLE "usage_applied_batches" (
    "id" TEXT NOT NULL,
    "applied_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "usage_applied_batches_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "usage_buckets_granularity_model_id_version_bucket_start_idx" ON "usage_buckets"("granularity", "model_id", "version", "bucket_start");

-- CreateIndex
CREATE INDEX "usage_buckets_granularity_bucket_start_idx" ON "usage_buckets"("granularity", "bucket_start");

-- CreateIndex
CREATE INDEX "usage_buckets_model_id_version_granularity_series_last_at_idx" ON "usage_buckets"("model_id", "version", "granularity", "series", "last_at");

-- CreateIndex
CREATE INDEX "usage_metrics_granularity_bucket_start_idx" ON "usage_metrics"("granularity", "bucket_start");

-- CreateIndex
CREATE INDEX "usage_applied_batches_applied_at_idx" ON "usage_applied_batches"("applied_at");
