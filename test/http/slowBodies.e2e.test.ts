// Request bodies have a deadline (a minimum average rate and an idle timeout) and uploads a
// concurrency cap: a trickling artifact PUT, GraphQL multipart upload or GraphQL JSON body gets 408
// and its temp file is removed (in MLflow's error body on MLflow's paths); an upload over the per-client or total cap gets 503 with
// Retry-After before its body is read. Bodies at a modest but steady pace are unaffected.
// Nothing here depends on the database provider, so it runs on SQLite only, with limits scaled down
// to fractions of a second.
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const IDLE_MS = 400;
const MIN_RATE = 1000;
const WINDOW_MS = 1000;
const RETRY_AFTER = 7;

interface RawResponse {
  /** 0 when the connection closed without an answer. */
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly json: any;
}

function parseResponse(raw: Buffer): RawResponse {
  const text = raw.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return { status: 0, headers: {}, json: null };
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = raw.subarray(Buffer.byteLength(text.slice(0, end + 4), "latin1")).toString();
  return { status: Number(statusLine.split(" ")[1]), headers, json: body ? JSON.parse(body) : null };
}

/** A raw HTTP/1.1 connection (optionally from another loopback address, i.e. another client). */
function connect(port: number, head: string, localAddress?: string) {
  const socket = net.connect({ host: "127.0.0.1", port, ...(localAddress ? { localAddress } : {}) });
  socket.on("error", () => undefined);
  socket.write(head);
  let received = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  let timer: NodeJS.Timeout | null = null;
  return {
    socket,
    /** Writes `bytes` bytes every `everyMs` until the connection closes. */
    trickle(bytes: number, everyMs: number) {
      timer = setInterval(() => {
        if (!socket.destroyed) socket.write(randomBytes(bytes));
      }, everyMs);
      void closed.then(() => clearInterval(timer!));
    },
    stop() {
      if (timer) clearInterval(timer);
      socket.destroy();
    },
    /** What the server answered, once it has closed the connection. */
    async response(timeoutMs = 10_000): Promise<RawResponse> {
      let giveUp: NodeJS.Timeout | undefined;
      await Promise.race([
        closed,
        new Promise((_, reject) => {
          giveUp = setTimeout(() => reject(new Error("the server kept the connection open")), timeoutMs);
        }),
      ]).finally(() => clearTimeout(giveUp));
      return parseResponse(received);
    },
    /** The server's answer as soon as one has arrived (the connection may stay open). */
    async answer(timeoutMs = 10_000): Promise<RawResponse> {
      const deadline = Date.now() + timeoutMs;
      while (!received.includes("\r\n\r\n") || parseResponse(received).json === null) {
        if (Date.now() > deadline) throw new Error("no answer");
        await new Promise((r) => setTimeout(r, 10));
      }
      return parseResponse(received);
    },
  };
}

const putHead = (target: string, length: number) =>
  `PUT ${target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;

async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const UPLOAD = `mutation($input: UploadModelVersionArtifactInput!) {
  uploadModelVersionArtifact(input: $input) { __typename } }`;

describe("request body deadline and upload cap", () => {
  let server: TestServer;
  let port: number;
  let models = 0;

  beforeAll(async () => {
    server = await startTestServer("sqlite", {
      requestBodies: { idleTimeoutMs: IDLE_MS, minBytesPerSecond: MIN_RATE, rateWindowMs: WINDOW_MS },
      uploads: { maxPerClient: 2, maxTotal: 3, retryAfterSeconds: RETRY_AFTER },
    });
    port = Number(new URL(server.url).port);
  });
  afterAll(() => server.close());

  /** Temp files of uploads in progress (`tmp/<process folder>/<uuid>.part`). */
  const tempFiles = () =>
    readdirSync(path.join(server.dataDir, "blobs", "tmp"), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith(".part"))
      .map((entry) => entry.name);

  async function pendingModel(): Promise<string> {
    const name = `slow-${++models}`;
    await server.gql(`mutation($n: String!) { createRegisteredModel(input: { name: $n }) { __typename } }`, {
      n: name,
    });
    const created = await server.gql(
      `mutation($n: String!) { createModelVersion(input: { name: $n, source: "s3://b/x", pendingArtifacts: true }) { __typename } }`,
      { n: name },
    );
    expect(created.data.createModelVersion.__typename).toBe("ModelVersionPayload");
    return name;
  }

  async function artifactsOf(name: string) {
    const result = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 1) { artifacts { path } } }`,
      { n: name },
    );
    return result.data.modelVersion.artifacts;
  }

  function multipartHead(name: string, file: string, length: number) {
    const boundary = "registro-slow-boundary";
    const operations = JSON.stringify({
      query: UPLOAD,
      variables: { input: { name, version: 1, path: file, file: null } },
    });
    const parts =
      `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.input.file"]}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="${file}"\r\n\r\n`;
    return (
      `POST /graphql HTTP/1.1\r\nHost: localhost\r\nx-graphql-yoga-csrf: 1\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${length}\r\n\r\n${parts}`
    );
  }

  function expectTimeout(response: RawResponse, reason: "idle" | "rate") {
    expect(response.status).toBe(408);
    expect(response.headers.connection).toBe("close");
    expect(response.json.error).toMatchObject({
      code: "REQUEST_TIMEOUT",
      reason,
      idleTimeoutMs: IDLE_MS,
      minBytesPerSecond: MIN_RATE,
      rateWindowMs: WINDOW_MS,
    });
  }

  it("answers 408 to an artifact PUT trickling below the minimum rate, and removes its temp file", async () => {
    const name = await pendingModel();
    const expiredBefore = server.registro.bodyDeadline.expired;
    const client = connect(port, putHead(`/artifacts/${name}/1/slow.bin`, 100_000));
    client.socket.write(randomBytes(100));
    client.trickle(10, 100); // 100 bytes/s: never idle, far below 1000 bytes/s
    await eventually(() => tempFiles().length === 1, "the upload's temp file");
    expectTimeout(await client.response(), "rate");
    await eventually(() => tempFiles().length === 0, "the temp file to be removed");
    expect(await artifactsOf(name)).toEqual([]);
    expect(server.registro.bodyDeadline.expired).toBe(expiredBefore + 1);
    await eventually(() => server.registro.uploads.active === 0, "the upload slot to be freed");
  });

  it("answers 408 to an artifact PUT whose body stops arriving", async () => {
    const name = await pendingModel();
    const client = connect(port, putHead(`/artifacts/${name}/1/stalled.bin`, 100_000));
    client.socket.write(randomBytes(5_000));
    await eventually(() => tempFiles().length === 1, "the upload's temp file");
    expectTimeout(await client.response(), "idle");
    await eventually(() => tempFiles().length === 0, "the temp file to be removed");
    expect(await artifactsOf(name)).toEqual([]);
  });

  it("answers 408 to a GraphQL multipart upload trickling its file, and removes its temp file", async () => {
    const name = await pendingModel();
    const client = connect(port, multipartHead(name, "slow.bin", 100_000));
    client.trickle(10, 100);
    await eventually(() => tempFiles().length === 1, "the upload's temp file");
    expectTimeout(await client.response(), "rate");
    await eventually(() => tempFiles().length === 0, "the temp file to be removed");
    expect(await artifactsOf(name)).toEqual([]);
  });

  it("answers 408 to a GraphQL JSON body trickling in, and never runs the operation", async () => {
    const body = JSON.stringify({
      query: `mutation { createRegisteredModel(input: { name: "never-created" }) { __typename } }`,
    });
    const client = connect(
      port,
      `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < body.length - 1 && !client.socket.destroyed) client.socket.write(body[sent++]!);
    }, 100);
    try {
      expectTimeout(await client.response(), "rate");
    } finally {
      clearInterval(drip);
    }
    const model = await server.gql(`{ registeredModel(name: "never-created") { name } }`);
    expect(model.data.registeredModel).toBeNull();
  });

  it("answers 408 in MLflow's error body on MLflow's routes and its artifact proxy", async () => {
    const proxy = connect(port, putHead("/api/2.0/mlflow-artifacts/artifacts/slow/model.pkl", 100_000));
    proxy.socket.write(randomBytes(100));
    proxy.trickle(10, 100);
    const rpcBody = JSON.stringify({ name: "never-created-through-mlflow" });
    const rpc = connect(
      port,
      `POST /ajax-api/2.0/mlflow/registered-models/create HTTP/1.1\r\nHost: localhost\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${rpcBody.length}\r\n\r\n${rpcBody.slice(0, 5)}`,
    );
    for (const client of [proxy, rpc]) {
      const response = await client.response();
      expect(response.status).toBe(408);
      expect(response.headers.connection).toBe("close");
      expect(response.json).toEqual({
        error_code: "DEADLINE_EXCEEDED",
        message: expect.stringMatching(/^request body too slow: /),
      });
    }
    await eventually(() => tempFiles().length === 0, "the temp file to be removed");
    const model = await server.gql(`{ registeredModel(name: "never-created-through-mlflow") { name } }`);
    expect(model.data.registeredModel).toBeNull();
  });

  it("accepts a body that is slow but steady, and an ordinary fast upload", async () => {
    const name = await pendingModel();
    // 2,000 bytes/s for about 1.5 rate windows: slow, but above the minimum.
    const length = 3_000;
    const client = connect(port, putHead(`/artifacts/${name}/1/steady.bin`, length));
    let sent = 0;
    const steady = setInterval(() => {
      if (sent < length) client.socket.write(randomBytes(200));
      sent += 200;
    }, 100);
    try {
      const response = await client.answer();
      expect(response.status).toBe(201);
      expect(response.json.artifact).toMatchObject({ path: "steady.bin", size: length });
    } finally {
      clearInterval(steady);
      client.stop();
    }
    const fast = await fetch(`${server.url}/artifacts/${name}/1/fast.bin`, {
      method: "PUT",
      body: new Uint8Array(randomBytes(1024 * 1024)),
    });
    expect(fast.status).toBe(201);
    expect(tempFiles()).toEqual([]);
  });

  it("refuses uploads over the per-client and total caps with 503 and Retry-After, before reading them", async () => {
    const name = await pendingModel();
    // Two uploads from 127.0.0.1 and one from 127.0.0.2, each streaming steadily (20 KB/s).
    const running = [
      connect(port, putHead(`/artifacts/${name}/1/a.bin`, 10_000_000)),
      connect(port, putHead(`/artifacts/${name}/1/b.bin`, 10_000_000)),
      connect(port, putHead(`/artifacts/${name}/1/c.bin`, 10_000_000), "127.0.0.2"),
    ];
    try {
      for (const upload of running) upload.trickle(1_000, 50);
      await eventually(() => server.registro.uploads.active === 3, "three uploads in progress");

      const thirdOfClient = connect(port, putHead(`/artifacts/${name}/1/d.bin`, 1_000));
      const refused = await thirdOfClient.response();
      expect(refused.status).toBe(503);
      expect(refused.headers["retry-after"]).toBe(String(RETRY_AFTER));
      expect(refused.json.error).toMatchObject({ code: "TOO_MANY_UPLOADS", scope: "client", limit: 2 });

      const multipart = connect(port, multipartHead(name, "e.bin", 1_000));
      const refusedMultipart = await multipart.response();
      expect(refusedMultipart.status).toBe(503);
      expect(refusedMultipart.json.error).toMatchObject({ code: "TOO_MANY_UPLOADS", scope: "client" });

      const otherClient = connect(port, putHead(`/artifacts/${name}/1/f.bin`, 1_000), "127.0.0.3");
      const full = await otherClient.response();
      expect(full.status).toBe(503);
      expect(full.headers["retry-after"]).toBe(String(RETRY_AFTER));
      expect(full.json.error).toMatchObject({ code: "TOO_MANY_UPLOADS", scope: "server", limit: 3 });
      expect(server.registro.uploads.active).toBe(3);
    } finally {
      for (const upload of running) upload.stop();
    }
    // Hung-up uploads give their slots back and leave nothing behind.
    await eventually(() => server.registro.uploads.active === 0, "the slots to be freed");
    await eventually(() => tempFiles().length === 0, "the temp files to be removed");
    const after = await fetch(`${server.url}/artifacts/${name}/1/after.bin`, {
      method: "PUT",
      body: "fits again",
    });
    expect(after.status).toBe(201);
  });
});
