-- Which blob store holds the artifact bytes (prisma/models/blobStore.prisma): one row, so that an
-- instance started with another store is refused instead of answering BLOB_MISSING.
-- CreateTable
CREATE TABLE "blob_store" (
    "slot" INTEGER NOT NULL PRIMARY KEY DEFAULT 1,
    "kind" TEXT NOT NULL,
    "store_id" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "recorded_at" DATETIME NOT NULL
);
