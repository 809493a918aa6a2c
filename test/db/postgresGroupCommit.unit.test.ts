// PostgreSQL's group commit (src/db/postgresGroupCommit.ts) without a server: what one group sends,
// in which order, where each write's RETURNING rows go, and which failures run members again.
import pg from "pg";
import { describe, expect, it } from "vitest";
import {
  GROUP_STALL_MS,
  GROUP_LOCK_TIMEOUT_MS,
  GroupFailed,
  MAX_GROUP_BYTES,
  PostgresGroupCommit,
} from "../../src/db/postgresGroupCommit.ts";
import type { GroupMember } from "../../src/db/postgresGroupCommit.ts";
import { PreparedStatements } from "../../src/db/preparedStatements.ts";
import { STREAM_LOCK_CLASS, quoteLiteral } from "../../src/db/sql.ts";
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
  streams: [key],
  statements: ["GUARD " + key],
  writes: [
    { sql: "INSERT INTO events VALUES (?) RETURNING position", params: [key], onRows: rows },
    { sql: "UPDATE views SET x = ?", params: [key], onRows: undefined },
  ],
});

describe("PostgreSQL group commit", () => {
  it("sends the members ready together as one transaction: every stream locked at once, then each member in turn", async () => {
    const { connection, sent, released } = fakeConnection();
    const connects = { count: 0 };
    const groups = committer(connection, connects);
    const rows: Record<string, unknown> = {};
    // Submitted in one turn, two on one stream: one transaction; the locks in one statement (taken
    // in the order of their keys by PostgreSQL), each stream once; then the members as they came.
    await Promise.all(
      ["c", "a", "c"].map((key, i) => groups.commit(member(key, (r) => (rows[`${key}${i}`] = r)))),
    );
    expect(connects.count).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.split(";\n")).toEqual([
      "BEGIN",
      "GATE",
      // A stream lock held for long fails the group after this, and its members run alone.
      `SET LOCAL lock_timeout = ${GROUP_LOCK_TIMEOUT_MS}`,
      `SELECT pg_advisory_xact_lock('${STREAM_LOCK_CLASS}', h) FROM (SELECT DISTINCT hashtext(id) AS h FROM unnest(ARRAY['c', 'a']::text[]) AS ids(id) ORDER BY h) AS locks`,
      // Not for the append lock: every commit takes it.
      "SET LOCAL lock_timeout = DEFAULT",
      "SELECT 'append lock'",
      "GUARD c",
      "INSERT INTO events VALUES ('c') RETURNING position",
      "UPDATE views SET x = 'c'",
      "GUARD a",
      "INSERT INTO events VALUES ('a') RETURNING position",
      "UPDATE views SET x = 'a'",
      "GUARD c",
      "INSERT INTO events VALUES ('c') RETURNING position",
      "UPDATE views SET x = 'c'",
      "SELECT 'notify'",
      "COMMIT",
    ]);
    // Each write's RETURNING rows are its own statement's result.
    for (const key of ["c0", "a1", "c2"])
      expect(rows[key]).toEqual([
        { statement: `INSERT INTO events VALUES ('${key[0]}') RETURNING position` },
      ]);
    expect(released()).toBe(1);
  });

  it("finds each write's rows among the results when PREPAREs go ahead of the statements", async () => {
    const { connection, sent } = fakeConnection();
    // A pool on which every statement prepares: after the first group, they run as EXECUTE.
    const statements = new PreparedStatements({ query: () => Promise.resolve() } as never, quoteLiteral);
    const groups = new PostgresGroupCommit({
      connect: () => Promise.resolve(connection),
      types: pg.types,
      statements,
      begin: ["BEGIN"],
      appendLock: "SELECT 'append lock'",
      notify: "SELECT 'notify'",
    });
    await Promise.all(["a", "b"].map((key) => groups.commit(member(key))));
    await new Promise((resolve) => setImmediate(resolve));
    const rows: Record<string, unknown> = {};
    await Promise.all(["a", "b"].map((key) => groups.commit(member(key, (r) => (rows[key] = r)))));
    const second = sent[1]!.split(";\n");
    expect(second.filter((text) => text.startsWith("PREPARE ")).length).toBeGreaterThanOrEqual(3);
    for (const key of ["a", "b"]) {
      const [row] = rows[key] as { statement: string }[];
      // The EXECUTE of the insert, with this member's value, not the PREPARE before it.
      expect(row?.statement).toMatch(new RegExp(`^EXECUTE registro_s\\d+\\('${key}'\\)$`));
      expect(second[second.indexOf(row!.statement) - 1]).not.toBe(row!.statement);
    }
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
    refused.severity = "ERROR";
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

  it("has even a lone member run again on its own when the group gave up waiting for a lock", async () => {
    const timedOut = new pg.DatabaseError("canceling statement due to lock timeout", 0, "error");
    timedOut.code = "55P03";
    timedOut.severity = "ERROR";
    const { connection } = fakeConnection((text) => (text.startsWith("BEGIN") ? timedOut : undefined));
    const outcome = await committer(connection)
      .commit(member("a"))
      .catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(GroupFailed);
    expect((outcome as GroupFailed).cause).toBe(timedOut);
  });

  it("never runs members again when the session ended (FATAL): their commit may have happened", async () => {
    const ended = new pg.DatabaseError("terminating connection due to administrator command", 0, "error");
    ended.code = "57P01";
    ended.severity = "FATAL";
    const { connection } = fakeConnection((text) => (text.startsWith("BEGIN") ? ended : undefined));
    const groups = committer(connection);
    const outcomes = await Promise.allSettled(["a", "b"].map((key) => groups.commit(member(key))));
    expect(outcomes.map((o) => (o as PromiseRejectedResult).reason)).toEqual([ended, ended]);
  });

  it("never runs members again when the connection failed: their commit may have happened", async () => {
    const lost = new Error("Connection terminated unexpectedly");
    const { connection } = fakeConnection((text) => (text.startsWith("BEGIN") ? lost : undefined));
    const groups = committer(connection);
    const outcomes = await Promise.allSettled(["a", "b"].map((key) => groups.commit(member(key))));
    expect(outcomes.map((o) => (o as PromiseRejectedResult).reason)).toEqual([lost, lost]);
  });

  it("has every member run again alone when the group cannot be written, before anything is sent", async () => {
    const { connection, sent, released } = fakeConnection();
    const groups = committer(connection);
    const bad = {
      ...member("b"),
      writes: [{ sql: "UPDATE views SET x = ?", params: [], onRows: undefined }],
    };
    const outcomes = await Promise.allSettled([groups.commit(member("a")), groups.commit(bad)]);
    for (const outcome of outcomes)
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(GroupFailed);
    expect(sent).toEqual([]);
    expect(released()).toBe(1);
    // Alone, the member that cannot be written fails with its own error.
    await expect(groups.commit(bad)).rejects.toThrow(/parameters/);
  });

  it("fails only the member whose rows cannot be taken once the group committed", async () => {
    const { connection } = fakeConnection();
    const groups = committer(connection);
    const outcomes = await Promise.allSettled([
      groups.commit(
        member("a", () => {
          throw new Error("unreadable position");
        }),
      ),
      groups.commit(member("b", () => undefined)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "fulfilled"]);
  });

  it("sends the next group beside one that has been on its way too long", async () => {
    let now = 0;
    const held: (() => void)[] = [];
    const { connection, sent } = fakeConnection((text) =>
      text.includes("'stuck'")
        ? new Promise((resolve) => held.push(() => resolve(text.split(";\n").map(() => ({ rows: [] })))))
        : undefined,
    );
    const groups = new PostgresGroupCommit({
      connect: () => Promise.resolve(connection),
      types: pg.types,
      statements: new PreparedStatements(
        { query: () => new Promise(() => undefined) } as never,
        quoteLiteral,
      ),
      begin: ["BEGIN"],
      appendLock: "SELECT 'append lock'",
      notify: "SELECT 'notify'",
      now: () => now,
    });
    const stuck = groups.commit(member("stuck"));
    await new Promise((resolve) => setImmediate(resolve));
    const next = groups.commit(member("free"));
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Within the bound, the next group waits.
    expect(sent).toHaveLength(1);
    now += GROUP_STALL_MS;
    await next;
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatch(/'free'/);
    held.forEach((release) => release());
    await stuck;
  });

  it("keeps a group's query within its byte bound: members with large values go in the next group", async () => {
    const { connection, sent } = fakeConnection();
    const groups = committer(connection);
    const large = (key: string) => ({
      ...member(key),
      writes: [
        { sql: "UPDATE views SET x = ?", params: ["x".repeat(MAX_GROUP_BYTES / 3)], onRows: undefined },
      ],
    });
    // Ready together: two fit in one group, the third goes in the next; a small one joins the last.
    await Promise.all([
      groups.commit(large("a")),
      groups.commit(large("b")),
      groups.commit(large("c")),
      groups.commit(member("d")),
    ]);
    expect(sent.map((text) => [...text.matchAll(/GUARD (\w)/g)].map((m) => m[1]).join(""))).toEqual([
      "ab",
      "cd",
    ]);
    // One over the bound alone still goes (alone).
    const huge = {
      ...member("e"),
      writes: [
        { sql: "UPDATE views SET x = ?", params: ["x".repeat(MAX_GROUP_BYTES + 1)], onRows: undefined },
      ],
    };
    await groups.commit(huge);
    expect(sent).toHaveLength(3);
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
