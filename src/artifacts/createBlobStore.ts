// The blob store the configuration names: the filesystem folder (the embedded default) or an
// S3-compatible bucket shared by every instance. Everything else sees only the BlobStore interface.
import path from "node:path";
import type { ArtifactConfig } from "../config.ts";
import type { BlobStore } from "./blobStore.ts";
import { FsBlobStore } from "./fsBlobStore.ts";
import { S3BlobStore } from "./s3BlobStore.ts";

export function createBlobStore(config: Pick<ArtifactConfig, "dir" | "store">): BlobStore {
  const store = config.store;
  if (store.kind === "filesystem") return new FsBlobStore(config.dir);
  return new S3BlobStore({
    bucket: store.bucket,
    prefix: store.prefix,
    ...(store.endpoint === undefined ? {} : { endpoint: store.endpoint }),
    region: store.region,
    forcePathStyle: store.forcePathStyle,
    partSizeBytes: store.partSizeBytes,
    // Blobs are downloaded here for inspection only, and removed afterwards.
    localTempDir: path.join(config.dir, "inspection-tmp"),
  });
}
