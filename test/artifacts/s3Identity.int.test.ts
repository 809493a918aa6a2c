// The S3 store's identity marker: one that cannot be read is damage, reported as such, but only
// after reading it again a few times: a service whose writes are not atomic (s3rver) can show a
// reader the marker another instance starting at the same moment is still writing.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3BlobStore } from "../../src/artifacts/s3BlobStore.ts";
import { startS3Server } from "../support/s3Server.ts";
import type { S3TestServer } from "../support/s3Server.ts";

describe("the S3 store's identity marker", () => {
  let s3: S3TestServer;
  const localTempDir = mkdtempSync(path.join(tmpdir(), "registro-s3-identity-"));
  let stores = 0;
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    await s3.close();
    rmSync(localTempDir, { recursive: true, force: true });
  });

  async function storeWithMarker(text: string) {
    const prefix = `identity-${++stores}/`;
    const store = new S3BlobStore({
      bucket: s3.bucket,
      prefix,
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      partSizeBytes: 5 * 1024 * 1024,
      credentials: s3.credentials,
      localTempDir,
    });
    const put = (body: string) =>
      store.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}store-id`, Body: body }));
    await put(text);
    return { store, put };
  }

  it("reports a marker that stays unreadable as damage", async () => {
    const { store } = await storeWithMarker('{"id":');
    try {
      await expect(store.readIdentity()).rejects.toThrow(/store-id is not a blob store identity/);
    } finally {
      await store.close();
    }
  });

  it("reads a marker that becomes whole while it is read again", async () => {
    const { store, put } = await storeWithMarker("");
    try {
      const id = randomUUID();
      const reading = store.readIdentity();
      await new Promise((resolve) => setTimeout(resolve, 150));
      await put(JSON.stringify({ id, createdAt: new Date().toISOString() }));
      // Read once, it was refused as damage (checked).
      expect((await reading)?.id).toBe(id);
    } finally {
      await store.close();
    }
  });
});
