// Listing one level of the MLflow staging area (src/mlflow/stagedFiles.ts, listStaged) names every
// folder directly inside, however many folders lie deeper down in the first of them: the listing
// once took the first 10,000 distinct folders below and kept their first segments, so a folder
// holding 10,000 sub-folders hid its later siblings.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { placeholders } from "../../src/db/sql.ts";
import { MAX_LISTED, dirOf, listStaged } from "../../src/mlflow/stagedFiles.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

/** Records staged files directly (their blobs are never read here), a few hundred per statement. */
async function stage(db: Database, paths: readonly string[]): Promise<void> {
  const at = new Date("2026-12-07T00:00:00Z");
  for (let i = 0; i < paths.length; i += 500) {
    const chunk = paths.slice(i, i + 500);
    await db.write((tx) =>
      tx.execute(
        `INSERT INTO "mlflow_artifact_files" ("path", "dir", "sha256", "size", "media_type", "created_at", "created_by")
         VALUES ${chunk.map(() => `(${placeholders(7)})`).join(", ")}`,
        chunk.flatMap((path) => [
          path,
          dirOf(path),
          "0".repeat(64),
          1,
          "application/octet-stream",
          at,
          "tester",
        ]),
      ),
    );
  }
}

describe.each(await providers())("MLflow staging folder listing on %s", (provider) => {
  let db: Database;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ db, close } = await openTestDatabase(provider));
    const deep = Array.from({ length: MAX_LISTED + 10 }, (_, i) => `wide/a/d${String(i).padStart(5, "0")}/f`);
    await stage(db, [
      ...deep,
      // `a` is a folder with files of its own too; `a-x` and `a.y` sort between `a` and `a/…`.
      "wide/a/own",
      "wide/a-x/f",
      "wide/a.y/g/f",
      "wide/b/f",
      "wide/top",
      // `c` holds no file of its own: `c-/…` is met first, yet `c` is listed before it.
      "wide/c-/f",
      "wide/c/d/f",
      "widening/f",
      "root-file",
    ]);
  });
  afterAll(() => close());

  it("names every folder directly inside, after one holding thousands of folders", async () => {
    expect(await listStaged(db, "wide")).toEqual({
      files: [expect.objectContaining({ path: "wide/top", size: 1 })],
      dirs: ["a", "a-x", "a.y", "b", "c", "c-"],
    });
  });

  it("lists the root and a folder's own files", async () => {
    expect((await listStaged(db, "")).dirs).toEqual(["wide", "widening"]);
    expect((await listStaged(db, "")).files.map((f) => f.path)).toEqual(["root-file"]);
    const inside = await listStaged(db, "wide/a");
    expect(inside.files.map((f) => f.path)).toEqual(["wide/a/own"]);
    expect(inside.dirs).toHaveLength(MAX_LISTED);
    expect(inside.dirs.slice(0, 2)).toEqual(["d00000", "d00001"]);
  });
});
