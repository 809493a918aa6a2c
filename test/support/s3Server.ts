// An S3-compatible server for tests: s3rver in this process on 127.0.0.1 (a free port), backed by a
// fresh folder, with one bucket. Store tests use `endpoint`/`bucket`/`credentials` directly; tests
// that spawn a Registro server process pass `env` to it (BLOB_STORE=s3 and the S3_* settings).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import S3rver from "s3rver";

export interface S3TestServer {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly bucket: string;
  /** The key pair s3rver knows. It checks only the access key id of V4 requests, not their signatures. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Settings that point a Registro process at this server's bucket (path-style addressing). */
  readonly env: Readonly<Record<string, string>>;
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

export async function startS3Server(options: { bucket?: string } = {}): Promise<S3TestServer> {
  const bucket = options.bucket ?? "registro-test";
  const directory = await mkdtemp(path.join(tmpdir(), "registro-s3rver-"));
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  let address;
  try {
    address = await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  let closed: Promise<void> | null = null;
  return {
    endpoint,
    bucket,
    credentials,
    env: {
      BLOB_STORE: "s3",
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_FORCE_PATH_STYLE: "true",
      S3_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    close() {
      closed ??= server.close().finally(() => rm(directory, { recursive: true, force: true }));
      return closed;
    },
  };
}
