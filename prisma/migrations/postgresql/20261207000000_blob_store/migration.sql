-- Which blob store holds the artifact bytes (prisma/models/blobStore.prisma): one row, so that an
-- instance started with another store is refused instead of answering BLOB_MISSING.
-- CreateTable
CREATE TABLE "blob_store" (
    "slot" INTEGER NOT NULL DEFAULT 1,
    "kind" TEXT NOT NULL,
    "store_id" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "recorded_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "blob_store_pkey" PRIMARY KEY ("slot")
);
