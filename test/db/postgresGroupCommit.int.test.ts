// PostgreSQL (#18): model commands decided on state their instance remembered, ready at the same
// time, commit in one transaction (src/db/postgresGroupCommit.ts). Whatever happens to the group,
// each command must end as it would have alone: committed once, or failed with its own error.
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import { verifyChains } from "../../src/audit/verifyChains.ts";
import { DomainError } from "../../src/domain/errors.ts";
import { APPEND_LOCK_KEY, PG_WRITE_CONNECTIONS, openDatabase } from "../../src/db/database.ts";
import { GROUP_LOCK_TIMEOUT_MS, GROUP_STALL_MS } from "../../src/db/postgresGroupCommit.ts";
import { STREAM_LOCK_CLASS } from "../../src/db/sql.ts";
import { readAll } from "../../src/store/eventStore.ts";
import { actor, commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { eventually } from "../support/eventually.ts";
import { createVersion, transition } from "../support/commands.ts";
import type { SetRegisteredModelTag } from "../../src/domain/registeredModel/commands.ts";

const setTag = (key: string, value: string): SetRegisteredModelTag => ({
  type: "SetRegisteredModelTag",
  data: { key, value },
});
import { providers } from "../support/databases.ts";
import { batchText, batches, settlePrepares, twoInstances, versionOf } from "../support/postgresBatches.ts";

const onPostgres = (await providers()).includes("postgresql");

describe.skipIf(!onPostgres)("group commit on postgresql", () => {
  let t: Awaited<ReturnType<typeof twoInstances>>["t"];
  let a: CommandDeps;
  let b: CommandDeps;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    // Another server instance on the same database (b): its own pools and its own cache.
    ({ t, a, b, close } = await twoInstances());
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => close?.());

  /** `n` models, each with versions written by instance `a`, so that `a` remembers their state. */
  async function warmModels(prefix: string, n: number): Promise<string[]> {
    const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    for (const name of names) {
      await createModelNamed(a, name, name);
      for (let v = 0; v < 2; v++) await run(a, live(name), createVersion());
    }
    await settlePrepares();
    for (const name of names) await run(a, live(name), createVersion());
    return names;
  }

  const versionsOf = async (name: string) =>
    (await t.db.reader.modelVersion.findMany({ where: { modelId: name }, orderBy: { version: "asc" } })).map(
      (v) => v.version,
    );

  it("commits commands on eight models, ready at once, in one transaction and one round trip", async () => {
    const names = await warmModels("together", 8);
    const sent = await batches(() =>
      Promise.all(names.map(async (name) => versionOf(await run(a, live(name), createVersion())))),
    );
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^BEGIN;[^]*COMMIT$/);
    for (const name of names) expect(await versionsOf(name)).toEqual([1, 2, 3, 4]);
    // Their events took consecutive positions, in one commit, and every chain holds.
    const events = (await readAll(t.db, 0, 10_000)).filter((e) => names.includes(e.streamId));
    const last = events.slice(-8);
    expect(last.map((e) => e.position)).toEqual(last.map((_, i) => last[0]!.position + i));
    expect(await verifyChains(t.db)).toMatchObject({ ok: true, brokenStreams: 0 });
  });

  it("runs each member again alone when one member's state was stale: all commit once", async () => {
    const names = await warmModels("stale-member", 6);
    // The other instance writes one of the models: `a` still remembers the old head.
    await run(b, live(names[3]!), createVersion());
    let outcomes: number[] = [];
    const sent = await batches(async () => {
      outcomes = await Promise.all(
        names.map(async (name) => versionOf(await executeCommand(a, live(name), createVersion(), actor))),
      );
    });
    expect(outcomes).toEqual([4, 4, 4, 5, 4, 4]);
    // One group with all six, refused at the stale guard and rolled back; then each alone.
    for (const name of names) expect(sent[0]).toContain(`'${name}'`);
    expect(sent[1]).toBe("ROLLBACK; DEALLOCATE ALL");
    for (const [i, name] of names.entries())
      expect(await versionsOf(name)).toEqual(i === 3 ? [1, 2, 3, 4, 5] : [1, 2, 3, 4]);
    expect(await verifyChains(t.db)).toMatchObject({ ok: true, brokenStreams: 0 });
  });

  it("commits commands on one model and on others, queued behind each other, once each when a member was stale", async () => {
    const names = await warmModels("chained", 3);
    // The other instance writes the first model: `a` remembers a head that is no longer the head.
    await run(b, live(names[0]!), createVersion());
    let outcomes: number[] = [];
    const sent = await batches(async () => {
      outcomes = await Promise.all(
        [0, 0, 0, 1, 1, 2].map(async (i) =>
          versionOf(await executeCommand(a, live(names[i]!), createVersion(), actor)),
        ),
      );
    });
    // The first model's three were decided on the stale head and on each other; the group was
    // refused at its guard, and every member ran again on its own, reading what it had to.
    expect(sent[1]).toBe("ROLLBACK; DEALLOCATE ALL");
    expect([...outcomes.slice(0, 3)].sort()).toEqual([5, 6, 7]);
    expect([...outcomes.slice(3, 5)].sort()).toEqual([4, 5]);
    expect(outcomes[5]).toBe(4);
    expect(await versionsOf(names[0]!)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await versionsOf(names[1]!)).toEqual([1, 2, 3, 4, 5]);
    expect(await verifyChains(t.db)).toMatchObject({ ok: true, brokenStreams: 0 });
    // And the cache recovers: once each has committed again, the next commands go in one round trip.
    for (const name of names) await run(a, live(name), createVersion());
    await settlePrepares();
    const next = await batches(() =>
      Promise.all(names.map(async (name) => versionOf(await run(a, live(name), createVersion())))),
    );
    expect(next).toHaveLength(1);
  });

  it("forgets the head a member remembered when its group failed and its run alone decided nothing", async () => {
    const [stale, tagged] = await warmModels("rerun-nothing", 2);
    await run(a, live(tagged!), setTag("stage", "old"));
    await run(b, live(stale!), createVersion());
    // The tag command's first run (in the group) sets a new value; run again alone after the stale
    // member failed the group, it asks for the value the model already has: nothing to append.
    let runs = 0;
    const changing: CommandDeps = {
      ...a,
      factsInTransaction: (_tx, command) => Promise.resolve(++runs === 1 ? command : setTag("stage", "old")),
    };
    let outcome: unknown;
    const sent = await batches(async () => {
      [, outcome] = await Promise.all([
        executeCommand(a, live(stale!), createVersion(), actor),
        executeCommand(changing, live(tagged!), setTag("stage", "new"), actor),
      ]);
    });
    expect(runs).toBe(2);
    expect(sent[1]).toBe("ROLLBACK; DEALLOCATE ALL");
    expect(outcome).toMatchObject({ events: [] });
    // The head of the first run (the tag "new") never committed: had it been kept, the next command
    // would be decided on it, fail its guard and read. It is decided on what committed, in one batch.
    const next = await batches(() => run(a, live(tagged!), setTag("owner", "ml")));
    expect(next).toHaveLength(1);
    const tags = await t.db.reader.registeredModelTag.findMany({
      where: { modelId: tagged! },
      orderBy: { key: "asc" },
    });
    expect(tags.map((tag) => [tag.key, tag.value])).toEqual([
      ["owner", "ml"],
      ["stage", "old"],
    ]);
    expect(await verifyChains(t.db)).toMatchObject({ ok: true, brokenStreams: 0 });
  });

  it("gives up on a stream lock held for long after GROUP_LOCK_TIMEOUT_MS: the other streams' commands go on", async () => {
    const [held, free, beside] = await warmModels("lock-held", 3);
    // Another session holds the first model's stream lock, as a transaction left open would.
    const url = t.config.provider === "postgresql" ? t.config.url : "";
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [STREAM_LOCK_CLASS, held!]);
      // More commands on the held model than the write pool has connections, at once: decided on
      // each other's state, they share groups that give up, then run again alone. And four more one
      // at a time, each queued behind the one before: each waits in a group of its own, and past
      // GROUP_STALL_MS the next group goes beside it, four at most.
      const settled: boolean[] = [];
      const waiting = Array.from({ length: PG_WRITE_CONNECTIONS + 4 }, () =>
        executeCommand(a, live(held!), createVersion(), actor),
      );
      for (let i = 0; i < 4; i++) {
        waiting.push(executeCommand(a, live(held!), createVersion(), actor));
        await sleep(GROUP_STALL_MS + 50);
      }
      const watch = () => waiting.forEach((w, i) => void w.finally(() => (settled[i] = true)));
      // Before the timeout, four stuck groups held every cached command of this instance behind
      // them; had every command of the held model waited alone, each with a connection, the pool
      // would have been theirs.
      const other = executeCommand(a, live(free!), createVersion(), actor);
      const first = await Promise.race([
        other.then(versionOf),
        sleep(GROUP_LOCK_TIMEOUT_MS * 10).then(() => "still waiting"),
      ]);
      expect(first).toBe(4);
      // A command on a free model in one group with one on the held model: the group gives up, and
      // alone it takes its lock at once; only the held model's waits for a turn to wait.
      waiting.push(executeCommand(a, live(held!), createVersion(), actor));
      const besideIt = await Promise.race([
        executeCommand(a, live(beside!), createVersion(), actor).then(versionOf),
        sleep(GROUP_LOCK_TIMEOUT_MS * 10).then(() => "still waiting"),
      ]);
      expect(besideIt).toBe(4);
      // Alone, the held model's commands wait as long as the lock is held, far past the timeout.
      watch();
      await sleep(GROUP_LOCK_TIMEOUT_MS * 2);
      expect(settled.filter(Boolean)).toEqual([]);
      await holder.query("COMMIT");
      const versions = (await Promise.all(waiting)).map((outcome) => versionOf(outcome as never));
      expect([...versions].sort((x, y) => x - y)).toEqual(Array.from({ length: 17 }, (_, i) => i + 4));
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
    }
    expect(await versionsOf(held!)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await verifyChains(t.db)).toMatchObject({ ok: true, brokenStreams: 0 });
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** A session of its own (as another instance's transaction left open), connected. */
  async function otherSession(): Promise<pg.Client> {
    const holder = new pg.Client({
      connectionString: t.config.provider === "postgresql" ? t.config.url : "",
    });
    await holder.connect();
    return holder;
  }

  /** How many sessions of the test database wait for a stream lock (two-key), or for the append lock. */
  async function lockWaiters(session: pg.Client, lock: "stream" | "append"): Promise<number> {
    const [classid, objid, objsubid] =
      lock === "stream" ? [STREAM_LOCK_CLASS, null, 2] : [0, APPEND_LOCK_KEY, 1];
    const { rows } = await session.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND NOT granted AND classid = $1 AND objsubid = $2
          AND ($3::bigint IS NULL OR objid = $3::bigint)
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [classid, objsubid, objid],
    );
    return rows[0]!.n;
  }

  it("gives up on a held stream lock in commands that must read too: one waits for it on a connection, the others in memory; other models' commands go on", async () => {
    const [held, free, other] = await warmModels("read-lock-held", 3);
    // Another instance, fresh: it has resolved no name and remembers no state, so each of its
    // commands reads first, on a connection of its own, and meets the stream lock there.
    const fresh = openDatabase(t.config);
    const c = commandDeps(fresh);
    const holder = await otherSession();
    const otherHolder = await otherSession();
    const watcher = await otherSession();
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [STREAM_LOCK_CLASS, held!]);
      const settled: boolean[] = [];
      const waiting = Array.from({ length: PG_WRITE_CONNECTIONS + 4 }, (_, i) => {
        const command = executeCommand(c, live(held!), createVersion(), actor);
        void command.finally(() => (settled[i] = true)).catch(() => undefined);
        return command;
      });
      // Had each waited at the lock on its connection for as long as it is held, the first eight
      // would have taken the whole write pool, and this command would wait for the lock too.
      const first = await Promise.race([
        executeCommand(c, live(free!), createVersion(), actor).then(versionOf),
        sleep(GROUP_LOCK_TIMEOUT_MS * 10).then(() => "still waiting"),
      ]);
      expect(first).toBe(4);
      // Once each has given up, one waits at the lock on a connection; the rest wait in memory
      // behind it, holding nothing (they could not go before it anyway).
      await eventually(
        async () => (await lockWaiters(watcher, "stream")) === 1 && settled.length === 0,
        GROUP_LOCK_TIMEOUT_MS * 10,
        "one session waiting at the stream lock",
      );
      await sleep(GROUP_LOCK_TIMEOUT_MS * 2);
      expect(await lockWaiters(watcher, "stream")).toBe(1);
      expect(settled.filter(Boolean)).toEqual([]);
      // Still: the write pool serves the other models.
      expect(versionOf(await run(c, live(free!), createVersion()))).toBe(5);
      // A command on a third model whose lock is held a moment past the timeout: it gives up, then
      // gets a turn to wait of its own (the held model's queue takes one turn, not all four), and
      // commits once its lock is free, while the first is still held.
      await otherHolder.query("BEGIN");
      await otherHolder.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [STREAM_LOCK_CLASS, other!]);
      const third = executeCommand(c, live(other!), createVersion(), actor);
      // It gave up and waits again, with its turn: a second transaction of it waits at that lock.
      const waitingAtOther = async () => {
        const { rows } = await watcher.query<{ at: string }>(
          `SELECT pid || ' ' || xact_start AS at FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND datname = current_database() AND query LIKE $1`,
          [`%'${other}'%`],
        );
        return rows.map((row) => row.at);
      };
      let firstTry: string | undefined;
      await eventually(
        async () => (firstTry = (await waitingAtOther())[0]) !== undefined,
        GROUP_LOCK_TIMEOUT_MS * 10,
        "the third model's command waiting at its lock",
      );
      await eventually(
        async () => (await waitingAtOther()).some((at) => at !== firstTry),
        GROUP_LOCK_TIMEOUT_MS * 10,
        "the third model's command waiting again, in a transaction of its own",
      );
      await otherHolder.query("COMMIT");
      const outcome = await Promise.race([
        third.then(versionOf),
        sleep(GROUP_LOCK_TIMEOUT_MS * 10).then(() => "still waiting"),
      ]);
      expect(outcome).toBe(4);
      expect(settled.filter(Boolean)).toEqual([]);
      await holder.query("COMMIT");
      const versions = (await Promise.all(waiting)).map(versionOf);
      expect([...versions].sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => i + 4));
    } finally {
      for (const session of [holder, otherHolder]) await session.query("ROLLBACK").catch(() => undefined);
      for (const session of [holder, otherHolder, watcher]) await session.end();
      await fresh.close();
    }
    expect(await versionsOf(held!)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(await versionsOf(other!)).toEqual([1, 2, 3, 4]);
    expect(await verifyChains(t.db)).toMatchObject({ ok: true, brokenStreams: 0 });
  });

  it("waits for the append lock as long as it takes when run alone after giving up on a stream lock", async () => {
    const [held, free, unread] = await warmModels("append-held", 3);
    const streamHolder = await otherSession();
    const appendHolder = await otherSession();
    const watcher = await otherSession();
    let sent: string[] = [];
    try {
      await streamHolder.query("BEGIN");
      await streamHolder.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [STREAM_LOCK_CLASS, held!]);
      // A slow flush of another commit, as it were: the append lock held past the timeout.
      await appendHolder.query("BEGIN");
      await appendHolder.query("SELECT pg_advisory_xact_lock($1)", [APPEND_LOCK_KEY]);
      sent = await batches(async () => {
        // One group (both remembered by `a`) that gives up on the held stream: each runs again
        // alone, and the free one reaches the append lock. So does a command of `b`, which must read.
        const heldOne = executeCommand(a, live(held!), createVersion(), actor);
        const freeOne = executeCommand(a, live(free!), createVersion(), actor);
        const readOne = executeCommand(b, live(unread!), createVersion(), actor);
        await eventually(
          async () => (await lockWaiters(watcher, "append")) === 2,
          GROUP_LOCK_TIMEOUT_MS * 10,
          "two sessions waiting at the append lock",
        );
        // Longer than the stream locks' timeout: it must not apply to the append lock.
        await sleep(GROUP_LOCK_TIMEOUT_MS * 2);
        await appendHolder.query("COMMIT");
        expect(versionOf(await freeOne)).toBe(4);
        expect(versionOf(await readOne)).toBe(4);
        await streamHolder.query("COMMIT");
        expect(versionOf(await heldOne)).toBe(4);
      });
    } finally {
      for (const holder of [streamHolder, appendHolder])
        await holder.query("ROLLBACK").catch(() => undefined);
      for (const session of [streamHolder, appendHolder, watcher]) await session.end();
    }
    // Each transaction of the two: the free one's group, then its run alone; the one that reads, once.
    const begun = (name: string) =>
      sent.filter((text) => text.startsWith("BEGIN") && text.includes(`'${name}'`));
    expect(begun(free!)).toHaveLength(2);
    expect(begun(free!)[0]).toContain(`'${held}'`);
    expect(begun(unread!)).toHaveLength(1);
    // Its run alone would give up on its stream lock, not on the append lock nor on preparing its
    // writes: the setting goes back right after the stream lock (each sent as text, or as the
    // EXECUTE of its prepared form, prepared in the same round trip).
    const alone = begun(free!)[1]!.split(";\n");
    const prepared = (pattern: string) =>
      alone.map((text) => new RegExp(`^PREPARE (\\w+) AS ${pattern}$`).exec(text)?.[1]).find(Boolean);
    const streamLockName = prepared("SELECT pg_advisory_xact_lock\\(\\$1, hashtext\\(\\$2\\)\\)");
    const appendLockName = prepared(`SELECT pg_advisory_xact_lock\\(${APPEND_LOCK_KEY}\\)`);
    const timeoutOn = alone.indexOf(`SET LOCAL lock_timeout = ${GROUP_LOCK_TIMEOUT_MS}`);
    const streamLock = alone.findIndex(
      (text) =>
        text === `SELECT pg_advisory_xact_lock(${STREAM_LOCK_CLASS}, hashtext('${free}'))` ||
        text === `EXECUTE ${streamLockName}('${STREAM_LOCK_CLASS}', '${free}')`,
    );
    const timeoutOff = alone.indexOf("SET LOCAL lock_timeout = DEFAULT");
    const appendLock = alone.findIndex(
      (text) =>
        text === `SELECT pg_advisory_xact_lock(${APPEND_LOCK_KEY})` || text === `EXECUTE ${appendLockName}`,
    );
    expect(timeoutOn).toBeGreaterThan(0);
    expect(streamLock).toBeGreaterThan(timeoutOn);
    expect(timeoutOff).toBeGreaterThan(streamLock);
    expect(appendLock).toBeGreaterThan(timeoutOff);
    if (appendLockName !== undefined)
      expect(alone.findIndex((text) => text.startsWith(`PREPARE ${appendLockName} `))).toBeGreaterThan(
        timeoutOff,
      );
    for (const name of [held!, free!, unread!]) expect(await versionsOf(name)).toEqual([1, 2, 3, 4]);
    expect(await verifyChains(t.db)).toMatchObject({ ok: true, brokenStreams: 0 });
  });

  it("lets a command that must read wait for the one queued before it on its stream, not overtake it", async () => {
    const [name] = await warmModels("reader-after", 1);
    let outcomes: unknown[] = [];
    const sent = await batches(async () => {
      outcomes = await Promise.all([
        executeCommand(a, live(name!), createVersion(), actor),
        // Archiving the other Production versions reads every version in the stage: it cannot be
        // decided on the state the version before it will leave, and reads once that one committed.
        executeCommand(a, live(name!), transition(3, "Production", true), actor),
      ]);
    });
    for (const outcome of outcomes) expect(outcome).not.toBeInstanceOf(DomainError);
    // Had it read at once, it would have locked the stream ahead of the first one's group commit,
    // whose guard then failed: a rollback, and the first one run again.
    expect(sent.filter((text) => text.startsWith("ROLLBACK"))).toEqual([]);
    expect(await versionsOf(name!)).toEqual([1, 2, 3, 4]);
    expect(await verifyChains(t.db)).toMatchObject({ ok: true, brokenStreams: 0 });
  });

  it("writes a group once when its commit happened but its answer was lost", async () => {
    const names = await warmModels("answer-lost", 3);
    const query = Reflect.get(pg.Client.prototype, "query") as (
      this: pg.Client,
      ...args: unknown[]
    ) => unknown;
    let lost = false;
    vi.spyOn(pg.Client.prototype, "query").mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const result = query.apply(this, args);
      if (!lost && batchText(args).startsWith("BEGIN;")) {
        lost = true;
        return (result as Promise<unknown>).then(() =>
          Promise.reject(new Error("Connection terminated unexpectedly")),
        );
      }
      return result;
    });
    const outcomes = await Promise.allSettled(names.map((name) => run(a, live(name), createVersion())));
    vi.restoreAllMocks();
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected"]);
    // Committed once (the caller was told it failed, as any lost answer), never twice.
    for (const name of names) expect(await versionsOf(name)).toEqual([1, 2, 3, 4]);
    for (const name of names) expect(versionOf(await run(a, live(name), createVersion()))).toBe(5);
    expect(await verifyChains(t.db)).toMatchObject({ ok: true, brokenStreams: 0 });
  });

  it("fails every member, and runs none again, when the connection fails while the group commits", async () => {
    const names = await warmModels("lost-group", 4);
    const query = Reflect.get(pg.Client.prototype, "query") as (
      this: pg.Client,
      ...args: unknown[]
    ) => unknown;
    let failed = false;
    vi.spyOn(pg.Client.prototype, "query").mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      if (!failed && batchText(args).startsWith("BEGIN;")) {
        failed = true;
        return Promise.reject(new Error("Connection terminated unexpectedly"));
      }
      return query.apply(this, args);
    });
    const outcomes = await Promise.allSettled(names.map((name) => run(a, live(name), createVersion())));
    vi.restoreAllMocks();
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected", "rejected"]);
    // Nothing was written twice (nor, here, at all), and the next commands read the state again.
    for (const name of names) expect(await versionsOf(name)).toEqual([1, 2, 3]);
    for (const name of names) expect(versionOf(await run(a, live(name), createVersion()))).toBe(4);
  });
});
