// MLflow's artifact proxy against a real server (one, SQLite): the requests MLflow's
// HttpArtifactRepository sends (PUT with a guessed Content-Type, listings by `path` query, downloads,
// deletes), a version registered from `mlflow-artifacts:/…` (READY, its artifacts inspected with
// the logged bytes), the read-only `_registro/` view that get-download-uri points at, gc keeping
// staged bytes, and hostile paths and bodies refused with MLflow's error body.
import { createHash } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectGarbage } from "../../src/artifacts/collectGarbage.ts";
import { formatVerifyReport, verifyBlobs } from "../../src/artifacts/verifyBlobs.ts";
import { PREFIXES, call, freshName, get, post } from "../support/mlflow.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { createServiceAccount } from "../support/serviceAccounts.ts";

const PROXY = ["/api/2.0/mlflow-artifacts/artifacts", "/ajax-api/2.0/mlflow-artifacts/artifacts"] as const;
const MAX_BYTES = 64 * 1024;

/** A request whose target goes out exactly as written: fetch() would resolve `..` and `%2e%2e` first. */
function rawRequest(base: string, method: string, target: string, body?: string) {
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const request = http.request(`${base}/`, { method, path: target }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
        }),
      );
    });
    request.on("error", reject);
    request.end(body);
  });
}

const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

describe("MLflow's artifact proxy", () => {
  let server: TestServer;
  let outsider: Record<string, string>;

  /** As MLflow's client logs a file: PUT <artifacts>/<path>, Content-Type guessed from the name. */
  const put = (
    path: string,
    body: string | Uint8Array,
    contentType = "application/octet-stream",
    headers = {},
  ) =>
    fetch(`${server.url}${PROXY[0]}/${path}`, {
      method: "PUT",
      headers: { "content-type": contentType, ...headers },
      body: typeof body === "string" ? body : new Uint8Array(body),
    });
  const list = async (path: string | null, prefix: string = PROXY[0], headers = {}) => {
    const url = new URL(`${server.url}${prefix}`);
    if (path !== null) url.searchParams.set("path", path);
    const response = await fetch(url, { headers });
    const body: any = await response.json();
    return { status: response.status, body };
  };
  const raw = (method: string, target: string, body?: string) => rawRequest(server.url, method, target, body);
  const mlflow = (request: Parameters<typeof call>[2]) => call(server, PREFIXES[0], request);

  beforeAll(async () => {
    // Private models: a principal without a grant cannot see the admin's models at all.
    server = await startTestServer("sqlite", {
      auth: { defaultModelPermission: null },
      artifacts: { maxArtifactBytes: MAX_BYTES },
      uploads: { maxPerClient: 2 },
    });
    outsider = (
      await createServiceAccount(
        (query, variables, headers) => server.gql(query, variables, headers),
        freshName("outsider"),
      )
    ).headers;
  });
  afterAll(async () => {
    await server?.close();
  });

  it("stores, lists, downloads, overwrites and deletes files as MLflow's client expects", async () => {
    const root = freshName("run");
    const mlmodel = "artifact_path: model\nflavors:\n  python_function: {}\n";
    expect((await put(`${root}/model/MLmodel`, mlmodel, "text/plain")).status).toBe(200);
    const weights = new Uint8Array(3000).map((_, i) => i % 251);
    // An empty file (a package's __init__.py) is a file like any other.
    expect((await put(`${root}/model/code/__init__.py`, "", "text/x-python")).status).toBe(200);
    const stored = await put(`${root}/model/data/weights.bin`, weights);
    expect({ status: stored.status, body: await stored.json() }).toEqual({ status: 200, body: {} });

    // One level, basenames, sizes as numbers, folders without sizes; both prefixes.
    for (const prefix of PROXY)
      expect(await list(`${root}/model`, prefix)).toEqual({
        status: 200,
        body: {
          files: [
            { path: "MLmodel", is_dir: false, file_size: Buffer.byteLength(mlmodel) },
            { path: "code", is_dir: true },
            { path: "data", is_dir: true },
          ],
        },
      });
    expect((await list(`${root}`)).body).toEqual({ files: [{ path: "model", is_dir: true }] });
    expect((await list(null)).body.files).toEqual(expect.arrayContaining([{ path: root, is_dir: true }]));
    expect(await list(`${root}/nothing-here`)).toEqual({ status: 200, body: {} });

    const download = await fetch(`${server.url}${PROXY[1]}/${root}/model/data/weights.bin`);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-length")).toBe("3000");
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(weights));
    const yaml = await fetch(`${server.url}${PROXY[0]}/${root}/model/MLmodel`);
    expect(await yaml.text()).toBe(mlmodel);
    const partial = await fetch(`${server.url}${PROXY[0]}/${root}/model/data/weights.bin`, {
      headers: { range: "bytes=10-19" },
    });
    expect(partial.status).toBe(206);
    expect([...new Uint8Array(await partial.arrayBuffer())]).toEqual([...weights.slice(10, 20)]);

    // MLflow lets a client overwrite a file; a file cannot also be a folder.
    expect((await put(`${root}/model/MLmodel`, "v2", "text/plain")).status).toBe(200);
    expect(await (await fetch(`${server.url}${PROXY[0]}/${root}/model/MLmodel`)).text()).toBe("v2");
    const clash = await put(`${root}/model/MLmodel/inner`, "x");
    expect(clash.status).toBe(400);
    expect(await clash.json()).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE" });

    const deleted = await fetch(`${server.url}${PROXY[0]}/${root}/model/MLmodel`, { method: "DELETE" });
    expect({ status: deleted.status, body: await deleted.json() }).toEqual({ status: 200, body: {} });
    const gone = await fetch(`${server.url}${PROXY[0]}/${root}/model/MLmodel`);
    expect({ status: gone.status, body: await gone.json() }).toEqual({
      status: 404,
      body: { error_code: "RESOURCE_DOES_NOT_EXIST", message: expect.stringContaining("MLmodel") },
    });
    expect((await list(`${root}/model`)).body).toEqual({
      files: [
        { path: "code", is_dir: true },
        { path: "data", is_dir: true },
      ],
    });
    const empty = await fetch(`${server.url}${PROXY[0]}/${root}/model/code/__init__.py`);
    expect([empty.status, empty.headers.get("content-length"), await empty.text()]).toEqual([200, "0", ""]);
  });

  it("answers If-Range, If-None-Match and If-Match against the file at the path now, not an overwritten one", async () => {
    const path = `${freshName("exp1")}/run1/a.bin`;
    const url = `${server.url}${PROXY[0]}/${path}`;
    expect((await put(path, "AAAAAAAAAA")).status).toBe(200);
    const e1 = (await fetch(url, { method: "HEAD" })).headers.get("etag")!;
    expect(e1).toBe(`"${sha256("AAAAAAAAAA")}"`);
    expect((await put(path, "BBBBBBBBBB")).status).toBe(200);
    const e2 = `"${sha256("BBBBBBBBBB")}"`;

    // A download of the first file resumed after the overwrite gets the whole new file, never a splice.
    const resumed = await fetch(url, { headers: { range: "bytes=2-5", "if-range": e1 } });
    expect([resumed.status, resumed.headers.get("content-range"), await resumed.text()]).toEqual([
      200,
      null,
      "BBBBBBBBBB",
    ]);
    const current = await fetch(url, { headers: { range: "bytes=2-5", "if-range": e2 } });
    expect([current.status, await current.text()]).toEqual([206, "BBBB"]);

    for (const method of ["GET", "HEAD"]) {
      const cached = await fetch(url, { method, headers: { "if-none-match": `"x", W/${e2}` } });
      expect([cached.status, cached.headers.get("etag")]).toEqual([304, e2]);
      expect((await fetch(url, { method, headers: { "if-none-match": e1 } })).status).toBe(200);
      const refused = await fetch(url, { method, headers: { "if-match": e1, range: "bytes=2-5" } });
      expect(refused.status).toBe(412);
      if (method === "GET")
        expect(await refused.json()).toEqual({
          error_code: "BAD_REQUEST",
          message: expect.stringContaining("If-Match"),
        });
    }
    const matched = await fetch(url, { headers: { "if-match": e2, range: "bytes=2-5" } });
    expect([matched.status, await matched.text()]).toEqual([206, "BBBB"]);
    // Staged files send no Last-Modified (an overwrite within a second would share it): dates are ignored.
    const dated = await fetch(url, { headers: { "if-unmodified-since": "Thu, 01 Jan 1970 00:00:00 GMT" } });
    expect([dated.status, dated.headers.get("last-modified"), await dated.text()]).toEqual([
      200,
      null,
      "BBBBBBBBBB",
    ]);
    // A missing file is a 404 before any condition.
    const missing = await fetch(`${url}.missing`, { headers: { "if-match": e2 } });
    expect((await missing.json()).error_code).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("lets a PUT say which file it replaces (If-Match) or that it creates one (If-None-Match: *)", async () => {
    const path = `${freshName("exp")}/run/cond.txt`;
    const url = `${server.url}${PROXY[0]}/${path}`;
    const text = async (response: Response) => [response.status, await response.text()];
    // Nothing there yet: If-Match (even `*`) fails and stores nothing; If-None-Match: * creates.
    for (const ifMatch of ["*", `"${sha256("x")}"`]) {
      const refused = await put(path, "x", "text/plain", { "if-match": ifMatch });
      expect({ status: refused.status, body: await refused.json() }).toEqual({
        status: 412,
        body: { error_code: "BAD_REQUEST", message: expect.stringContaining("If-Match") },
      });
    }
    expect((await fetch(url)).status).toBe(404);
    expect((await put(path, "one", "text/plain", { "if-none-match": "*" })).status).toBe(200);
    const one = `"${sha256("one")}"`;

    // A file there: If-None-Match: * (or naming its ETag, weak or not) and If-Match naming another
    // ETag fail, and the file is left as it was.
    for (const headers of [
      { "if-none-match": "*" },
      { "if-none-match": `"a", W/${one}` },
      { "if-match": `"${sha256("other")}"` },
      { "if-match": `W/${one}` },
    ]) {
      const refused = await put(path, "lost", "text/plain", headers);
      expect(refused.status, JSON.stringify(headers)).toBe(412);
      expect((await refused.json()).error_code).toBe("BAD_REQUEST");
    }
    expect(await text(await fetch(url))).toEqual([200, "one"]);

    // If-Match naming the file there (in a list, or `*`) replaces it.
    expect((await put(path, "two", "text/plain", { "if-match": `"a", ${one}` })).status).toBe(200);
    expect(await text(await fetch(url))).toEqual([200, "two"]);
    expect((await put(path, "three", "text/plain", { "if-match": "*" })).status).toBe(200);
    expect(await text(await fetch(url))).toEqual([200, "three"]);
  });

  it("answers a method a path does not serve with 405, MLflow's body and an Allow header", async () => {
    const file = `${freshName("exp")}/a.txt`;
    for (const [method, target, allow] of [
      ["POST", `${PROXY[0]}/${file}`, "GET, HEAD, PUT, DELETE"],
      ["PATCH", `${PROXY[1]}/${file}`, "GET, HEAD, PUT, DELETE"],
      ["PROPFIND", `${PROXY[0]}/${file}`, "GET, HEAD, PUT, DELETE"],
      ["PUT", PROXY[0], "GET, HEAD"],
      ["DELETE", `${PROXY[1]}?path=x`, "GET, HEAD"],
    ] as const) {
      const response = await fetch(`${server.url}${target}`, { method });
      expect([response.status, response.headers.get("allow")], `${method} ${target}`).toEqual([405, allow]);
      expect(await response.json()).toEqual({
        error_code: "BAD_REQUEST",
        message: `${method} is not allowed here; use ${allow}`,
      });
    }
  });

  it("registers a READY version from mlflow-artifacts:/ and serves it back through get-download-uri", async () => {
    const root = `${freshName("run")}/artifacts/model`;
    const files: Record<string, string> = {
      MLmodel: "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n",
      "requirements.txt": "scikit-learn==1.5.0\n",
      "data/config.json": '{"layers": 3}',
      "code/__init__.py": "",
    };
    for (const [path, text] of Object.entries(files))
      expect((await put(`${root}/${path}`, text)).status).toBe(200);
    const model = freshName("proxied");
    expect((await mlflow(post("registered-models/create", { name: model }))).status).toBe(200);

    const missing = await mlflow(
      post("model-versions/create", { name: model, source: "mlflow-artifacts:/no/such/dir" }),
    );
    expect(missing).toMatchObject({
      status: 400,
      body: { error_code: "INVALID_PARAMETER_VALUE", message: expect.stringContaining("no/such/dir") },
    });

    const created = await mlflow(
      post("model-versions/create", { name: model, source: `mlflow-artifacts:/${root}`, run_id: "" }),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.model_version).toMatchObject({
      version: "1",
      status: "READY",
      source: `mlflow-artifacts:/${root}`,
    });

    const seen = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 1) { status artifacts { path sha256 role verdict inspectedAt } } }`,
      { n: model },
    );
    expect(seen.data?.modelVersion.status, JSON.stringify(seen)).toBe("READY");
    const artifacts = seen.data?.modelVersion.artifacts as {
      path: string;
      sha256: string;
      role: string;
      verdict: string | null;
      inspectedAt: string | null;
    }[];
    expect(artifacts.map((a) => [a.path, a.sha256]).sort()).toEqual(
      Object.entries(files)
        .map(([path, text]) => [path, sha256(text)])
        .sort(),
    );
    expect(artifacts.find((a) => a.path === "data/config.json")?.role).toBe("CONFIG");
    // Inspected like any upload: data files are SAFE, code is not something inspection vouches for.
    expect(Object.fromEntries(artifacts.map((a) => [a.path, [a.verdict, typeof a.inspectedAt]]))).toEqual({
      MLmodel: ["SAFE", "string"],
      "requirements.txt": ["SAFE", "string"],
      "data/config.json": ["SAFE", "string"],
      "code/__init__.py": ["UNSCANNABLE", "string"],
    });

    // The second version: the same files through an http(s) URL of the proxy and a second version number.
    const viaUrl = await mlflow(
      post("model-versions/create", { name: model, source: `${server.url}${PROXY[0]}/${root}/MLmodel` }),
    );
    expect(viaUrl.body.model_version).toMatchObject({ version: "2", status: "READY" });

    // And through the host form MLflow writes for a proxy on another host: the host is not ours to check.
    const viaHost = await mlflow(
      post("model-versions/create", {
        name: model,
        source: `mlflow-artifacts://tracking.example:5000/${root}/data`,
      }),
    );
    expect(viaHost.body.model_version).toMatchObject({ version: "3", status: "READY" });
    const third = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 3) { artifacts { path } } }`,
      {
        n: model,
      },
    );
    expect(third.data?.modelVersion.artifacts).toEqual([{ path: "config.json" }]);

    const uri = await mlflow(
      get("model-versions/get-download-uri", [
        ["name", model],
        ["version", "1"],
      ]),
    );
    const artifactUri = uri.body.artifact_uri as string;
    expect(artifactUri).toMatch(/^mlflow-artifacts:\/_registro\/models\/[A-Za-z0-9_-]+\/versions\/1$/);
    // As MLflow's client resolves and lists it.
    const viewPath = artifactUri.slice("mlflow-artifacts:/".length);
    expect((await list(viewPath)).body).toEqual({
      files: [
        { path: "MLmodel", is_dir: false, file_size: files.MLmodel!.length },
        { path: "requirements.txt", is_dir: false, file_size: files["requirements.txt"]!.length },
        { path: "code", is_dir: true },
        { path: "data", is_dir: true },
      ],
    });
    expect((await list(`${viewPath}/data`)).body).toEqual({
      files: [{ path: "config.json", is_dir: false, file_size: files["data/config.json"]!.length }],
    });
    const fetched = await fetch(`${server.url}${PROXY[0]}/${viewPath}/data/config.json`);
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get("content-type")).toMatch(/json/);
    expect(await fetched.text()).toBe(files["data/config.json"]);
    // Conditional requests through the view are the artifact routes', answered with MLflow's body.
    const configTag = `"${sha256(files["data/config.json"]!)}"`;
    expect((await fetch(fetched.url, { headers: { "if-none-match": configTag } })).status).toBe(304);
    const stale = await fetch(fetched.url, { headers: { "if-match": '"other"' } });
    expect([stale.status, (await stale.json()).error_code]).toEqual([412, "BAD_REQUEST"]);
    // Read-only, and invisible to a principal that may not read the model.
    const write = await fetch(`${server.url}${PROXY[0]}/${viewPath}/MLmodel`, { method: "PUT", body: "x" });
    expect(write.status).toBe(403);
    expect(await write.json()).toMatchObject({ error_code: "PERMISSION_DENIED" });
    const hidden = await list(viewPath, PROXY[0], outsider);
    expect(hidden).toMatchObject({ status: 404, body: { error_code: "RESOURCE_DOES_NOT_EXIST" } });
    // A number past the largest version names none: a mistake to say, not an empty folder.
    const beyond = await list(viewPath.replace(/\/1$/, "/99999999999"));
    expect(beyond).toMatchObject({ status: 400, body: { error_code: "INVALID_PARAMETER_VALUE" } });
    const beyondFile = await fetch(
      `${server.url}${PROXY[0]}/${viewPath.replace(/\/1$/, "/99999999999")}/MLmodel`,
    );
    expect(beyondFile.status).toBe(400);
    const hiddenFile = await fetch(`${server.url}${PROXY[0]}/${viewPath}/MLmodel`, { headers: outsider });
    expect(hiddenFile.status).toBe(404);
    expect(await hiddenFile.json()).toMatchObject({ error_code: "RESOURCE_DOES_NOT_EXIST" });

    // The staged files may go (the folder, as delete_artifacts() names it): the version's bytes
    // stay (the log references them).
    expect((await fetch(`${server.url}${PROXY[0]}/${root}/`, { method: "DELETE" })).status).toBe(200);
    expect(await list(root)).toEqual({ status: 200, body: {} });
    expect(await (await fetch(`${server.url}${PROXY[0]}/${viewPath}/MLmodel`)).text()).toBe(files.MLmodel);
  });

  it("decodes every segment of the version view alike, and refuses other spellings of a version with MLflow's 400", async () => {
    const root = freshName("segments");
    expect((await put(`${root}/MLmodel`, "flavors: {}\n")).status).toBe(200);
    const model = freshName("segments");
    expect((await mlflow(post("registered-models/create", { name: model }))).status).toBe(200);
    expect(
      (await mlflow(post("model-versions/create", { name: model, source: `mlflow-artifacts:/${root}` })))
        .status,
    ).toBe(200);
    const uri = await mlflow(
      get("model-versions/get-download-uri", [
        ["name", model],
        ["version", "1"],
      ]),
    );
    const view = (uri.body.artifact_uri as string).slice("mlflow-artifacts:/".length).replace(/\/1$/, "");

    // `%31` is version 1, in a download's path as in a listing's `path` query parameter.
    // fetch() keeps percent escapes as written; it resolves only dot segments.
    for (const prefix of PROXY) {
      const file = await fetch(`${server.url}${prefix}/${view}/%31/MLmodel`);
      expect([file.status, await file.text()]).toEqual([200, "flavors: {}\n"]);
      const listed = await raw("GET", `${prefix}?path=${encodeURIComponent(view)}%2F%31`);
      expect(listed).toEqual({
        status: 200,
        body: { files: [{ path: "MLmodel", is_dir: false, file_size: 12 }] },
      });
    }

    const refused = {
      status: 400,
      body: { error_code: "INVALID_PARAMETER_VALUE", message: expect.any(String) },
    };
    for (const version of [
      "01",
      "%30%31",
      "+1",
      "%2B1",
      "1e0",
      "0",
      "2147483648",
      "99999999999999999999",
      "latest",
    ]) {
      for (const method of ["GET", "PUT", "DELETE"]) {
        const answer = await raw(
          method,
          `${PROXY[0]}/${view}/${version}/MLmodel`,
          method === "PUT" ? "x" : undefined,
        );
        expect({ version, method, ...answer }).toEqual({ version, method, ...refused });
      }
      const head = await fetch(`${server.url}${PROXY[0]}/${view}/${version}/MLmodel`, { method: "HEAD" });
      expect({ version, status: head.status }).toEqual({ version, status: 400 });
      const query = encodeURIComponent(`${view}/${decodeURIComponent(version)}`);
      const listed = await raw("GET", `${PROXY[1]}?path=${query}`);
      expect({ version, ...listed }).toEqual({ version, ...refused });
    }
    // A malformed escape in a listing's path is refused as it is in a download's, not read as text.
    for (const query of ["path=%zz", "path=%", `path=${encodeURIComponent(view)}%2F1%2F%zz`, "%zz=1"])
      expect({ query, ...(await raw("GET", `${PROXY[0]}?${query}`)) }).toEqual({ query, ...refused });
  });

  it("registers MLflow 3's logged model (models:/m-<id>) from the folder the tracking calls gave it", async () => {
    const logged = await mlflow(post("logged-models", { experiment_id: "0", name: "clf" }));
    expect(logged.status, JSON.stringify(logged.body)).toBe(200);
    const { model_id: id, artifact_uri: uri } = logged.body.model.info as {
      model_id: string;
      artifact_uri: string;
    };
    const folder = uri.slice("mlflow-artifacts:/".length);
    expect((await put(`${folder}/MLmodel`, "flavors: {}\n")).status).toBe(200);
    const model = freshName("logged");
    expect((await mlflow(post("registered-models/create", { name: model }))).status).toBe(200);
    const created = await mlflow(
      post("model-versions/create", { name: model, source: `models:/${id}`, model_id: id }),
    );
    expect(created.body.model_version, JSON.stringify(created.body)).toMatchObject({
      version: "1",
      status: "READY",
      source: `models:/${id}`,
    });
    const seen = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 1) { artifacts { path } } }`,
      {
        n: model,
      },
    );
    expect(seen.data?.modelVersion.artifacts).toEqual([{ path: "MLmodel" }]);
  });

  it("refuses a staged path of more than 2,048 bytes of UTF-8", async () => {
    const segment = encodeURIComponent("模".repeat(255)); // 765 bytes
    const refused = await put(`${freshName("long")}/${segment}/${segment}/${segment}`, "x");
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      error_code: "INVALID_PARAMETER_VALUE",
      message: expect.stringMatching(/2048 bytes of UTF-8/),
    });
  });

  it("keeps staged files' bytes through garbage collection", async () => {
    const path = `${freshName("gc")}/weights.bin`;
    const bytes = `staged only ${path}`;
    expect((await put(path, bytes)).status).toBe(200);
    const { db, blobs } = server.registro;
    const report = await collectGarbage(db.reader, blobs, {
      olderThanMs: 0,
      dryRun: false,
      now: new Date(Date.now() + 24 * 3600_000),
    });
    expect(report.deleted.map((b) => b.sha256)).not.toContain(sha256(bytes));
    expect(await (await fetch(`${server.url}${PROXY[0]}/${path}`)).text()).toBe(bytes);
    // verify expects staged bytes too, and names the file that lost them.
    await blobs.delete(sha256(bytes));
    const verified = await verifyBlobs(db.reader, blobs);
    expect(verified.missing).toEqual([{ sha256: sha256(bytes), references: [], stagedPaths: [path] }]);
    expect(formatVerifyReport(verified).join("\n")).toContain(`MLflow artifact proxy file "${path}"`);
  });

  it.each([
    ["a dot-dot segment", "a/../b"],
    ["an encoded dot-dot", "a/%2e%2e/b"],
    ["an encoded slash before dot-dot", "a%2F..%2Fb"],
    ["a double-encoded dot-dot", "a/%252e%252e/b"],
    ["a dot segment", "a/./b"],
    ["an empty segment", "a//b"],
    ["a leading slash", "/etc/passwd"],
    ["an encoded leading slash", "%2Fetc%2Fpasswd"],
    ["a backslash", "a%5C..%5Cb"],
    ["a NUL", "a%00b"],
    ["a control character", "a%0Ab"],
    ["malformed percent-encoding", "a%E0%A4%A"],
    ["a path too long", "x".repeat(1100)],
    ["a trailing slash (one is a folder to DELETE only)", "a/b/"],
    ["two trailing slashes", "a/b//"],
  ])("refuses %s with MLflow's 400", async (_, path) => {
    for (const method of ["PUT", "GET", ...(path.endsWith("b/") ? [] : ["DELETE"])]) {
      const response = await raw(method, `${PROXY[0]}/${path}`, method === "PUT" ? "x" : undefined);
      expect({ method, ...response }).toEqual({
        method,
        status: 400,
        body: { error_code: "INVALID_PARAMETER_VALUE", message: expect.stringMatching(/path/i) },
      });
    }
    const decoded = (() => {
      try {
        return decodeURIComponent(path);
      } catch {
        return null;
      }
    })();
    if (decoded !== null && decoded !== "")
      expect(await list(decoded)).toMatchObject({
        status: 400,
        body: { error_code: "INVALID_PARAMETER_VALUE" },
      });
  });

  it("refuses an oversize body, writers without the right, and multipart uploads", async () => {
    const big = new Uint8Array(MAX_BYTES + 1);
    const declared = await put(`${freshName("big")}/model.bin`, big);
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE" });
    // A body whose length is not announced is cut at the limit, nothing stored.
    const path = `${freshName("big")}/streamed.bin`;
    const streamed = await fetch(`${server.url}${PROXY[0]}/${path}`, {
      method: "PUT",
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(MAX_BYTES / 2));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await fetch(`${server.url}${PROXY[0]}/${path}`)).status).toBe(404);

    const readOnly = await server.gql(
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { ... on CreateApiTokenPayload { secret } } }`,
      {
        input: {
          principalId: (await server.gql(`{ viewer { id } }`)).data?.viewer.id,
          name: freshName("ro"),
          scopes: ["READ"],
        },
      },
    );
    const secret = readOnly.data?.createApiToken?.secret as string | undefined;
    expect(secret, JSON.stringify(readOnly)).toBeDefined();
    const refused = await put(`${freshName("ro")}/f`, "x", "text/plain", {
      authorization: `Bearer ${secret}`,
    });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      error_code: "PERMISSION_DENIED",
      message: expect.stringContaining("write scope"),
    });
    // Past the upload cap: MLflow's 503, which its client retries after Retry-After.
    const held = [1, 2].map((i) => {
      const request = http.request(`${server.url}${PROXY[0]}/${freshName("held")}/f${i}`, {
        method: "PUT",
        headers: { "content-length": "1000" },
      });
      request.on("error", () => undefined);
      request.write("x");
      return request;
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const busy = await put(`${freshName("busy")}/f`, "x");
      expect(busy.status).toBe(503);
      expect(busy.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(await busy.json()).toMatchObject({ error_code: "TEMPORARILY_UNAVAILABLE" });
    } finally {
      for (const request of held) request.destroy();
    }
    const mpu = await fetch(`${server.url}/api/2.0/mlflow-artifacts/mpu/create/x`, {
      method: "POST",
      body: "{}",
    });
    expect(mpu.status).toBe(404);
    expect(await mpu.json()).toMatchObject({
      error_code: "ENDPOINT_NOT_FOUND",
      message: expect.stringContaining("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"),
    });
  });
});
