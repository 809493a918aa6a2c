// The caller-scoped reader against real databases: what a caller without a default permission
// reads through it is narrowed to the models it (or one of its teams) holds a grant on, through
// every kind of query and table, and the narrowing client is only built when something is read.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessRights } from "../../src/access/modelAccess.ts";
import type { Caller } from "../../src/access/principal.ts";
import { scopedReader } from "../../src/access/scopedReader.ts";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import type { Db } from "../../src/db/database.ts";
import type { Grantee } from "../../src/domain/modelPermissions.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

const caller: Caller = {
  principal: {
    id: "principal-reader",
    kind: "SERVICE_ACCOUNT",
    displayName: "Reader",
    email: null,
    role: "MEMBER",
    teamIds: ["team-readers"],
  },
  credential: { kind: "token", tokenId: "token-reader", scopes: ["read", "write"] },
};

describe.each(await providers())("caller-scoped reader on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let deps: CommandDeps;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
    deps = commandDeps(t.db);
    const grant = (name: string, grantee: Grantee) =>
      run(deps, live(name), {
        type: "GrantModelPermission",
        data: { grantee, permission: "READ" },
      });
    for (const [id, name] of [
      ["model-direct", "granted-directly"],
      ["model-team", "granted-to-team"],
      ["model-hidden", "hidden"],
    ] as const) {
      await createModelNamed(deps, id, name);
      await run(deps, live(name), createVersion());
      await run(deps, live(name), createVersion());
    }
    await grant("granted-directly", { kind: "PRINCIPAL", id: caller.principal.id });
    await grant("granted-to-team", { kind: "TEAM", id: "team-readers" });
    // A grant to someone else shows nothing to this caller.
    await grant("hidden", { kind: "PRINCIPAL", id: "someone-else" });
  });
  afterAll(async () => {
    await t?.close();
  });

  const privateModels = () => scopedReader(t.db.reader, accessRights(caller, { defaultPermission: null }));

  it("narrows every read to the models the caller or its teams hold a grant on", async () => {
    const reader = privateModels();
    const names = await reader.registeredModel.findMany({ select: { name: true }, orderBy: { name: "asc" } });
    expect(names.map((m) => m.name)).toEqual(["granted-directly", "granted-to-team"]);
    expect(await reader.registeredModel.findFirst({ where: { name: "hidden" } })).toBeNull();
    expect(await reader.registeredModel.findUnique({ where: { id: "model-hidden" } })).toBeNull();
    expect(await reader.registeredModel.findUnique({ where: { id: "model-team" } })).toMatchObject({
      name: "granted-to-team",
    });
    expect(await reader.modelVersion.count()).toBe(4);
    expect(await reader.modelVersion.count({ where: { modelId: "model-hidden" } })).toBe(0);
    expect(await reader.modelPermission.count()).toBe(2);
    const everyStream = { streamId: { in: ["model-direct", "model-team", "model-hidden"] } };
    const streams = await reader.event.findMany({
      where: everyStream,
      select: { streamId: true },
      distinct: ["streamId"],
    });
    expect(streams.map((e) => e.streamId).sort()).toEqual(["model-direct", "model-team"]);
    expect(await reader.event.count({ where: { streamId: "model-hidden" } })).toBe(0);
    expect(await t.db.reader.event.count({ where: { streamId: "model-hidden" } })).toBeGreaterThan(0);
    // What the GraphQL layer relies on: delegates are found with `in`, and the client's own
    // methods work through it.
    expect("registeredModel" in reader).toBe(true);
    expect(await reader.$queryRawUnsafe<{ one: number | bigint }[]>("SELECT 1 AS one")).toEqual([
      { one: provider === "sqlite" ? 1n : 1 },
    ]);
  });

  it("narrows event reads by position, by stream and revision, and by a list of both", async () => {
    const reader = privateModels();
    const [hidden, direct] = await Promise.all(
      ["model-hidden", "model-direct"].map((streamId) =>
        t.db.reader.event.findFirstOrThrow({ where: { streamId }, select: { position: true } }),
      ),
    );
    expect(await reader.event.findUnique({ where: { position: hidden!.position } })).toBeNull();
    expect(await reader.event.findUnique({ where: { position: direct!.position } })).not.toBeNull();
    const byPositions = await reader.event.findMany({
      where: { position: { in: [hidden!.position, direct!.position] } },
      select: { streamId: true },
    });
    expect(byPositions).toEqual([{ streamId: "model-direct" }]);
    const key = (streamId: string) => ({ streamId_revision: { streamId, revision: 1 } });
    // Looked up in the same tick, as a page's previous hashes are: each answers for its own stream.
    const [hiddenFirst, teamFirst] = await Promise.all([
      reader.event.findUnique({ where: key("model-hidden"), select: { streamId: true } }),
      reader.event.findUnique({ where: key("model-team"), select: { streamId: true } }),
    ]);
    expect(hiddenFirst).toBeNull();
    expect(teamFirst).toEqual({ streamId: "model-team" });
    const either = await reader.event.findMany({
      where: {
        OR: [
          { streamId: "model-hidden", revision: 1 },
          { streamId: "model-direct", revision: 1 },
        ],
      },
      select: { streamId: true },
    });
    expect(either).toEqual([{ streamId: "model-direct" }]);
  });

  it("refuses an event read that names neither streams nor positions", async () => {
    await expect(privateModels().event.count()).rejects.toThrow(/must name its streams or its positions/);
    await expect(privateModels().event.findMany({ where: { revision: 1 } })).rejects.toThrow(
      /must name its streams or its positions/,
    );
  });

  it("gives a caller who reads every model the shared reader itself", () => {
    expect(scopedReader(t.db.reader, accessRights(caller, { defaultPermission: "READ" }))).toBe(t.db.reader);
  });

  it("builds its narrowing client on first use, once", async () => {
    let built = 0;
    const counting = Object.create(t.db.reader, {
      $extends: {
        value: (...args: Parameters<Db["$extends"]>) => {
          built++;
          return t.db.reader.$extends(...args);
        },
      },
    }) as Db;
    const reader = scopedReader(counting, accessRights(caller, { defaultPermission: null }));
    expect(built).toBe(0);
    expect(await reader.registeredModel.count()).toBe(2);
    expect(await reader.modelVersion.count()).toBe(4);
    expect(built).toBe(1);
  });

  it("checks the streams of the event reads made in the same turn with one query", async () => {
    let checks = 0;
    const shared = t.db.reader;
    const counting = Object.create(shared, {
      $extends: { value: (...args: Parameters<Db["$extends"]>) => shared.$extends(...args) },
      // Only the readability checks read models through the reader given to scopedReader itself.
      registeredModel: {
        value: {
          findMany: (args: Parameters<Db["registeredModel"]["findMany"]>[0]) => {
            checks++;
            return shared.registeredModel.findMany(args);
          },
        },
      },
    }) as Db;
    const reader = scopedReader(counting, accessRights(caller, { defaultPermission: null }));
    const streams = ["model-direct", "model-hidden", "model-team", "model-direct"];
    const firsts = await Promise.all(
      streams.map((streamId) =>
        reader.event.findUnique({
          where: { streamId_revision: { streamId, revision: 1 } },
          select: { streamId: true },
        }),
      ),
    );
    expect(firsts.map((e) => e?.streamId ?? null)).toEqual([
      "model-direct",
      null,
      "model-team",
      "model-direct",
    ]);
    expect(checks).toBe(1);
  });

  // Last: it grants a third model.
  it("sees a grant made while the reader lives (a subscription's reader lives for hours)", async () => {
    await createModelNamed(deps, "model-later", "granted-later");
    const reader = privateModels();
    expect(await reader.event.count({ where: { streamId: "model-later" } })).toBe(0);
    await run(deps, live("granted-later"), {
      type: "GrantModelPermission",
      data: { grantee: { kind: "PRINCIPAL", id: caller.principal.id }, permission: "READ" },
    });
    expect(await reader.event.count({ where: { streamId: "model-later" } })).toBe(2);
  });
});
