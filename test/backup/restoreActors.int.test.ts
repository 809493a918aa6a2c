// A PostgreSQL backup restored into SQLite: jsonb gives a credential's keys back in its own order
// (shortest first), not the order appends write them in. The restored registry must still hold one
// row of event_actors per actor once the same actors write again, and its chains must verify.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { EventActor } from "../../src/access/actor.ts";
import { SYSTEM_RIGHTS } from "../../src/access/modelAccess.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { CommandDeps, ModelRef } from "../../src/application/executeCommand.ts";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import { backup } from "../../src/backup/backup.ts";
import { restore } from "../../src/backup/restore.ts";
import { openDatabase } from "../../src/db/database.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { userActor } from "../support/actors.ts";
import { createTestDatabase, openTestDatabase, providers } from "../support/databases.ts";

const withPostgres = (await providers()).includes("postgresql");

const tokenUser = userActor("heidi");
const jwtUser: EventActor = {
  ...userActor("ivan"),
  credential: { kind: "jwt", jti: "jti-ivan", issuer: "https://idp.example" },
};

async function act(deps: CommandDeps, actor: EventActor, ref: ModelRef, command: RegisteredModelCommand) {
  const outcome = await executeCommand(deps, ref, command, {
    actor,
    correlationId: null,
    rights: SYSTEM_RIGHTS,
  });
  if (outcome instanceof Error) throw outcome;
}

const tag = (key: string): RegisteredModelCommand => ({
  type: "SetRegisteredModelTag",
  data: { key, value: "v" },
});

describe.runIf(withPostgres)("a PostgreSQL backup restored into SQLite", () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it(
    "keeps one row per actor when the same actors write again, and verifies",
    { timeout: 60_000 },
    async () => {
      const source = await openTestDatabase("postgresql");
      cleanup.push(() => source.close());
      const work = mkdtempSync(path.join(tmpdir(), "registro-restore-actors-"));
      cleanup.push(() => rmSync(work, { recursive: true, force: true }));
      const deps = { db: source.db, clock: () => new Date() };
      await act(
        deps,
        tokenUser,
        { kind: "new", modelId: "m-actors" },
        {
          type: "CreateRegisteredModel",
          data: { modelId: "m-actors", name: "actors", description: "", tags: [] },
        },
      );
      await act(deps, jwtUser, { kind: "live", name: "actors" }, tag("a"));

      const dir = path.join(work, "backup");
      await backup({ database: source.config, blobDir: path.join(work, "source-blobs"), to: dir });
      // The precondition: the backup holds the credentials in jsonb's order, not the appends' one.
      const backedUp = readFileSync(path.join(dir, "events.ndjson"), "utf8");
      expect(backedUp).toContain('{"kind":"token","scopes":["write"],"tokenId":"token-heidi"}');
      expect(backedUp).toContain('{"jti":"jti-ivan","kind":"jwt","issuer":"https://idp.example"}');

      const target = await createTestDatabase("sqlite");
      cleanup.push(() => target.destroy());
      await restore({ from: dir, database: target.config, blobDir: path.join(work, "target-blobs") });
      const db = openDatabase(target.config);
      cleanup.push(() => db.close());
      const restored = { db, clock: () => new Date() };
      await act(restored, tokenUser, { kind: "live", name: "actors" }, tag("b"));
      await act(restored, jwtUser, { kind: "live", name: "actors" }, tag("c"));

      const rows = await db.query<{ actor_id: string; n: number | string }>(
        "SELECT actor_id, COUNT(*) AS n FROM event_actors GROUP BY actor_id ORDER BY actor_id",
      );
      expect(rows.map((r) => [r.actor_id, Number(r.n)])).toEqual([
        ["user-heidi", 1],
        ["user-ivan", 1],
      ]);
      expect(await verifyChains(db)).toMatchObject({ ok: true, events: 4 });
    },
  );
});
