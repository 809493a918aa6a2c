// Hostile and careless requests, generated from a seed so any failure replays exactly. Requests are
// sent as raw bytes over TCP: a fetch or http.request client would normalise away the very things
// under test (`..` segments, bad percent-encoding, conflicting length headers, header sizes).
import net from "node:net";
import type { Random } from "../support/random.ts";

export interface HostileRequest {
  /** Which generator made it, for the report. */
  readonly kind: string;
  readonly method: string;
  /** The raw request target, sent as is. */
  readonly target: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: Buffer;
  /** Omit the Content-Length header the sender would otherwise add for a body. */
  readonly noContentLength?: boolean;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body as received (at most `MAX_BODY` bytes; streams are cut after their first bytes). */
  readonly body: Buffer;
}

/** What the registry under attack holds, so requests can aim at real models and artifacts. */
export interface Targets {
  readonly model: string;
  readonly version: number;
  readonly artifactPath: string;
  readonly artifactSize: number;
}

const MAX_BODY = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over TCP

function encodeRequest(request: HostileRequest, host: string): Buffer {
  const lines = [`${request.method} ${request.target} HTTP/1.1`, `Host: ${host}`];
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  if (request.body !== undefined && !request.noContentLength)
    lines.push(`Content-Length: ${request.body.length}`);
  lines.push("Connection: close", "", "");
  const head = Buffer.from(lines.join("\r\n"), "latin1");
  return request.body === undefined ? head : Buffer.concat([head, request.body]);
}

function parseHead(head: string): { status: number; headers: Record<string, string> } {
  const [statusLine = "", ...lines] = head.split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers };
}

export class HangError extends Error {}

/** Decodes a chunked body as far as it arrived (a stream cut early keeps its complete chunks). */
function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(raw.subarray(at, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * Sends one request and reads the answer: the whole body when it has a length, else whatever
 * arrives within `streamMs` (an SSE stream never ends by itself). Rejects with HangError when no
 * status line arrives within `timeoutMs`: a server that does not answer is a failure like a 5xx.
 */
export function sendRaw(
  port: number,
  request: HostileRequest,
  options: { timeoutMs?: number; streamMs?: number } = {},
): Promise<RawResponse> {
  return sendBytes(port, encodeRequest(request, `127.0.0.1:${port}`), {
    ...options,
    kind: request.kind,
    bodyless: request.method === "HEAD",
  });
}

/**
 * Writes `bytes` as they are (a request, or garbage Node's parser refuses) and reads the answer as
 * sendRaw does. `kind` names the request in errors; `bodyless` says a HEAD was sent.
 */
export function sendBytes(
  port: number,
  bytes: Buffer | string,
  options: { kind: string; bodyless?: boolean; timeoutMs?: number; streamMs?: number },
): Promise<RawResponse> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const streamMs = options.streamMs ?? 300;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let received = 0;
    let head: { status: number; headers: Record<string, string>; bodyStart: number } | null = null;
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (head === null) {
        // A server may close without a word only when it could not even parse the request line.
        if (error) return reject(error);
        return reject(new Error(`connection closed without a response (${options.kind})`));
      }
      const body = Buffer.concat(chunks).subarray(head.bodyStart);
      const chunked = /chunked/i.test(head.headers["transfer-encoding"] ?? "");
      resolve({ status: head.status, headers: head.headers, body: chunked ? dechunk(body) : body });
    };
    const timer = setTimeout(
      () => finish(new HangError(`no response within ${timeoutMs} ms (${options.kind})`)),
      timeoutMs,
    );
    socket.on("data", (chunk: Buffer) => {
      if (received < MAX_BODY + 64 * 1024) chunks.push(chunk);
      received += chunk.length;
      if (head === null) {
        const all = Buffer.concat(chunks);
        const end = all.indexOf("\r\n\r\n");
        if (end < 0) return;
        head = { ...parseHead(all.subarray(0, end).toString("latin1")), bodyStart: end + 4 };
        // 1xx interim answers (100 Continue) precede the real one.
        if (head.status >= 100 && head.status < 200) {
          chunks.splice(0, chunks.length, all.subarray(end + 4));
          received = chunks[0]!.length;
          head = null;
          return;
        }
        const length = Number(head.headers["content-length"] ?? Number.NaN);
        if (Number.isFinite(length)) {
          if (all.length - head.bodyStart >= Math.min(length, MAX_BODY)) finish();
        } else if (options.bodyless === true || head.status === 204 || head.status === 304) finish();
        else setTimeout(() => finish(), streamMs);
        return;
      }
      const length = Number(head.headers["content-length"] ?? Number.NaN);
      if (Number.isFinite(length) && received - head.bodyStart >= Math.min(length, MAX_BODY)) finish();
    });
    socket.on("end", () => finish());
    socket.on("close", () => finish());
    // A reset after the server answered (it closes connections whose body it did not read) is normal.
    socket.on("error", (error) => finish(error));
    socket.on("connect", () => {
      socket.write(bytes);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Ingredients

/** Strings that break naive code: control characters, NUL, lone surrogates, prototype keys, huge. */
export function hostileString(r: Random): string {
  const pool = [
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "\ud800",
    "x\udc00y",
    "\ud83d",
    "\u202e\u2066evil",
    "\r\n\r\nHTTP/1.1 200 OK",
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "hasOwnProperty",
    "../../../../etc/passwd",
    "..\\..\\windows",
    "%00",
    "%2e%2e",
    "'; DROP TABLE events; --",
    "${jndi:ldap://127.0.0.1/x}",
    "<script>alert(1)</script>",
    "\u0007\u001b[31m",
    "\u00a0\u2028\u2029",
    "null",
    "0",
    "-1",
    "9007199254740993",
    "NaN",
    "😀".repeat(50),
    "é".normalize("NFD"),
  ];
  if (r.chance(0.05)) return "x".repeat(r.pick([256, 257, 5001, 65_537, 1 << 20]));
  if (r.chance(0.1)) return randomText(r, r.int(1, 64));
  return r.pick(pool);
}

/** Arbitrary UTF-16 text, lone surrogates and controls included. */
function randomText(r: Random, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++)
    text += String.fromCharCode(r.chance(0.7) ? r.int(0, 127) : r.int(0, 0xffff));
  return text;
}

function randomBytes(r: Random, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = r.int(0, 255);
  return bytes;
}

/** A JSON value of any shape, hostile keys included; `depth` bounds its nesting. */
export function hostileJson(r: Random, depth: number): unknown {
  if (depth <= 0 || r.chance(0.4)) {
    return r.pick<() => unknown>([
      () => hostileString(r),
      () => r.int(-1e6, 1e6),
      () => r.pick([Number.MAX_SAFE_INTEGER, -0, 1e308, 2 ** 53 + 1, 0.1]),
      () => r.chance(0.5),
      () => null,
    ])();
  }
  if (r.chance(0.3)) return Array.from({ length: r.int(0, 4) }, () => hostileJson(r, depth - 1));
  const object: Record<string, unknown> = {};
  for (let i = r.int(0, 4); i > 0; i--)
    Object.defineProperty(object, hostileString(r), {
      value: hostileJson(r, depth - 1),
      enumerable: true,
      configurable: true,
      writable: true,
    });
  return object;
}

/** `[[[[…]]]]` or `{"a":{"a":…}}` nested `depth` levels, as JSON text (never built as objects). */
function deepJsonText(depth: number, kind: "array" | "object"): string {
  return kind === "array"
    ? "[".repeat(depth) + "]".repeat(depth)
    : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const JSON_HEADERS = [["Content-Type", "application/json"]] as const;

export const MUTATIONS = [
  (r: Random, t: Targets) => ({
    query: `mutation($input: CreateRegisteredModelInput!) { createRegisteredModel(input: $input) { __typename ... on Error { code } } }`,
    variables: {
      input: {
        name: r.chance(0.5) ? hostileString(r) : `fuzz-${r.int(0, 1e9)}`,
        description: hostileString(r),
        tags: [{ key: hostileString(r), value: hostileString(r) }],
      },
    },
    t,
  }),
  (r: Random, t: Targets) => ({
    query: `mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { __typename ... on Error { code } } }`,
    variables: {
      input: {
        name: r.chance(0.7) ? t.model : hostileString(r),
        source: hostileString(r),
        runId: hostileString(r),
        description: hostileString(r),
        params: hostileJson(r, 4),
        metrics: [{ key: hostileString(r), value: r.pick([0, 1e308, -1]) }],
        tags: [{ key: hostileString(r), value: hostileString(r) }],
      },
    },
  }),
  (r: Random, t: Targets) => ({
    query: `mutation($input: SetRegisteredModelTagInput!) { setRegisteredModelTag(input: $input) { __typename ... on Error { code } } }`,
    variables: { input: { name: t.model, key: hostileString(r), value: hostileString(r) } },
  }),
  (r: Random, t: Targets) => ({
    query: `mutation($input: SetRegisteredModelAliasInput!) { setRegisteredModelAlias(input: $input) { __typename ... on Error { code } } }`,
    variables: {
      input: {
        name: t.model,
        alias: hostileString(r),
        version: r.pick([t.version, 0, -1, 2 ** 31, 1e15]),
        overrideReason: hostileString(r),
      },
    },
  }),
  (r: Random, t: Targets) => ({
    query: `mutation($input: UpdateRegisteredModelInput!) { updateRegisteredModel(input: $input) { __typename ... on Error { code } } }`,
    variables: { input: { name: t.model, description: hostileString(r) } },
  }),
  (r: Random, t: Targets) => ({
    query: `mutation($input: TransitionModelVersionStageInput!) { transitionModelVersionStage(input: $input) { __typename ... on Error { code } } }`,
    variables: {
      input: {
        name: t.model,
        version: t.version,
        stage: r.pick(["STAGING", "PRODUCTION", "ARCHIVED", "NONE", "production", hostileString(r)]),
        comment: hostileString(r),
        overrideReason: hostileString(r),
      },
    },
  }),
  (r: Random, t: Targets) => ({
    query: `mutation($input: AddModelVersionCommentInput!) { addModelVersionComment(input: $input) { __typename ... on Error { code } } }`,
    variables: {
      input: { name: t.model, version: r.pick([t.version, 0, -1, 2 ** 31]), body: hostileString(r) },
    },
  }),
  (r: Random) => ({
    query: `mutation($input: EditModelVersionCommentInput!) { editModelVersionComment(input: $input) { __typename ... on Error { code } } }`,
    variables: { input: { id: hostileString(r), body: hostileString(r) } },
  }),
  (r: Random) => ({
    query: `mutation($input: DeleteModelVersionCommentInput!) { deleteModelVersionComment(input: $input) { __typename ... on Error { code } } }`,
    variables: { input: { id: hostileString(r) } },
  }),
  (r: Random, t: Targets) => ({
    query: `mutation($input: RecordModelVersionDeploymentInput!) { recordModelVersionDeployment(input: $input) { __typename ... on Error { code } } }`,
    variables: {
      input: {
        name: t.model,
        version: r.pick([t.version, 0, -1, 2 ** 31]),
        environment: r.chance(0.3) ? "prod-eu" : hostileString(r),
        endpoint: r.chance(0.3) ? "https://serve.example/m" : hostileString(r),
        description: hostileString(r),
      },
    },
  }),
  (r: Random, t: Targets) => ({
    query: `mutation($input: RetireModelVersionDeploymentInput!) { retireModelVersionDeployment(input: $input) { __typename ... on Error { code } } }`,
    variables: {
      input: {
        name: t.model,
        version: r.pick([t.version, 0, -1, 2 ** 31]),
        environment: r.chance(0.3) ? "prod-eu" : hostileString(r),
        reason: hostileString(r),
      },
    },
  }),
];

export const QUERIES = [
  (r: Random, t: Targets) => ({
    query: `query($name: String!, $e: String, $after: String) { registeredModel(name: $name) { deployments(environment: $e, includeRetired: true, after: $after) { totalCount nodes { environment endpoint deployedBy { id } } } } }`,
    variables: { name: t.model, e: hostileString(r), after: r.chance(0.5) ? hostileString(r) : null },
  }),
  (r: Random, t: Targets) => ({
    query: `query($name: String!) { registeredModel(name: $name) { name versions(first: 5) { nodes { version params tags { key value } } } } }`,
    variables: { name: r.chance(0.5) ? t.model : hostileString(r) },
  }),
  (r: Random, t: Targets) => ({
    query: `query($name: String!, $after: String, $first: Int) { history(name: $name, after: $after, first: $first) { edges { cursor } } }`,
    variables: { name: t.model, after: hostileString(r), first: r.pick([-1, 0, 1, 1e9, 2 ** 31]) },
  }),
  (r: Random) => ({
    query: `query($id: ID!, $after: String) { node(id: $id) { id } registeredModels(first: 2, after: $after) { nodes { name } } }`,
    variables: {
      id: r.pick([hostileString(r), Buffer.from(`RegisteredModel:${hostileString(r)}`).toString("base64")]),
      after: r.pick([hostileString(r), Buffer.from(hostileString(r)).toString("base64")]),
    },
  }),
  (r: Random) => ({
    query: `query($q: String, $k: String!) { registeredModels(filter: { nameContains: $q, tag: { key: $k } }) { nodes { name } } }`,
    variables: { q: hostileString(r), k: hostileString(r) },
  }),
];

function hostileDocument(r: Random): string {
  return r.pick<() => string>([
    () => "{ " + "a { ".repeat(r.int(20, 3000)) + "b" + " }".repeat(r.int(0, 3000)),
    () => "{ " + Array.from({ length: r.int(31, 3000) }, (_, i) => `a${i}: __typename`).join(" ") + " }",
    () => "{ __typename " + "__typename ".repeat(r.int(5000, 20_000)) + "}",
    () => randomText(r, r.int(1, 2000)),
    () =>
      "query Q($a: " + "[".repeat(r.int(50, 5000)) + "Int" + "]".repeat(r.int(0, 5000)) + ") { __typename }",
    () => "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }",
    () => `{ registeredModel(name: "${hostileString(r).replace(/["\\]/g, "")}") { name } }`,
    () => "fragment F on Query { ...F } { ...F }",
    () => "subscription { registryEvents { __typename } }",
    () =>
      `subscription { registryEvents(after: "${randomText(r, 20).replace(/["\\\n\r]/g, "")}") { __typename } }`,
    () => "{ __typename @include(if: true) @skip(if: false) @deprecated }",
    () => '"""' + "\\".repeat(r.int(1, 5000)),
    () => "{ a(x: " + "{a: ".repeat(r.int(100, 4000)) + "1" + "}".repeat(r.int(0, 4000)) + ") }",
  ])();
}

// ---------------------------------------------------------------------------------------------
// Generators, one per class of hostile input

type Generator = (r: Random, t: Targets) => HostileRequest;

const graphqlBody: Generator = (r, t) => {
  const body = r.pick<() => Buffer>([
    () => Buffer.from(JSON.stringify(r.pick(MUTATIONS)(r, t)).slice(0, r.int(0, 200))),
    () => randomBytes(r, r.int(0, 512)),
    () =>
      Buffer.from(
        r.pick([
          "",
          "null",
          "[]",
          "1",
          '"q"',
          "{}",
          '{"variables":{}}',
          '{"query":1}',
          '{"query":{}}',
          '{"query":null}',
          "\ufeff{}",
          '{"query":"{ __typename }"',
          '{"query":"{ __typename }","variables":"x"}',
          '{"query":"{ __typename }","extensions":[]}',
          '{"query":"{ __typename }","operationName":7}',
        ]),
      ),
    () => json({ query: hostileDocument(r) }),
    () => json(r.pick(MUTATIONS)(r, t)),
    () => json(r.pick(QUERIES)(r, t)),
    () => json({ query: "{ __typename }", variables: hostileJson(r, 3), operationName: hostileString(r) }),
    () => json({ query: "mutation { __typename }", variables: { x: "y".repeat(1 << 20) } }),
    () =>
      Buffer.from(
        `{"query":"mutation($input: CreateModelVersionInput!) { createModelVersion(input: $input) { __typename } }","variables":{"input":{"name":${JSON.stringify(t.model)},"source":"s","params":{"deep":${deepJsonText(r.int(100, 20_000), r.chance(0.5) ? "array" : "object")}}}}}`,
      ),
    () =>
      Buffer.from(`{"query":"{ __typename }","variables":${deepJsonText(r.int(1000, 100_000), "array")}}`),
    () => json([{ query: "{ __typename }" }, { query: "{ __typename }" }]),
  ])();
  return {
    kind: "graphql-json",
    method: "POST",
    target: "/graphql",
    headers: [
      ...JSON_HEADERS,
      ...(r.chance(0.3)
        ? ([
            [
              "Accept",
              r.pick([
                "application/graphql-response+json",
                "text/event-stream",
                "*/*",
                "application/xml",
                "multipart/mixed",
              ]),
            ],
          ] as const)
        : []),
    ],
    body,
  };
};

const wrongContentType: Generator = (r, t) => ({
  kind: "wrong-content-type",
  method: "POST",
  target: r.pick(["/graphql", "/graphql?query=%7B__typename%7D"]),
  headers: r.chance(0.1)
    ? []
    : [
        [
          "Content-Type",
          r.pick([
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/xml",
            "application/json; charset=utf-16",
            "application/json; charset=bogus",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=" + "x".repeat(100),
            "application/graphql",
            "*/*",
            "application/octet-stream",
            "\u0000",
          ]),
        ],
      ],
  body: r.chance(0.5) ? json(r.pick(QUERIES)(r, t)) : Buffer.from("query=%7B__typename%7D"),
});

const graphqlGet: Generator = (r, t) => {
  const query = r.chance(0.5)
    ? hostileDocument(r)
    : r.pick(["{ __typename }", "mutation { __typename }", "subscription { registryEvents { __typename } }"]);
  const params = new URLSearchParams({ query: query.slice(0, 6000) });
  if (r.chance(0.5))
    params.set(
      "variables",
      r.chance(0.5) ? JSON.stringify(r.pick(QUERIES)(r, t).variables) : randomText(r, 30),
    );
  if (r.chance(0.2)) params.set("operationName", hostileString(r));
  return {
    kind: "graphql-get",
    method: "GET",
    target: `/graphql?${params.toString()}`,
    headers: r.chance(0.4)
      ? [["Accept", r.pick(["text/event-stream", "application/json", "text/html"])]]
      : [],
  };
};

/** Subscriptions over SSE with broken cursors and arguments. */
const sseSubscription: Generator = (r) => {
  const after = r.pick([
    "",
    "x",
    "null",
    "MTIz",
    "-1",
    "9".repeat(400),
    randomText(r, 40),
    Buffer.from("position:-5").toString("base64url"),
    Buffer.from("99999999999").toString("base64url"),
  ]);
  const query = `subscription($after: String) { ${r.pick(["registryEvents", "modelVersionStageChanged", "registeredModelAliasChanged"])}(after: $after) { __typename } }`;
  const params = new URLSearchParams({ query, variables: JSON.stringify({ after }) });
  return {
    kind: "sse-cursor",
    method: "GET",
    target: `/graphql?${params.toString()}`,
    headers: [["Accept", "text/event-stream"]],
  };
};

function multipartBody(boundary: string, parts: { name: string; filename?: string; data: Buffer }[]): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? "" : `; filename="${part.filename}"`}`;
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`),
      part.data,
      Buffer.from("\r\n"),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

const multipartUpload: Generator = (r, t) => {
  const boundary = "fuzz" + r.int(0, 1e9);
  const operations = {
    query: `mutation($input: UploadModelVersionArtifactInput!) { uploadModelVersionArtifact(input: $input) { __typename ... on Error { code } } }`,
    variables: {
      input: {
        name: t.model,
        version: r.pick([t.version, 1, 999]),
        path: r.chance(0.5) ? `fuzz/${r.int(0, 1e9)}.bin` : hostileString(r),
        file: null,
        sha256: r.pick([undefined, "0".repeat(64), "zz", hostileString(r)]),
      },
    },
  };
  const path = r.pick([
    "variables.input.file",
    "__proto__.polluted",
    "variables.__proto__.polluted",
    "constructor.prototype.polluted",
    "variables.input.constructor.prototype.polluted",
    "variables.input.file.__proto__",
    "prototype",
    "variables.input.toString",
    "variables.input.file.x.y",
    "0",
    "",
    ".",
    "variables..input",
    hostileString(r),
  ]);
  const map = r.pick<unknown>([
    { 0: [path] },
    { 0: ["variables.input.file", path] },
    { __proto__: ["variables.input.file"] },
    { 0: path },
    { 0: [] },
    { 0: [1, 2] },
    [],
    "x",
    null,
    { 0: Array.from({ length: 5000 }, () => "variables.input.file") },
  ]);
  const parts = r.pick([
    () => [
      { name: "operations", data: json(operations) },
      { name: "map", data: Buffer.from(JSON.stringify(map) ?? "null") },
      { name: "0", filename: hostileString(r).replace(/["\r\n]/g, ""), data: randomBytes(r, r.int(0, 2048)) },
    ],
    () => [
      { name: "0", filename: "early.bin", data: randomBytes(r, 100) },
      { name: "operations", data: json(operations) },
      { name: "map", data: Buffer.from('{"0":["variables.input.file"]}') },
    ],
    () => [{ name: "operations", data: randomBytes(r, 64) }],
    () => [
      { name: "operations", data: json(operations) },
      { name: "map", data: Buffer.from('{"0":["variables.input.file"]}') },
    ],
  ])();
  let body = multipartBody(boundary, parts);
  if (r.chance(0.15)) body = body.subarray(0, r.int(0, body.length));
  return {
    kind: "multipart",
    method: "POST",
    target: "/graphql",
    headers: [
      [
        "Content-Type",
        r.chance(0.9) ? `multipart/form-data; boundary=${boundary}` : `multipart/form-data; boundary=other`,
      ],
      // What a same-origin browser or a script sends; without it the request is refused earlier (CSRF).
      ...(r.chance(0.8)
        ? ([
            ["X-Registro-CSRF", "1"],
            ["Apollo-Require-Preflight", "true"],
            ["X-GraphQL-Yoga-CSRF", "1"],
          ] as const)
        : []),
    ],
    body,
  };
};

function artifactTarget(r: Random, t: Targets): string {
  const model = r.pick([
    encodeURIComponent(t.model),
    t.model,
    "%",
    "%zz",
    "%00",
    "%c0%af",
    "..",
    "%2e%2e",
    hostileSegment(r),
    "",
  ]);
  const selector = r.pick([
    String(t.version),
    "0",
    "-1",
    "1e3",
    "99999999999999999999",
    "Production",
    "production",
    "STAGING",
    "None",
    `@champion`,
    "@",
    "@%00",
    "@__proto__",
    "latest",
    hostileSegment(r),
  ]);
  const path = r.pick([
    t.artifactPath,
    "../../etc/passwd",
    "%2e%2e/%2e%2e/etc/passwd",
    "a/../../b",
    "a//b",
    "./a",
    "a\\..\\b",
    "%2F",
    "con",
    ".",
    "",
    "a%00b",
    "%ff%fe",
    "x".repeat(r.pick([10, 5000, 20_000])),
    hostileSegment(r),
  ]);
  return selector.startsWith("@")
    ? `/artifacts/${model}${selector}/${path}`
    : `/artifacts/${model}/${selector}/${path}`;
}

/** A path segment of hostile text, percent-encoded byte by byte (lone surrogates become U+FFFD). */
function hostileSegment(r: Random): string {
  const keepSlash = r.chance(0.5);
  let out = "";
  for (const byte of Buffer.from(hostileString(r).slice(0, 300), "utf8")) {
    const char = String.fromCharCode(byte);
    out +=
      /[A-Za-z0-9._~-]/.test(char) || (keepSlash && char === "/")
        ? char
        : `%${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

function hostileRange(r: Random, size: number): string {
  return r.pick([
    `bytes=0-${size - 1}`,
    `bytes=0-0`,
    `bytes=-1`,
    `bytes=${size}-`,
    `bytes=${size - 1}-${size + 5}`,
    "bytes=5-1",
    "bytes=-0",
    "bytes=0-0,1-1,2-2",
    `bytes=${"0-0,".repeat(2000)}0-0`,
    "bytes=0-" + " ".repeat(r.int(1000, 20_000)) + "!",
    "bytes=" + "1".repeat(400) + "-",
    "bytes=9007199254740993-",
    "items=0-1",
    "bytes=\u00000-1",
    "bytes = 0 - 1",
    "bytes=a-b",
    "",
    randomText(r, 30).replace(/[\r\n]/g, ""),
  ]);
}

const artifactGet: Generator = (r, t) => {
  const headers: [string, string][] = [];
  if (r.chance(0.6)) headers.push(["Range", hostileRange(r, t.artifactSize)]);
  if (r.chance(0.3))
    headers.push(["If-None-Match", r.pick(['"x"', "*", "W/" + '"a",'.repeat(2000), ",".repeat(5000)])]);
  if (r.chance(0.2)) headers.push(["If-Range", r.pick(['"x"', "Wed, 21 Oct 2015 07:28:00 GMT", "garbage"])]);
  return {
    kind: "artifact-get",
    method: r.pick(["GET", "HEAD"]),
    target: r.chance(0.5)
      ? `/artifacts/${encodeURIComponent(t.model)}/${t.version}/${t.artifactPath}`
      : artifactTarget(r, t),
    headers: headers.map((h) => [h[0], h[1].replace(/[\r\n]|\0/g, "")] as const),
  };
};

const artifactPut: Generator = (r, t) => {
  const headers: [string, string][] = [];
  if (r.chance(0.5))
    headers.push([
      "Content-Digest",
      r.pick([
        "sha-256=:AAAA:",
        "sha-256=:" + "A".repeat(43) + "=:",
        "sha-512=:abc:",
        "sha-256=" + " ".repeat(10_000) + "x",
        ":".repeat(5000),
        "sha-256=:" + "A".repeat(20_000) + ":",
        randomText(r, 30),
      ]),
    ]);
  if (r.chance(0.5))
    headers.push([
      "X-Checksum-Sha256",
      r.pick(["0".repeat(64), "g".repeat(64), "", " ".repeat(5000) + "0", randomText(r, 20)]),
    ]);
  if (r.chance(0.3)) headers.push(["X-Artifact-Role", hostileString(r).slice(0, 200)]);
  if (r.chance(0.3))
    headers.push([
      "Content-Type",
      r.pick(["application/x-evil\u0000", "text/html", "a/b/c", "x".repeat(300), ";;;"]),
    ]);
  const clean = headers.map((h) => [h[0], h[1].replace(/[\r\n]|\0/g, "")] as const);
  return {
    kind: "artifact-put",
    method: "PUT",
    target: r.chance(0.5)
      ? `/artifacts/${encodeURIComponent(t.model)}/${t.version}/fuzz-${r.int(0, 1e9)}.bin`
      : artifactTarget(r, t),
    headers: clean,
    body: randomBytes(r, r.int(0, 4096)),
  };
};

const oversizedHeaders: Generator = (r) => {
  const headers: [string, string][] = r.chance(0.5)
    ? [["X-Big", "a".repeat(r.int(16 * 1024, 200 * 1024))]]
    : Array.from({ length: r.int(200, 3000) }, (_, i) => [`X-H${i}`, "v"] as [string, string]);
  return {
    kind: "oversized-headers",
    method: r.pick(["GET", "POST"]),
    target: r.pick(["/graphql", "/healthz", "/artifacts/a/1/b"]),
    headers,
    body: Buffer.from("{}"),
  };
};

const oddRequests: Generator = (r) => {
  const method = r.pick([
    "PATCH",
    "DELETE",
    "TRACE",
    "OPTIONS",
    "CONNECT",
    "PROPFIND",
    "get",
    "G\u00c9T",
    "POST",
    "GET",
  ]);
  const target = r.pick([
    "/",
    "//graphql",
    "/graphql/",
    "/graphql/../healthz",
    "/%",
    "/%zz",
    "/%00",
    "/" + "a".repeat(r.int(1000, 30_000)),
    "*",
    "http://evil.example/graphql",
    "/graphql?" + "a=1&".repeat(3000),
    "/healthz?x=%ff",
    "/artifacts",
    "/artifacts/",
    "/favicon.ico",
    "/graphql#frag",
  ]);
  const headers: [string, string][] = [];
  if (r.chance(0.3)) headers.push(["Origin", r.pick(["https://evil.example", "null", "http://127.0.0.1"])]);
  if (r.chance(0.2))
    headers.push(
      ["Access-Control-Request-Method", "POST"],
      ["Access-Control-Request-Headers", "content-type"],
    );
  if (r.chance(0.2))
    headers.push(["Transfer-Encoding", r.pick(["chunked", "gzip, chunked", "identity", "chunked, chunked"])]);
  const body = r.chance(0.5)
    ? Buffer.from(r.pick(["5\r\nhello\r\n0\r\n\r\n", "zz\r\n", "0\r\n\r\n", "{}"]))
    : undefined;
  return {
    kind: "odd-request",
    method: /^[A-Z]+$/.test(method) ? method : "GET",
    target,
    headers,
    ...(body === undefined
      ? {}
      : { body, noContentLength: headers.some(([h]) => h === "Transfer-Encoding") }),
  };
};

const crossSite: Generator = (r, t) => ({
  kind: "cross-site",
  method: "POST",
  target: "/graphql",
  headers: [
    ["Origin", "https://evil.example"],
    [
      "Content-Type",
      r.pick(["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=b"]),
    ],
  ],
  body: r.chance(0.5)
    ? json(r.pick(MUTATIONS)(r, t))
    : Buffer.from(
        `--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify(r.pick(MUTATIONS)(r, t))}\r\n--b--\r\n`,
      ),
});

export const GENERATORS: Readonly<Record<string, Generator>> = {
  graphqlBody,
  wrongContentType,
  graphqlGet,
  sseSubscription,
  multipartUpload,
  artifactGet,
  artifactPut,
  oversizedHeaders,
  oddRequests,
  crossSite,
};

export function hostileRequest(r: Random, t: Targets): HostileRequest {
  // GraphQL bodies are the widest surface, so they get the largest share.
  const kind = r.chance(0.3) ? "graphqlBody" : r.pick(Object.keys(GENERATORS));
  return GENERATORS[kind]!(r, t);
}

/**
 * The answer's shape, for the "every error carries a code" rule: GraphQL errors need
 * `extensions.code`, plain HTTP errors `error.code`. Returns a description of what is missing.
 */
export function missingErrorCode(request: HostileRequest, response: RawResponse): string | null {
  const type = response.headers["content-type"] ?? "";
  if (request.method === "HEAD") return null;
  if (response.status >= 400 && response.body.length === 0)
    return `a ${response.status} answer with an empty body`;
  let documents: unknown[];
  try {
    if (type.includes("json")) documents = [JSON.parse(response.body.toString("utf8"))];
    else if (type.includes("text/event-stream"))
      documents = response.body
        .toString("utf8")
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => JSON.parse(line.slice(5)) as unknown);
    else if (response.status >= 400 && !type.includes("multipart/mixed"))
      return `a ${response.status} answer of type '${type}'`;
    else return null;
  } catch {
    return null; // cut off at MAX_BODY, or a stream cut mid-event
  }
  for (const body of documents) {
    if (typeof body !== "object" || body === null) continue;
    const errors = (body as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      const bare = errors.find(
        (e) => typeof (e as { extensions?: { code?: unknown } }).extensions?.code !== "string",
      ) as { message?: string } | undefined;
      if (bare) return `a GraphQL error without extensions.code: ${String(bare.message).slice(0, 120)}`;
    }
    const error = (body as { error?: { code?: unknown } }).error;
    if (error !== undefined && typeof error.code !== "string") return "an HTTP error without error.code";
  }
  return null;
}
