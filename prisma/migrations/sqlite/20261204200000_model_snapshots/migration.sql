-- Snapshots of folded model streams for as-of reads (prisma/models/snapshots.prisma): derived data,
-- validated on use by fold version and end hash, so no trigger guards them.
CREATE TABLE "model_state_snapshots" (
    "stream_id" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "position" INTEGER NOT NULL,
    "occurred_at" DATETIME NOT NULL,
    "max_occurred_at" DATETIME NOT NULL,
    "hash" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "fold_version" INTEGER NOT NULL,

    PRIMARY KEY ("stream_id", "revision")
);
