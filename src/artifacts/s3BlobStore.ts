// The S3-compatible BlobStore: one bucket (under a key prefix) shared by every instance. Layout:
//   sha256/ab/abcdef…           one object per distinct content, named by its digest (fan-out as on disk)
//   tmp/<instanceId>/<uuid>     uploads without an announced digest, before they are copied into place
//   tmp/instances/<instanceId>  an instance's heartbeat, rewritten every heartbeatMs while it is open:
//                               its LastModified (the service's clock) tells others the temp objects
//                               and multipart uploads under tmp/<instanceId>/ are still in use
//   store-id                    this store's identity (a random id, written once), recorded by the database
//   corrupt/<sha256>            damage a check found in that blob (JSON), seen by every instance
// S3 makes an object visible only when its PUT, its CopyObject or its CompleteMultipartUpload
// succeeds, so nothing half written is ever visible: a failed upload leaves at most an unfinished
// multipart upload (invisible, but billed) or a temp object. cleanTemporaryFiles() removes those of
// instances that are gone; operators should also give the bucket a lifecycle rule
// AbortIncompleteMultipartUpload (a few days), which catches what no instance is left to clean.
import { randomBytes, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import type { WriteStream } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { Readable, Transform, pipeline } from "node:stream";
import { pipeline as pipelineAsync } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import type { CompletedPart, MultipartUpload } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type {
  BlobDamage,
  BlobInfo,
  BlobStore,
  BlobStoreIdentity,
  ByteRange,
  PresignOptions,
  PutOptions,
  StoredBlob,
} from "./blobStore.ts";
import { SHA256_HEX, stillTheBlob } from "./blobStore.ts";
import { ArtifactDigestMismatchError, BlobNotFoundError } from "./errors.ts";
import { STREAM_BUFFER, hashingMeter } from "./hashingMeter.ts";
import { damageSchema, identitySchema, parseJson } from "./storeRecords.ts";
import { ABANDONED_AFTER_MS, HEARTBEAT_MS } from "./temporaryFolders.ts";

/** Reads of an unreadable identity marker before it counts as damaged (see readIdentity). */
const IDENTITY_READS = 5;
/** How long connecting to the service may take. */
const CONNECT_TIMEOUT_MS = 10_000;
/** How long a request's socket may stay silent (no byte either way). */
const IDLE_TIMEOUT_MS = 60_000;
/** A local copy kept for an inspection that never came (the upload's command failed first) goes after this. */
const SPOOL_LIFETIME_MS = 10 * 60_000;

/** CopyObject's limit: a bigger object is copied part by part (UploadPartCopy). */
const COPY_OBJECT_MAX_BYTES = 5 * 2 ** 30;
/** UploadPartCopy's limits on one part and on the number of parts. */
const COPY_PART_MAX_BYTES = 5 * 2 ** 30;
const MAX_PARTS = 10_000;
/** Parts copied at once by a multipart copy: the service moves the bytes, we only wait. */
const COPY_CONCURRENCY = 4;

const INSTANCE_ID = /^[A-Za-z0-9._-]{1,128}$/;
const HEARTBEATS = "instances";

/** Where the bucket is and how to talk to it (the S3_* settings). */
export interface S3Settings {
  readonly bucket: string;
  /** Key prefix inside the bucket: "" or ending with "/", so several registries can share a bucket. */
  readonly prefix: string;
  /** The service's URL; unset: AWS S3 of `region`. */
  readonly endpoint?: string;
  readonly region: string;
  /** Path-style addressing (most S3-compatible servers) instead of bucket subdomains. */
  readonly forcePathStyle: boolean;
  /** Multipart part size (at least 5 MiB): an upload holds about two parts in memory. */
  readonly partSizeBytes: number;
}

export interface S3BlobStoreOptions extends S3Settings {
  /** Local folder where withLocalFile downloads blobs for the inspectors. */
  readonly localTempDir: string;
  /** Names this process's temp objects and heartbeat; default `<hostname>-<pid>-<random>`. */
  readonly instanceId?: string;
  /** Temp objects of an instance whose heartbeat is older than this (or missing) are removed. */
  readonly abandonedAfterMs?: number;
  /** How often this instance rewrites its heartbeat object. */
  readonly heartbeatMs?: number;
  /** Unset: the AWS SDK's default chain (environment, profile, instance role...). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** A client to use instead of making one (its settings then win over the ones above); not destroyed by close(). */
  readonly client?: S3Client;
  /** Objects larger than this are copied into place part by part; default (and at most) 5 GiB, S3's CopyObject limit. */
  readonly multipartCopyThresholdBytes?: number;
  /** Part size of such a copy; default: about a hundredth of the object, at least partSizeBytes. */
  readonly copyPartSizeBytes?: number;
  /** How long connecting to the service may take (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** How long a request's socket may stay silent before the request fails (default 60 s). */
  readonly idleTimeoutMs?: number;
}

interface ServiceError {
  readonly name?: string;
  readonly Code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const statusOf = (error: unknown) => (error as ServiceError).$metadata?.httpStatusCode;
const codeOf = (error: unknown) => (error as ServiceError).Code ?? (error as ServiceError).name;

/**
 * HeadObject answers a bare 404 (no body, so no code); GetObject says NoSuchKey. A missing bucket
 * is a configuration error, not a missing blob (HeadObject cannot tell them apart; GetObject can).
 */
const isMissing = (error: unknown) =>
  codeOf(error) !== "NoSuchBucket" &&
  (statusOf(error) === 404 || codeOf(error) === "NoSuchKey" || codeOf(error) === "NotFound");

/** The service does not do this at all (s3rver: ListMultipartUploads, AbortMultipartUpload). */
const isUnsupported = (error: unknown) =>
  statusOf(error) === 501 ||
  statusOf(error) === 405 ||
  codeOf(error) === "NotImplemented" ||
  codeOf(error) === "MethodNotAllowed";

/** Another writer won a conditional write (If-None-Match: *). */
const isConditionLost = (error: unknown) =>
  statusOf(error) === 412 ||
  statusOf(error) === 409 ||
  codeOf(error) === "PreconditionFailed" ||
  codeOf(error) === "ConditionalRequestConflict";

function defaultInstanceId(): string {
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9.-]/g, "_")
      .slice(0, 64) || "host";
  return `${host}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/**
 * `client` for one upload whose digest is known: a single-part upload (PutObject) also carries the
 * digest as x-amz-checksum-sha256, so the service itself refuses bytes damaged on the way. Not in
 * the Upload's params: lib-storage would copy it into every UploadPart of a multipart upload, where
 * it is wrong (each part has its own checksum), and it cannot know beforehand which one it will do.
 */
function withSinglePutChecksum(client: S3Client, sha256: string): S3Client {
  const checksum = Buffer.from(sha256, "hex").toString("base64");
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  const wrapped = Object.create(client) as S3Client;
  Object.defineProperty(wrapped, "send", {
    value: (command: unknown) => {
      if (command instanceof PutObjectCommand) command.input.ChecksumSHA256 ??= checksum;
      return send(command);
    },
  });
  return wrapped;
}

/** The first `count` bytes of `body`, which is then closed. */
function firstBytes(body: Readable, count: number): Readable {
  let left = count;
  const out = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const part = chunk.subarray(0, left);
      left -= part.length;
      callback(null, part);
      if (left === 0) {
        body.unpipe(out);
        body.destroy();
        out.end();
      }
    },
  });
  body.on("error", (error) => out.destroy(error));
  out.on("close", () => body.destroy());
  return body.pipe(out);
}

export class S3BlobStore implements BlobStore {
  readonly kind = "s3";
  readonly bucket: string;
  readonly prefix: string;
  readonly instanceId: string;
  readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly endpoint: string | undefined;
  private readonly partSizeBytes: number;
  private readonly localTempDir: string;
  private readonly abandonedAfterMs: number;
  private readonly heartbeatMs: number;
  private readonly multipartCopyThresholdBytes: number;
  private readonly copyPartSizeBytes: number | undefined;
  /** Local copies kept by uploads for the inspection that follows (keepLocalCopy), by digest. */
  private readonly spooled = new Map<string, { readonly file: string; readonly expiry: NodeJS.Timeout }>();
  private heartbeat: NodeJS.Timeout | null = null;
  private heartbeatStarted: Promise<void> | null = null;

  constructor(options: S3BlobStoreOptions) {
    if (options.bucket === "") throw new Error("S3BlobStore needs a bucket");
    if (options.prefix !== "" && !options.prefix.endsWith("/"))
      throw new Error(`S3BlobStore prefix must be "" or end with "/": ${JSON.stringify(options.prefix)}`);
    const instanceId = options.instanceId ?? defaultInstanceId();
    if (!INSTANCE_ID.test(instanceId) || instanceId === HEARTBEATS)
      throw new Error(`not a usable instance id: ${JSON.stringify(instanceId)}`);
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.instanceId = instanceId;
    this.endpoint = options.endpoint;
    this.partSizeBytes = options.partSizeBytes;
    this.localTempDir = path.resolve(options.localTempDir);
    this.abandonedAfterMs = options.abandonedAfterMs ?? ABANDONED_AFTER_MS;
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    this.multipartCopyThresholdBytes = Math.min(
      options.multipartCopyThresholdBytes ?? COPY_OBJECT_MAX_BYTES,
      COPY_OBJECT_MAX_BYTES,
    );
    this.copyPartSizeBytes = options.copyPartSizeBytes;
    // The SDK warns on every start under Node 20 that releases after January 2027 will need Node
    // 22. The version is pinned in package.json, so the warning says nothing about this one.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    this.ownsClient = options.client === undefined;
    this.client =
      options.client ??
      new S3Client({
        region: options.region,
        forcePathStyle: options.forcePathStyle,
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
        // Newer SDKs otherwise send CRC32 trailers in aws-chunked bodies, which s3rver and many
        // S3-compatible servers reject; the content is hashed by us anyway.
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        // Keep-alive, and room for several uploads (two parts each) and downloads at once: the
        // SDK's default pool of 50 sockets would queue requests behind long downloads.
        // Deadlines: a service that stops answering (a dropped route, a black-holed address) fails
        // the request instead of holding an upload, a download or a shutdown forever. The socket
        // timeout is per inactivity, from the request to the last byte of the response's body, so
        // a long transfer that keeps moving is not cut and one that stalls halfway fails. (The
        // handler's `requestTimeout` is not that: one timer from the request to the response's
        // headers, which cut a slow upload of a part that was still moving and left a download
        // whose body stalled waiting forever.)
        requestHandler: {
          httpAgent: new http.Agent({ keepAlive: true, maxSockets: 256 }),
          httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 256 }),
          connectionTimeout: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
          socketTimeout: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
        },
      });
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}${this.endpoint === undefined ? "" : ` at ${this.endpoint}`}`;
  }

  private keyOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256 digest: ${JSON.stringify(sha256)}`);
    return `${this.prefix}sha256/${sha256.slice(0, 2)}/${sha256}`;
  }

  private damageKeyOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256 digest: ${JSON.stringify(sha256)}`);
    return `${this.prefix}corrupt/${sha256}`;
  }

  private get tmpPrefix(): string {
    return `${this.prefix}tmp/`;
  }

  /** Where this instance's temp objects live. */
  get tmpDir(): string {
    return `${this.tmpPrefix}${this.instanceId}/`;
  }

  private heartbeatKeyOf(instanceId: string): string {
    return `${this.tmpPrefix}${HEARTBEATS}/${instanceId}`;
  }

  private async head(key: string): Promise<{ size: number; modifiedAt: Date } | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  private async getText(key: string): Promise<{ text: string; modifiedAt: Date } | null> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        text: await object.Body!.transformToString("utf8"),
        modifiedAt: object.LastModified ?? new Date(0),
      };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  private async deleteKey(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  private get identityKey(): string {
    return `${this.prefix}store-id`;
  }

  async readIdentity(): Promise<BlobStoreIdentity | null> {
    // S3 makes a written object visible whole, but some compatible services (s3rver) let a reader
    // see it while another instance starting at the same moment is still writing it: an unreadable
    // marker is read again a few times before it is reported as damaged.
    for (let attempt = 1; ; attempt++) {
      const found = await this.getText(this.identityKey);
      if (found === null) return null;
      const parsed = identitySchema.safeParse(parseJson(found.text));
      if (parsed.success) return { kind: this.kind, id: parsed.data.id, location: this.location };
      if (attempt >= IDENTITY_READS)
        throw new Error(
          `s3://${this.bucket}/${this.identityKey} is not a blob store identity: restore it from a backup or remove it`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * With If-None-Match: * only the first writer succeeds. A service that ignores the condition
   * (s3rver does) or refuses it lets a later writer overwrite the marker: the database is what
   * keeps instances starting together from writing different ids (storeIdentity.ts).
   */
  async writeIdentity(id: string): Promise<BlobStoreIdentity> {
    const body = JSON.stringify({ id, createdAt: new Date().toISOString() });
    const put = (conditional: boolean) =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.identityKey,
          Body: body,
          ContentType: "application/json",
          ...(conditional ? { IfNoneMatch: "*" } : {}),
        }),
      );
    try {
      await put(true);
    } catch (error) {
      if (!isConditionLost(error)) {
        // Some S3-compatible services refuse conditional writes outright.
        if (!isUnsupported(error)) throw error;
        await put(false);
      }
    }
    const written = await this.readIdentity();
    if (written === null) throw new Error(`s3://${this.bucket}/${this.identityKey} could not be written`);
    return written;
  }

  async identity(): Promise<BlobStoreIdentity> {
    return (await this.readIdentity()) ?? this.writeIdentity(randomUUID());
  }

  async probeWritable(): Promise<void> {
    const key = `${this.tmpDir}readyz-probe-${randomUUID()}`;
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: "probe" }));
    await this.deleteKey(key);
  }

  async withLocalFile<T>(sha256: string, use: (file: string) => Promise<T>): Promise<T> {
    const kept = this.takeSpooled(sha256);
    if (kept !== null) {
      try {
        return await use(kept);
      } finally {
        await rm(kept, { force: true });
      }
    }
    const body = await this.open(sha256);
    await mkdir(this.localTempDir, { recursive: true });
    const file = path.join(this.localTempDir, `${sha256.slice(0, 12)}-${randomUUID()}.blob`);
    try {
      await pipelineAsync(body, createWriteStream(file, { flags: "wx", highWaterMark: STREAM_BUFFER }));
      return await use(file);
    } finally {
      body.destroy();
      await rm(file, { force: true });
    }
  }

  async presignDownload(sha256: string, options: PresignOptions): Promise<string | null> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.keyOf(sha256),
      ResponseContentType: options.contentType,
      ResponseContentDisposition: options.contentDisposition,
    });
    return getSignedUrl(this.client, command, { expiresIn: options.expiresInSeconds });
  }

  /**
   * Writes this instance's heartbeat (once, then every heartbeatMs) before its first temp object,
   * so that no other instance ever sees a temp object of a live instance without one.
   */
  private ensureHeartbeat(): Promise<void> {
    this.heartbeatStarted ??= this.beat().then(
      () => {
        // unref: a heartbeat must never keep a finished process (a CLI, a test) alive.
        this.heartbeat ??= setInterval(
          () => void this.beat().catch(() => undefined),
          this.heartbeatMs,
        ).unref();
      },
      (error: unknown) => {
        this.heartbeatStarted = null;
        throw error;
      },
    );
    return this.heartbeatStarted;
  }

  private async beat(): Promise<void> {
    const body = JSON.stringify({
      instanceId: this.instanceId,
      host: os.hostname(),
      pid: process.pid,
      beatAt: new Date().toISOString(),
    });
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.heartbeatKeyOf(this.instanceId),
        Body: body,
        ContentType: "application/json",
      }),
    );
  }

  /** Stops the heartbeat and removes this instance's temp objects and heartbeat (uploads still running fail). */
  async close(): Promise<void> {
    const started = this.heartbeatStarted;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.heartbeatStarted = null;
    try {
      if (started !== null) {
        await started.catch(() => undefined);
        // Best effort: with the service unreachable, another instance's clean-up removes them once
        // this heartbeat is stale; a shutdown must not fail for it.
        try {
          for await (const object of this.listKeys(this.tmpDir)) await this.deleteKey(object.key);
          await this.deleteKey(this.heartbeatKeyOf(this.instanceId));
        } catch {
          // Left for the clean-up of another instance.
        }
      }
    } finally {
      if (this.ownsClient) this.client.destroy();
    }
  }

  private async *listKeys(prefix: string): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield { key: object.Key, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /**
   * Removes what uploads of gone instances left behind: the temp objects under tmp/<id>/ and the
   * multipart uploads to tmp/<id>/ of every instance whose heartbeat is missing or older than
   * abandonedAfterMs (never this instance's own), their stale heartbeats, and multipart uploads to
   * blob keys initiated longer ago than that (an upload with a known digest goes straight to its
   * key, and no instance receives one for a day). Services that cannot list multipart uploads
   * (s3rver) are left to the bucket's AbortIncompleteMultipartUpload lifecycle rule. Returns how
   * many objects and multipart uploads it removed.
   */
  async cleanTemporaryFiles(): Promise<number> {
    const cutoff = Date.now() - this.abandonedAfterMs;
    const heartbeatPrefix = `${this.tmpPrefix}${HEARTBEATS}/`;
    const verdicts = new Map<string, Promise<boolean>>();
    const abandoned = (instanceId: string): Promise<boolean> => {
      if (instanceId === this.instanceId) return Promise.resolve(false);
      let verdict = verdicts.get(instanceId);
      if (verdict === undefined) {
        verdict = this.head(this.heartbeatKeyOf(instanceId)).then(
          (beat) => beat === null || beat.modifiedAt.getTime() < cutoff,
        );
        verdicts.set(instanceId, verdict);
      }
      return verdict;
    };
    /** The instance whose temp space holds `key`, or null for a key outside any instance's temp space. */
    const ownerOf = (key: string): string | null => {
      if (!key.startsWith(this.tmpPrefix) || key.startsWith(heartbeatPrefix)) return null;
      const [instanceId, ...rest] = key.slice(this.tmpPrefix.length).split("/");
      return instanceId !== undefined && instanceId !== "" && rest.length > 0 ? instanceId : null;
    };

    let removed = 0;
    const stale: string[] = [];
    for await (const object of this.listKeys(this.tmpPrefix)) {
      if (object.key.startsWith(heartbeatPrefix)) {
        const instanceId = object.key.slice(heartbeatPrefix.length);
        if (instanceId !== this.instanceId && object.modifiedAt.getTime() < cutoff) stale.push(object.key);
        continue;
      }
      const owner = ownerOf(object.key);
      // A loose object right under tmp/ belongs to no instance: only its age counts.
      const gone = owner === null ? object.modifiedAt.getTime() < cutoff : await abandoned(owner);
      if (!gone) continue;
      await this.deleteKey(object.key);
      removed++;
    }

    for (const upload of await this.multipartUploads()) {
      if (upload.Key === undefined || upload.UploadId === undefined) continue;
      const owner = ownerOf(upload.Key);
      const gone =
        owner === null ? (upload.Initiated?.getTime() ?? Date.now()) < cutoff : await abandoned(owner);
      if (!gone) continue;
      try {
        await this.client.send(
          new AbortMultipartUploadCommand({
            Bucket: this.bucket,
            Key: upload.Key,
            UploadId: upload.UploadId,
          }),
        );
        removed++;
      } catch (error) {
        if (!isUnsupported(error) && !isMissing(error)) throw error;
      }
    }

    // Last: a heartbeat goes only after the temp space it vouched for.
    for (const key of stale) {
      await this.deleteKey(key);
      removed++;
    }
    return removed + (await this.removeStaleLocalFiles());
  }

  /**
   * Local copies made for inspection by processes killed while inspecting: an inspection lasts
   * seconds (its time budget), so a copy an hour old belongs to no running inspection on this host.
   */
  private async removeStaleLocalFiles(): Promise<number> {
    const names = await readdir(this.localTempDir).catch(() => []);
    const cutoff = Date.now() - Math.min(this.abandonedAfterMs, 3_600_000);
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith(".blob")) continue;
      const file = path.join(this.localTempDir, name);
      const info = await stat(file).catch(() => null);
      if (info === null || info.mtimeMs >= cutoff) continue;
      await rm(file, { force: true });
      removed++;
    }
    return removed;
  }

  /** Unfinished multipart uploads under tmp/ and sha256/, or none when the service cannot list them. */
  private async multipartUploads(): Promise<MultipartUpload[]> {
    const uploads: MultipartUpload[] = [];
    for (const prefix of [this.tmpPrefix, `${this.prefix}sha256/`]) {
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      for (;;) {
        let page;
        try {
          page = await this.client.send(
            new ListMultipartUploadsCommand({
              Bucket: this.bucket,
              Prefix: prefix,
              KeyMarker: keyMarker,
              UploadIdMarker: uploadIdMarker,
            }),
          );
        } catch (error) {
          if (isUnsupported(error)) return [];
          throw error;
        }
        uploads.push(...(page.Uploads ?? []));
        if (!page.IsTruncated) break;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
    }
    return uploads;
  }

  /** The local copy an upload kept of these bytes, now the caller's to remove; null when there is none. */
  private takeSpooled(sha256: string): string | null {
    const kept = this.spooled.get(sha256);
    if (kept === undefined) return null;
    this.spooled.delete(sha256);
    clearTimeout(kept.expiry);
    return kept.file;
  }

  /** Keeps `file` as the local copy of `sha256` until withLocalFile takes it, or it expires. */
  private keepSpooled(sha256: string, file: string): void {
    const replaced = this.takeSpooled(sha256);
    if (replaced !== null) void rm(replaced, { force: true });
    const expiry = setTimeout(() => {
      if (this.spooled.get(sha256)?.file !== file) return;
      this.spooled.delete(sha256);
      void rm(file, { force: true });
    }, SPOOL_LIFETIME_MS).unref();
    this.spooled.set(sha256, { file, expiry });
  }

  async put(source: Readable | AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<StoredBlob> {
    const { expectedSha256, maxBytes } = options;
    // The copy for the inspection that follows: written as the bytes pass, with backpressure, so
    // the inspectors need not read the object back. Best effort: should the local disk fail, the
    // upload goes on and withLocalFile downloads instead.
    let spool: WriteStream | null = null;
    let spoolFile: string | null = null;
    if (options.keepLocalCopy === true) {
      await mkdir(this.localTempDir, { recursive: true });
      spoolFile = path.join(this.localTempDir, `upload-${randomUUID()}.blob`);
      spool = createWriteStream(spoolFile, { flags: "wx", highWaterMark: STREAM_BUFFER });
      spool.on("error", () => {
        spool?.destroy();
        spool = null;
      });
    }
    const spoolChunk = (chunk: Buffer, then: () => void) => {
      const target = spool;
      if (target === null || target.write(chunk)) return then();
      const resume = () => {
        target.off("drain", resume).off("close", resume);
        then();
      };
      target.on("drain", resume).on("close", resume);
    };
    // With a known digest the bytes go straight to their key: the check below fails the stream
    // before the upload sees its end, so it is never completed. (An announced "digest" that is not
    // one cannot name a key, and ends as a mismatch like any other.)
    const direct = expectedSha256 !== undefined && SHA256_HEX.test(expectedSha256);
    const meter = hashingMeter({
      maxBytes,
      limitScope: options.limitScope,
      alsoWrite: spoolChunk,
      atEnd: (actual) =>
        !direct || actual === expectedSha256 ? null : new ArtifactDigestMismatchError(expectedSha256, actual),
    });
    // Errors of the source reach `meter` (and through it the upload); the callback only keeps the
    // pipeline from reporting them a second time.
    pipeline(source, meter.stream, () => undefined);

    const finishSpool = (): Promise<boolean> =>
      new Promise((resolve) => {
        const target = spool;
        if (target === null) return resolve(false);
        target.end((error?: Error | null) => resolve(error == null && spool !== null));
      });
    let keptSpool = false;
    const keepSpool = async (sha256: string) => {
      if (spoolFile !== null && (await finishSpool())) {
        this.keepSpooled(sha256, spoolFile);
        keptSpool = true;
      }
    };

    const key = direct ? this.keyOf(expectedSha256) : `${this.tmpDir}${randomUUID()}`;
    let tempStarted = false;
    try {
      const existed = direct ? (await this.head(key)) !== null : false;
      if (!direct) {
        await this.ensureHeartbeat();
        tempStarted = true;
      }
      const upload = new Upload({
        client: direct ? withSinglePutChecksum(this.client, expectedSha256) : this.client,
        params: { Bucket: this.bucket, Key: key, Body: meter.stream },
        partSize: this.partSizeBytes,
        queueSize: 2,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (error) {
        // The stream's own failure (too large, digest, source broke) is the one to report, not
        // what the service said when the upload was abandoned (s3rver cannot abort one at all).
        throw meter.stream.errored ?? error;
      }
      const sha256 = meter.digest();
      const size = meter.size;
      if (direct) {
        await this.clearDamage(sha256);
        await keepSpool(sha256);
        return { sha256, size, created: !existed };
      }
      if (expectedSha256 !== undefined && expectedSha256 !== sha256)
        throw new ArtifactDigestMismatchError(expectedSha256, sha256);
      const target = this.keyOf(sha256);
      const targetExisted = (await this.head(target)) !== null;
      // Identical content is still stored once: the verified copy replaces the old object, which
      // heals a damaged one and restarts its garbage-collection clock (LastModified), as on disk.
      await this.copy(key, target, size);
      await this.clearDamage(sha256);
      await keepSpool(sha256);
      return { sha256, size, created: !targetExisted };
    } catch (error) {
      meter.stream.destroy();
      throw error;
    } finally {
      // Also after a failure: a service may have kept a PUT whose response was lost.
      if (tempStarted) await this.deleteKey(key).catch(() => undefined);
      if (spoolFile !== null && !keptSpool) {
        spool?.destroy();
        await rm(spoolFile, { force: true });
      }
    }
  }

  private copySource(key: string): string {
    return `${this.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
  }

  /** Copies within the bucket: CopyObject up to its 5 GiB limit, UploadPartCopy ranges beyond. */
  private async copy(from: string, to: string, size: number): Promise<void> {
    const CopySource = this.copySource(from);
    if (size <= this.multipartCopyThresholdBytes) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource }));
      return;
    }
    const partSize = Math.min(
      COPY_PART_MAX_BYTES,
      Math.max(
        this.copyPartSizeBytes ?? Math.max(this.partSizeBytes, Math.ceil(size / 100)),
        Math.ceil(size / MAX_PARTS),
      ),
    );
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }),
    );
    if (UploadId === undefined) throw new Error(`CreateMultipartUpload of ${to} returned no upload id`);
    try {
      const parts: CompletedPart[] = [];
      let next = 0;
      const count = Math.ceil(size / partSize);
      const worker = async () => {
        while (next < count) {
          const index = next++;
          const start = index * partSize;
          const end = Math.min(size, start + partSize) - 1;
          const result = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: to,
              UploadId,
              PartNumber: index + 1,
              CopySource,
              CopySourceRange: `bytes=${start}-${end}`,
            }),
          );
          const ETag = result.CopyPartResult?.ETag;
          if (ETag === undefined)
            throw new Error(`UploadPartCopy of ${to} part ${index + 1} returned no ETag`);
          parts.push({ PartNumber: index + 1, ETag });
        }
      };
      await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, count) }, worker));
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: to,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId }))
        .catch(() => undefined);
      throw error;
    }
  }

  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    const key = this.keyOf(sha256);
    try {
      const object = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      // In Node the SDK's body is the response itself (an http.IncomingMessage).
      if (!(object.Body instanceof Readable)) throw new Error(`GetObject of ${key} returned no stream`);
      const wanted = range ? range.end - range.start + 1 : null;
      // s3rver answers `bytes=0-0` with the whole object; S3 itself only ever sends fewer bytes
      // (a range past the end), never more.
      if (wanted !== null && object.ContentLength !== undefined && object.ContentLength > wanted)
        return firstBytes(object.Body, wanted);
      return object.Body;
    } catch (error) {
      if (isMissing(error)) throw new BlobNotFoundError(sha256);
      throw error;
    }
  }

  async stat(sha256: string): Promise<BlobInfo | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    const info = await this.head(this.keyOf(sha256));
    return info === null ? null : { sha256, ...info };
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== null;
  }

  async delete(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    // DeleteObject answers the same whether or not the key existed.
    if ((await this.stat(sha256)) === null) return false;
    await this.deleteKey(this.keyOf(sha256));
    await this.clearDamage(sha256);
    return true;
  }

  async *list(): AsyncIterable<BlobInfo> {
    const blobs = `${this.prefix}sha256/`;
    for await (const object of this.listKeys(blobs)) {
      const [fanout, sha256, ...rest] = object.key.slice(blobs.length).split("/");
      const wellFormed =
        rest.length === 0 && sha256 !== undefined && SHA256_HEX.test(sha256) && sha256.slice(0, 2) === fanout;
      if (!wellFormed) continue;
      yield { sha256, size: object.size, modifiedAt: object.modifiedAt };
    }
  }

  async damage(sha256: string): Promise<BlobDamage | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    const found = await this.getText(this.damageKeyOf(sha256));
    if (found === null) return null;
    const parsed = damageSchema.safeParse(parseJson(found.text));
    if (parsed.success) return parsed.data;
    // Written by hand or by a future version: the object's presence is what counts.
    return { actual: null, size: -1, detectedAt: found.modifiedAt, detectedBy: "unknown" };
  }

  /**
   * LastModified has a resolution of one second: a blob replaced within the second its check read
   * it looks unchanged, and would be marked (the next check or upload clears it again).
   */
  async recordDamage(sha256: string, damage: BlobDamage, seen: BlobInfo): Promise<boolean> {
    const key = this.damageKeyOf(sha256);
    if (!stillTheBlob(await this.stat(sha256), seen)) return false;
    // A PUT is atomic: no reader ever sees half a record.
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: JSON.stringify(damage),
        ContentType: "application/json",
      }),
    );
    return true;
  }

  async clearDamage(sha256: string): Promise<boolean> {
    if (!SHA256_HEX.test(sha256)) return false;
    const key = this.damageKeyOf(sha256);
    if ((await this.head(key)) === null) return false;
    await this.deleteKey(key);
    return true;
  }
}
