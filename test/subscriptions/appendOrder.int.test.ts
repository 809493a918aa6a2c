// PostgreSQL: positions become visible in order (appends are serialised), and every commit announces
// its newest position with NOTIFY, only after it is visible. Tailing by position relies on both.
import { storedHash } from "../../src/store/eventCodec.ts";
import { SYSTEM_RIGHTS } from "../../src/access/modelAccess.ts";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { APPEND_CHANNEL } from "../../src/db/database.ts";
import { readAll } from "../../src/store/eventStore.ts";
import { createModel } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { userActor } from "../support/actors.ts";

const postgres = (await providers()).includes("postgresql");
const metadata = { actor: userActor("tester"), correlationId: null, rights: SYSTEM_RIGHTS };
const tagCommand = (i: number) => ({
  type: "SetRegisteredModelTag" as const,
  data: { key: `k${i}`, value: `v${i}` },
});

describe.skipIf(!postgres)("event log on PostgreSQL", () => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let deps: CommandDeps;
  beforeAll(async () => {
    t = await openTestDatabase("postgresql");
    deps = { db: t.db, clock: () => new Date() };
  });
  afterAll(() => t.close());

  it("a tailer reading by position sees every event of concurrent writers (no late commit is skipped)", async () => {
    const models = Array.from({ length: 8 }, (_, i) => `order-${i}`);
    for (const name of models)
      await executeCommand(deps, { kind: "new", modelId: randomUUID() }, createModel(name), metadata);
    const start = (await readAll(t.db, 0, 1000)).at(-1)!.position;

    let writing = true;
    const seen: number[] = [];
    const tailer = (async () => {
      let last = start;
      for (;;) {
        const stillWriting = writing;
        const batch = await readAll(t.db, last, 200);
        for (const event of batch) seen.push((last = event.position));
        if (!stillWriting && batch.length === 0) return;
      }
    })();
    await Promise.all(
      models.map(async (name) => {
        for (let i = 0; i < 25; i++)
          await executeCommand(deps, { kind: "live", name }, tagCommand(i), metadata);
      }),
    );
    writing = false;
    await tailer;

    const all = (await readAll(t.db, start, 10_000)).map((e) => e.position);
    expect(all).toHaveLength(200);
    expect(seen).toEqual(all);
  });

  it("announces each commit's newest position on the notification channel, after it is visible, and never for a rollback", async () => {
    const listener = new pg.Client({ connectionString: (t.config as { url: string }).url });
    await listener.connect();
    const notifications: { position: number; visible: number }[] = [];
    listener.on("notification", (message) => {
      void readAll(t.db, Number(message.payload) - 1, 1).then((rows) =>
        notifications.push({ position: Number(message.payload), visible: rows[0]?.position ?? -1 }),
      );
    });
    await listener.query(`LISTEN ${APPEND_CHANNEL}`);
    try {
      const outcome = await executeCommand(
        deps,
        { kind: "new", modelId: randomUUID() },
        createModel("notified"),
        metadata,
      );
      if (!("events" in outcome)) throw new Error("command failed");
      const position = outcome.events.at(-1)!.position;
      await expect(
        t.db.write(async (tx) => {
          await tx.execute(
            "INSERT INTO events (stream_id, revision, type, schema_version, data, actor, occurred_at, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ["rolled-back", 1, "X", 1, "{}", "x", new Date(), storedHash("0".repeat(64))],
          );
          throw new Error("roll back");
        }),
      ).rejects.toThrow("roll back");
      const deadline = Date.now() + 5_000;
      while (notifications.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 200)); // a notification for the rollback would have arrived by now
      expect(notifications).toEqual([{ position, visible: position }]);
    } finally {
      await listener.end();
    }
  });
});
