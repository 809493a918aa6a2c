// PostgreSQL's group commit (src/db/postgresGroupCommit.ts) without a server: what one group sends,
// in which order, where each write's RETURNING rows go, and which failures run members again.
import pg from "pg";
import { describe, expect, it } from "vitest";
import { GroupFailed, PostgresGroupCommit } from "../../src/db/postgresGroupCommit.ts";
import type { GroupMember } from "../../src/db/postgresGroupCommit.ts";
import { PreparedStatements } from "../../src/db/preparedStatements.ts";
import { quoteLiteral } from "../../src/db/sql.ts";
import type { DeferredWrite } from "../../src/db/sql.ts";

/** A pool connection that records what it is sent and answers one result per statement. */
function fakeConnection(answer?: (text: string) => unknown) {
  const sent: string[] = [];
  let released = 0;
  const connection = {
    query(query: string | { text: string }) {
      const text = typeof query === "string" ? query : query.text;
      sent.push(text);
      const custom = answer?.(text);
      if (custom instanceof Error) return Promise.reject(custom);
      if (custom !== undefined) return Promise.resolve(custom);
      const statements = text.split(";\n");
      return Promise.resolve(statements.map((s) => ({ rows: [{ statement: s }] })));
    },
    release() {
      released++;
    },
  } as unknown as pg.PoolClient;
  return { connection, sent, released: () => released };
}

function committer(connection: pg.PoolClient, connects = { count: 0 }) {
  // A pool nobody reaches: statements are never known to prepare, so they are sent as text.
  const statements = new PreparedStatements(
    { query: () => new Promise(() => undefined) } as never,
    quoteLiteral,
  );
  return new PostgresGroupCommit({
    connect: () => {
      connects.count++;
      return Promise.resolve(connection);
    },
    types: pg.types,
    statements,
    begin: ["BEGIN", "GATE"],
    appendLock: "SELECT 'append lock'",
    notify: "SELECT 'notify'",
  });
}

const member = (key: string, rows?: (rows: never[]) => void): GroupMember & { writes: DeferredWrite[] } => ({
  key,
  statements: [{ sql: "SELECT 'lock', ?", params: [key] }, "GUARD " + key],
  writes: [
    { sql: "INSERT INTO events VALUES (?) RETURNING position", params: [key], onRows: rows },
    { sql: "UPDATE views SET x = ?", params: [key], onRows: undefined },
  ],
});

describe("PostgreSQL group commit", () => {
  it("sends the members ready together as one transaction, their streams locked in one order", async () => {
    const { connection, sent, released } = fakeConnection();
    const connects = { count: 0 };
    const groups = committer(connection, connects);
    const rows: Record<string, unknown> = {};
    // Submitted out of order in one turn: one transaction, members ordered by their stream.
    await Promise.all(["c", "a", "b"].map((key) => groups.commit(member(key, (r) => (rows[key] = r)))));
    expect(connects.count).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.split(";\n")).toEqual([
      "BEGIN",
      "GATE",
      "SELECT 'lock', 'a'",
      "GUARD a",
      "SELECT 'lock', 'b'",
      "GUARD b",
      "SELECT 'lock', 'c'",
      "GUARD c",
      "SELECT 'append lock'",
      "INSERT INTO events VALUES ('a') RETURNING position",
      "UPDATE views SET x = 'a'",
      "INSERT INTO events VALUES ('b') RETURNING position",
      "UPDATE views SET x = 'b'",
      "INSERT INTO events VALUES ('c') RETURNING position",
      "UPDATE views SET x = 'c'",
      "SELECT 'notify'",
      "COMMIT",
    ]);
    // Each write's RETURNING rows are its own statement's result.
    for (const key of ["a", "b", "c"])
      expect(rows[key]).toEqual([{ statement: `INSERT INTO events VALUES ('${key}') RETURNING position` }]);
    expect(released()).toBe(1);
  });

  it("sends what becomes ready while a group is on its way as the next group", async () => {
    let finish!: () => void;
    const first = new Promise<void>((resolve) => (finish = resolve));
    const { connection, sent } = fakeConnection((text) =>
      sent.length === 1 ? first.then(() => text.split(";\n").map(() => ({ rows: [] }))) : undefined,
    );
    const groups = committer(connection);
    const one = groups.commit(member("a"));
    await new Promise((resolve) => setImmediate(resolve));
    const later = ["b", "c"].map((key) => groups.commit(member(key)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toHaveLength(1);
    finish();
    await Promise.all([one, ...later]);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatch(/'b'[^]*'c'[^]*COMMIT$/);
  });

  it("rolls back a group PostgreSQL refused and has every member run again on its own", async () => {
    const refused = new pg.DatabaseError("division by zero", 0, "error");
    refused.code = "22012";
    const { connection, sent, released } = fakeConnection((text) =>
      text.startsWith("BEGIN") ? refused : undefined,
    );
    const groups = committer(connection);
    const outcomes = await Promise.allSettled(["a", "b"].map((key) => groups.commit(member(key))));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe("rejected");
      const reason = (outcome as PromiseRejectedResult).reason as GroupFailed;
      expect(reason).toBeInstanceOf(GroupFailed);
      expect(reason.cause).toBe(refused);
    }
    expect(sent.at(-1)).toBe("ROLLBACK; DEALLOCATE ALL");
    expect(released()).toBe(1);
  });

  it("fails a lone member with its own error, as if there were no group", async () => {
    const refused = new pg.DatabaseError("division by zero", 0, "error");
    const { connection } = fakeConnection((text) => (text.startsWith("BEGIN") ? refused : undefined));
    await expect(committer(connection).commit(member("a"))).rejects.toBe(refused);
  });

  it("never runs members again when the connection failed: their commit may have happened", async () => {
    const lost = new Error("Connection terminated unexpectedly");
    const { connection } = fakeConnection((text) => (text.startsWith("BEGIN") ? lost : undefined));
    const groups = committer(connection);
    const outcomes = await Promise.allSettled(["a", "b"].map((key) => groups.commit(member(key))));
    expect(outcomes.map((o) => (o as PromiseRejectedResult).reason)).toEqual([lost, lost]);
  });

  it("fails every member when no connection can be had", async () => {
    const groups = new PostgresGroupCommit({
      connect: () => Promise.reject(new Error("too many clients")),
      types: pg.types,
      statements: new PreparedStatements({} as never, quoteLiteral),
      begin: ["BEGIN"],
      appendLock: "SELECT 1",
      notify: "SELECT 2",
    });
    const outcomes = await Promise.allSettled(["a", "b"].map((key) => groups.commit(member(key))));
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected"]);
    // The committer is free again: the next group is sent.
    await expect(groups.commit(member("c"))).rejects.toThrow("too many clients");
  });
});
