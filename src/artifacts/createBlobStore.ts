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
  const { kind: _kind, presignedDownloadSeconds: _presign, ...settings } = store;
  // The local copies the inspectors read (kept by uploads, or downloaded), each removed after use.
  return new S3BlobStore({ ...settings, localTempDir: path.join(config.dir, "inspection-tmp") });
}
