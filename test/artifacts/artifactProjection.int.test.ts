// The artifact projection against real databases: written inline with the command, read back for
// decisions (duplicates are caught from the projection), and reproduced exactly by a rebuild.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { Database } from "../../src/db/database.ts";
import { AlreadyExistsError, InvalidStateError } from "../../src/domain/errors.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { actor, commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

const SHA = (c: string) => c.repeat(64);

describe.each(await providers())("artifact projection on %s", (provider) => {
  let db: Database;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await openTestDatabase(provider));
  });
  afterAll(async () => close?.());

  const add = (path: string, sha256: string, size = 3_000_000_000) =>
    ({
      type: "AddModelVersionArtifact",
      data: { version: 1, path, role: "model", size, sha256, mediaType: "application/onnx" },
    }) as const;

  it("projects artifacts inline, decides on them, and rebuilds them identically", async () => {
    const deps = commandDeps(db);
    await createModelNamed(deps, "m-art", "artful");
    await run(deps, live("artful"), {
      type: "CreateModelVersion",
      data: {
        source: "s",
        runId: null,
        description: "",
        tags: [],
        params: {},
        metrics: [],
        pendingArtifacts: true,
      },
    });
    await run(deps, live("artful"), add("model.onnx", SHA("a")));
    await run(deps, live("artful"), add("tokenizer/vocab.txt", SHA("b"), 12));

    const duplicate = await executeCommand(deps, live("artful"), add("model.onnx", SHA("c")), actor);
    expect(duplicate).toBeInstanceOf(AlreadyExistsError);

    await run(deps, live("artful"), { type: "FinalizeModelVersion", data: { version: 1 } });
    expect(await executeCommand(deps, live("artful"), add("late.bin", SHA("d")), actor)).toBeInstanceOf(
      InvalidStateError,
    );

    const rows = () =>
      db.reader.modelVersionArtifact.findMany({
        where: { modelId: "m-art", version: 1 },
        orderBy: { path: "asc" },
      });
    const before = await rows();
    expect(before.map((r) => [r.path, r.sha256, r.size, r.createdBy])).toEqual([
      ["model.onnx", SHA("a"), 3_000_000_000n, "tester"],
      ["tokenizer/vocab.txt", SHA("b"), 12n, "tester"],
    ]);
    expect(
      (
        await db.reader.modelVersion.findUniqueOrThrow({
          where: { modelId_version: { modelId: "m-art", version: 1 } },
        })
      ).status,
    ).toBe("READY");

    await rebuildProjections(db);
    expect(await rows()).toEqual(before);
    expect(
      (
        await db.reader.modelVersion.findUniqueOrThrow({
          where: { modelId_version: { modelId: "m-art", version: 1 } },
        })
      ).status,
    ).toBe("READY");
  });
});
