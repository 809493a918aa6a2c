// Folders of MLflow's artifact proxy whose names LIKE cannot tell apart, on both providers: SQLite's
// LIKE ignores the case of ASCII letters (`CaseDir/` matches `casedir/%`), and `_` is a wildcard of
// LIKE everywhere (`caseXdir/` matches `case_dir/%`). With more than a listing's or a version's worth
// of files (10,000) in the other folder, which sorts first, those rows filled the window a LIMIT left:
// a registration found no files or silently left one out of a READY version, a DELETE of the folder
// answered 200 and deleted nothing, a listing lost a sub-folder, and a PUT wrote a file over a folder.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACT_LIMITS } from "../../src/domain/artifacts.ts";
import { dirOf } from "../../src/mlflow/stagedFiles.ts";
import { providers } from "../support/databases.ts";
import { PREFIXES, call, freshName, post } from "../support/mlflow.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const PROXY = "/api/2.0/mlflow-artifacts/artifacts";
/** Files one registration takes and one listing shows (a named constant of src/domain/artifacts.ts). */
const WINDOW = ARTIFACT_LIMITS.maxArtifactsPerVersion;
const CONTENT = "staged bytes\n";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Two folder names LIKE cannot tell apart; `other` sorts first (bytes), so its rows come first. */
const PAIRS = {
  "letter case": (base: string) => ({ target: base, other: base.toUpperCase() }),
  "a LIKE wildcard": (base: string) => ({ target: `${base}_dir`, other: `${base}Xdir` }),
} as const;

describe.each(await providers())("MLflow artifact proxy: folders LIKE cannot tell apart (%s)", (provider) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => {
    await server?.close();
  });

  const put = (path: string, body = CONTENT) =>
    fetch(`${server.url}${PROXY}/${encodeURI(path)}`, { method: "PUT", body });
  const remove = (path: string) => fetch(`${server.url}${PROXY}/${encodeURI(path)}`, { method: "DELETE" });
  const list = async (path: string) => {
    const url = new URL(`${server.url}${PROXY}`);
    url.searchParams.set("path", path);
    const response = await fetch(url);
    return { status: response.status, body: (await response.json()) as { files?: unknown[] } };
  };
  const mlflow = (request: Parameters<typeof call>[2]) => call(server, PREFIXES[0], request);

  /**
   * Stages `paths`: the first through a PUT (which stores the bytes), the others as rows naming the
   * same blob, written in bulk as a PUT writes them (10,000 PUTs take minutes on this machine).
   */
  async function stage(paths: readonly string[]) {
    const [first, ...rest] = paths;
    if (first === undefined) return;
    expect((await put(first)).status).toBe(200);
    const createdAt = new Date();
    await server.registro.db.write(async (tx) => {
      for (let at = 0; at < rest.length; at += 500) {
        const chunk = rest.slice(at, at + 500);
        await tx.execute(
          `INSERT INTO "mlflow_artifact_files" ("path", "dir", "sha256", "size", "media_type", "created_at", "created_by")
           VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
          chunk.flatMap((path) => [
            path,
            dirOf(path),
            sha256(CONTENT),
            Buffer.byteLength(CONTENT),
            "application/octet-stream",
            createdAt,
            "test",
          ]),
        );
      }
    });
  }

  const files = (folder: string, count: number) =>
    Array.from({ length: count }, (_, i) => `${folder}/f${String(i).padStart(5, "0")}`);

  const stagedCount = async (dir: string) => {
    const [row] = await server.registro.db.query<{ n: unknown }>(
      `SELECT COUNT(*) AS n FROM "mlflow_artifact_files" WHERE "dir" = ?`,
      [dir],
    );
    return Number(row?.n);
  };

  /** Registers a new model's first version from `mlflow-artifacts:/<folder>`: its status and artifact paths. */
  async function register(folder: string) {
    const model = freshName("case");
    expect((await mlflow(post("registered-models/create", { name: model }))).status).toBe(200);
    const created = await mlflow(
      post("model-versions/create", { name: model, source: `mlflow-artifacts:/${folder}` }),
    );
    if (created.status !== 200) return { status: created.status, version: created.body, artifacts: [] };
    const seen = await server.gql(
      `query($n: String!) { modelVersion(name: $n, version: 1) { status artifacts { path } } }`,
      { n: model },
    );
    return {
      status: created.status,
      version: seen.data?.modelVersion.status,
      artifacts: (seen.data?.modelVersion.artifacts as { path: string }[]).map((a) => a.path).sort(),
    };
  }

  const GS = ["g1", "g2", "g3"];

  describe.each(Object.entries(PAIRS))("names differing by %s", (_, pair) => {
    it("registers every file of the folder when another folder's files are more than a version holds", async () => {
      const { target, other } = pair(freshName("reg"));
      await stage(files(`${other}/sub`, WINDOW + 1));
      for (const g of GS) expect((await put(`${target}/${g}`)).status).toBe(200);
      expect((await list(target)).body.files).toHaveLength(3);

      expect(await register(target)).toEqual({ status: 200, version: "READY", artifacts: GS });
    });

    it("leaves no file out of a READY version when another folder's files nearly fill the window", async () => {
      const { target, other } = pair(freshName("window"));
      await stage(files(`${other}/sub`, WINDOW - 1));
      for (const g of GS) expect((await put(`${target}/${g}`)).status).toBe(200);

      expect(await register(target)).toEqual({ status: 200, version: "READY", artifacts: GS });
    });

    it("deletes the folder named, all of it and nothing else", async () => {
      const { target, other } = pair(freshName("delete"));
      await stage(files(`${other}/sub`, WINDOW + 1));
      for (const g of GS) expect((await put(`${target}/${g}`)).status).toBe(200);

      const deleted = await remove(`${target}/`);
      expect({ status: deleted.status, body: await deleted.json() }).toEqual({ status: 200, body: {} });
      expect(await list(target)).toEqual({ status: 200, body: {} });
      expect(await stagedCount(`${other}/sub`)).toBe(WINDOW + 1);
    });

    it("lists the sub-folders of the folder named when another folder has more sub-folders than a listing shows", async () => {
      const { target, other } = pair(freshName("list"));
      await stage(Array.from({ length: WINDOW + 1 }, (_, i) => `${other}/d${i}/f`));
      expect((await put(`${target}/sub/h`)).status).toBe(200);

      expect(await list(target)).toEqual({ status: 200, body: { files: [{ path: "sub", is_dir: true }] } });
    });

    it("refuses a file where a folder is, whatever the other folder's files", async () => {
      const { target, other } = pair(freshName("clash"));
      await stage(files(`${other}/sub`, 200));
      expect((await put(`${target}/inside`)).status).toBe(200);

      const clash = await put(target);
      expect({ status: clash.status, body: await clash.json() }).toEqual({
        status: 400,
        body: {
          error_code: "INVALID_PARAMETER_VALUE",
          message: `Cannot write '${target}': '${target}' is a folder (it holds '${target}/inside')`,
        },
      });
    });
  });
});
