// What PostgreSQL write paths send, for tests that count round trips (src/db/database.ts,
// src/db/postgresGroupCommit.ts): each pg query call is one round trip. And two server instances on
// one database, for tests of what one instance remembers while the other writes.
import pg from "pg";
import { vi } from "vitest";
import type { CommandDeps, executeCommand } from "../../src/application/executeCommand.ts";
import { openDatabase } from "../../src/db/database.ts";
import { DomainError } from "../../src/domain/errors.ts";
import { commandDeps } from "./application.ts";
import { openTestDatabase } from "./databases.ts";

/** The text of a pg query call's first argument (a string or a query config). */
export const batchText = (args: readonly unknown[]): string =>
  typeof args[0] === "string" ? args[0] : String((args[0] as { text?: unknown }).text);

/**
 * Every statement batch a pg client sends while `work` runs (one call is one round trip), but the
 * trials of statements for preparing, which run beside the commands, once per statement text.
 */
export async function batches(work: () => Promise<unknown>): Promise<string[]> {
  const spy = vi.spyOn(pg.Client.prototype, "query");
  try {
    await work();
    return spy.mock.calls.map(batchText).filter((text) => !text.startsWith("PREPARE registro_try_"));
  } finally {
    spy.mockRestore();
  }
}

/** The version a createModelVersion outcome registered (fails the test on anything else). */
export const versionOf = (outcome: Awaited<ReturnType<typeof executeCommand>>): number => {
  if (outcome instanceof DomainError) throw outcome;
  const [event] = outcome.events;
  if (event?.type !== "ModelVersionCreated") throw new Error(`unexpected ${event?.type}`);
  return event.data.version;
};

/** Lets the prepared-statement trials (one background query per new statement text) finish. */
export const settlePrepares = () => new Promise((resolve) => setTimeout(resolve, 200));

/**
 * A PostgreSQL test database and two instances on it, each with its own pools and cache: `a` runs
 * commands through the test database's handle, `b` through another server instance's.
 */
export async function twoInstances(): Promise<{
  t: Awaited<ReturnType<typeof openTestDatabase>>;
  a: CommandDeps;
  b: CommandDeps;
  close: () => Promise<void>;
}> {
  const t = await openTestDatabase("postgresql");
  const second = openDatabase(t.config);
  return {
    t,
    a: commandDeps(t.db),
    b: commandDeps(second),
    close: async () => {
      await second.close();
      await t.close();
    },
  };
}
