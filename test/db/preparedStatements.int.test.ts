// PostgreSQL (#18): model commands run their fixed statements as prepared statements (SQL PREPARE and
// EXECUTE inside their simple-query batches, src/db/preparedStatements.ts) and reach a model they
// name through the stream the name led to last. Neither may change what a command does: a migration
// that changes a prepared statement's columns, a batch that fails after its PREPAREs, and a name that
// came to mean another model must all leave every command with the answer it had before.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_RIGHTS } from "../../src/access/modelAccess.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import type { CommandDeps, CommandOutcome } from "../../src/application/executeCommand.ts";
import { PG_WRITE_CONNECTIONS } from "../../src/db/database.ts";
import { AlreadyExistsError, DomainError } from "../../src/domain/errors.ts";
import { userActor } from "../support/actors.ts";
import { createModel, createVersion } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

const postgres = (await providers()).includes("postgresql");
const metadata = { actor: userActor("tester"), correlationId: null, rights: SYSTEM_RIGHTS };

describe.skipIf(!postgres)("prepared statements and remembered names on PostgreSQL", () => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let deps: CommandDeps;
  beforeAll(async () => {
    t = await openTestDatabase("postgresql");
    deps = { db: t.db, clock: () => new Date() };
  });
  afterAll(() => t.close());

  const run = (name: string, command: Parameters<typeof executeCommand>[2]) =>
    executeCommand(deps, { kind: "live", name }, command, metadata);
  const ok = (outcome: CommandOutcome | DomainError): CommandOutcome => {
    if (outcome instanceof DomainError) throw outcome;
    return outcome;
  };
  /** Eight commands at once, one per model, `rounds` times: every write connection gets used. */
  const versionsOnEight = async (models: readonly string[], rounds: number) => {
    for (let i = 0; i < rounds; i++)
      await Promise.all(models.map(async (name) => ok(await run(name, createVersion()))));
  };
  const models = Array.from({ length: 8 }, (_, i) => `prepared-${i}`);

  it("commands keep working after a migration changes the columns of a prepared statement", async () => {
    for (const name of models)
      ok(await executeCommand(deps, { kind: "new", modelId: randomUUID() }, createModel(name), metadata));
    // Enough rounds that every connection has prepared the model read (`SELECT *`) and used it.
    await versionsOnEight(models, 3);
    const owner = new pg.Client({ connectionString: t.config.provider === "postgresql" ? t.config.url : "" });
    await owner.connect();
    try {
      await owner.query("ALTER TABLE registered_models ADD COLUMN prepared_test_extra integer");
      // Each connection's prepared `SELECT * FROM registered_models` now fails with "cached plan
      // must not change result type"; the write runs again with its statements prepared anew.
      await versionsOnEight(models, 2);
      await owner.query("ALTER TABLE registered_models DROP COLUMN prepared_test_extra");
      await versionsOnEight(models, 1);
    } finally {
      await owner.end();
    }
    const versions = await t.db.query<{ n: string }>(
      "SELECT COUNT(*) AS n FROM model_versions WHERE model_id IN (SELECT id FROM registered_models WHERE name LIKE 'prepared-%')",
    );
    expect(Number(versions[0]?.n)).toBe(8 * 6);
  });

  it("commands keep working after their connections' statements were deallocated behind their back", async () => {
    await versionsOnEight(models, 2);
    // Every write connection at once (a write holds its connection until all eight have one), each
    // dropping its session's statements as a pooler resetting sessions would.
    let entered = 0;
    let all!: () => void;
    const allIn = new Promise<void>((resolve) => (all = resolve));
    await Promise.all(
      Array.from({ length: PG_WRITE_CONNECTIONS }, () =>
        t.db.write(
          async (tx) => {
            await tx.query("DEALLOCATE ALL");
            if (++entered === PG_WRITE_CONNECTIONS) all();
            await allIn;
          },
          { concurrent: true },
        ),
      ),
    );
    // Each connection's next EXECUTE finds no statement; the write runs again and prepares them.
    await versionsOnEight(models, 3);
  });

  it("a write whose batch fails leaves its connection usable for the next ones", async () => {
    // Creators of one name race: the unique index on live names stops all but one in their last
    // batch, after its PREPAREs ran; those writes roll back, and their connections serve again.
    for (let round = 0; round < 3; round++) {
      const name = `contested-${round}`;
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () =>
          executeCommand(deps, { kind: "new", modelId: randomUUID() }, createModel(name), metadata),
        ),
      );
      expect(outcomes.filter((o) => !(o instanceof DomainError))).toHaveLength(1);
      expect(outcomes.filter((o) => o instanceof AlreadyExistsError)).toHaveLength(7);
    }
    await versionsOnEight(models, 2);
  });

  it("a command by a name that came to mean another model reaches that model", async () => {
    const first = ok(
      await executeCommand(
        deps,
        { kind: "new", modelId: randomUUID() },
        createModel("moving-name"),
        metadata,
      ),
    );
    ok(await run("moving-name", createVersion())); // remembers moving-name → first
    ok(await run("moving-name", { type: "RenameRegisteredModel", data: { newName: "moved-away" } }));
    const second = ok(
      await executeCommand(
        deps,
        { kind: "new", modelId: randomUUID() },
        createModel("moving-name"),
        metadata,
      ),
    );
    const byName = ok(await run("moving-name", createVersion()));
    expect(byName.modelId).toBe(second.modelId);
    expect(byName.views.model?.lastVersion).toBe(1);
    const old = ok(await run("moved-away", createVersion()));
    expect(old.modelId).toBe(first.modelId);
    expect(old.views.model?.lastVersion).toBe(2);
    // Deleted: the name leads nowhere live any more.
    ok(await run("moved-away", { type: "DeleteRegisteredModel", data: {} }));
    expect(await run("moved-away", createVersion())).toBeInstanceOf(DomainError);
  });
});
