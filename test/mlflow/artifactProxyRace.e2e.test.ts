// Conditional PUTs through MLflow's artifact proxy that race, on both providers: two PUTs carrying
// the same If-Match (or both If-None-Match: *) pass the check made before their bodies, then both
// bodies arrive. Exactly one is stored; the other gets MLflow's 412 and leaves no staging row
// naming its bytes, which garbage collection then takes. A PUT whose precondition still holds for
// the file another writer stored meanwhile (If-Match: *) is stored over it.
import { createHash } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectGarbage } from "../../src/artifacts/collectGarbage.ts";
import { providers } from "../support/databases.ts";
import { eventually } from "../support/eventually.ts";
import { freshName } from "../support/mlflow.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const PROXY = "/api/2.0/mlflow-artifacts/artifacts";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly content: string;
}

describe.each(await providers())("MLflow artifact proxy: racing conditional PUTs (%s)", (provider) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(provider, { uploads: { maxPerClient: 8 } });
  });
  afterAll(async () => {
    await server?.close();
  });

  const put = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${PROXY}/${path}`, { method: "PUT", headers, body });

  /**
   * A PUT whose body is held back after its first byte: the server has checked its preconditions
   * and taken an upload slot when the slot count goes up. `finish` sends the rest.
   */
  async function heldPut(path: string, body: string, headers: Record<string, string>) {
    const active = server.registro.uploads.active;
    const request = http.request(`${server.url}${PROXY}/${path}`, {
      method: "PUT",
      headers: { ...headers, "content-type": "text/plain", "content-length": Buffer.byteLength(body) },
    });
    const answered = new Promise<Answer>((resolve, reject) => {
      request.on("error", reject);
      request.on("response", (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text), content: body });
        });
      });
    });
    request.write(body.slice(0, 1));
    await eventually(() => server.registro.uploads.active > active, 10_000, "the PUT to pass its check");
    return {
      finish: () => {
        request.end(body.slice(1));
        return answered;
      },
    };
  }

  /** Whether the staging area names these bytes (what keeps them from garbage collection). */
  async function collectable(content: string): Promise<boolean> {
    const report = await collectGarbage(server.registro.db.reader, server.registro.blobs, {
      olderThanMs: 0,
      dryRun: true,
      now: new Date(Date.now() + 24 * 3600_000),
    });
    return report.candidates.some((b) => b.sha256 === sha256(content));
  }

  const current = async (path: string) => {
    const response = await fetch(`${server.url}${PROXY}/${path}`);
    return { status: response.status, text: await response.text(), etag: response.headers.get("etag") };
  };

  it.each([
    ["the same If-Match", true],
    ["If-None-Match: *", false],
  ])("stores one of two PUTs carrying %s and refuses the other with 412", async (_, replace) => {
    const path = `${freshName("race")}/model.pkl`;
    let headers: Record<string, string> = { "if-none-match": "*" };
    if (replace) {
      expect((await put(path, `first of ${path}`)).status).toBe(200);
      headers = { "if-match": (await current(path)).etag ?? "" };
    }
    const a = await heldPut(path, `writer A of ${path}`, headers);
    const b = await heldPut(path, `writer B of ${path}`, headers);
    const answers = await Promise.all([a.finish(), b.finish()]);
    const stored = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status !== 200);
    expect(stored.length, JSON.stringify(answers)).toBe(1);
    expect(refused).toEqual([
      {
        status: 412,
        body: { error_code: "BAD_REQUEST", message: expect.stringMatching(/If-(None-)?Match does not hold/) },
        content: expect.any(String),
      },
    ]);
    expect(await current(path)).toMatchObject({ status: 200, text: stored[0]?.content });
    // Nothing names the refused PUT's bytes: they are garbage, the stored ones are not.
    expect(await collectable(refused[0]?.content ?? "")).toBe(true);
    expect(await collectable(stored[0]?.content ?? "")).toBe(false);
  });

  it("stores a PUT with If-Match: * over the file another PUT stored meanwhile, not over a deleted one", async () => {
    const path = `${freshName("star")}/model.pkl`;
    expect((await put(path, `first of ${path}`)).status).toBe(200);
    const late = await heldPut(path, `late writer of ${path}`, { "if-match": "*" });
    expect((await put(path, `meanwhile of ${path}`)).status).toBe(200);
    expect(await late.finish()).toMatchObject({ status: 200 });
    expect((await current(path)).text).toBe(`late writer of ${path}`);

    const gone = await heldPut(path, `after delete of ${path}`, { "if-match": "*" });
    expect((await fetch(`${server.url}${PROXY}/${path}`, { method: "DELETE" })).status).toBe(200);
    expect(await gone.finish()).toMatchObject({
      status: 412,
      body: { error_code: "BAD_REQUEST", message: expect.stringContaining("there is no file") },
    });
    expect((await current(path)).status).toBe(404);
  });

  it("stores one of two racing PUTs of a path and a path inside it (a file cannot be a folder)", async () => {
    const folder = `${freshName("clash")}/model`;
    const a = await heldPut(folder, `the file ${folder}`, {});
    const b = await heldPut(`${folder}/weights.bin`, `the file inside ${folder}`, {});
    const answers = await Promise.all([a.finish(), b.finish()]);
    expect(
      answers.filter((answer) => answer.status === 200),
      JSON.stringify(answers),
    ).toHaveLength(1);
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([
      {
        status: 400,
        body: { error_code: "INVALID_PARAMETER_VALUE", message: expect.stringContaining("Cannot write") },
        content: expect.any(String),
      },
    ]);
    // Exactly one of the two is there.
    const [file, inside] = await Promise.all([current(folder), current(`${folder}/weights.bin`)]);
    expect([file.status, inside.status].sort()).toEqual([200, 404]);
  });
});
