// Keyset pages of the log in (stream id, revision) order (src/store/streamOrder.ts), as the chain
// verification and the projection rebuild read it: every event once, in order, whatever the page
// size, on both databases; and on SQLite, where `events` is a view over event_rows and
// event_streams, each page read in index order, never the whole log scanned and sorted.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowInt } from "../../src/db/sql.ts";
import type { SqlValue } from "../../src/db/sql.ts";
import { headsPageStatement } from "../../src/audit/checkpoints.ts";
import { readInStreamOrder } from "../../src/store/streamOrder.ts";
import type { StreamCursor, StreamOrderPage } from "../../src/store/streamOrder.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

type Row = { stream_id: string; revision: number | string; position: number | string };

describe.each(await providers())("the log in stream order on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let upTo: number;

  beforeAll(async () => {
    t = await openTestDatabase(provider);
    const deps = commandDeps(t.db);
    // Streams created in an order unlike their ids' order, of different lengths.
    for (const [i, versions] of [5, 0, 3, 7, 1].entries()) {
      const name = `order-${i}`;
      await createModelNamed(deps, randomUUID(), name);
      for (let v = 0; v < versions; v++) await run(deps, live(name), createVersion());
    }
    const [last] = await t.db.query<{ position: number | string }>(
      "SELECT max(position) AS position FROM events",
    );
    upTo = rowInt(last!.position);
    // Written after `upTo`: a filtered read leaves them out.
    await run(deps, live("order-1"), createVersion());
  });
  afterAll(() => t?.close());

  async function walk(
    limit: number,
    filter?: StreamOrderPage["filter"],
    query = (sql: string, params: readonly SqlValue[]) => t.db.query<Row>(sql, params),
  ): Promise<string[]> {
    const seen: string[] = [];
    let after: StreamCursor | null = null;
    for (;;) {
      const rows: Row[] = await readInStreamOrder(query, {
        select: "SELECT stream_id, revision, position FROM events",
        ...(filter === undefined ? {} : { filter }),
        after,
        limit,
      });
      seen.push(...rows.map((r) => `${r.stream_id}/${rowInt(r.revision)}`));
      const last = rows.at(-1);
      if (last === undefined || rows.length < limit) return seen;
      after = { streamId: last.stream_id, revision: rowInt(last.revision) };
    }
  }

  it("reads every event once, in (stream id, revision) order, for any page size", async () => {
    const all = await t.db.query<Row>("SELECT stream_id, revision FROM events ORDER BY stream_id, revision");
    const expected = all.map((r) => `${r.stream_id}/${rowInt(r.revision)}`);
    expect(expected.length).toBeGreaterThan(20);
    for (const limit of [1, 2, 3, 7, 1000]) expect(await walk(limit), `pages of ${limit}`).toEqual(expected);

    const upToNow = await t.db.query<Row>(
      "SELECT stream_id, revision FROM events WHERE position <= ? ORDER BY stream_id, revision",
      [upTo],
    );
    expect(await walk(3, { sql: "+position <= ?", params: [upTo] })).toEqual(
      upToNow.map((r) => `${r.stream_id}/${rowInt(r.revision)}`),
    );
  });

  it.runIf(provider === "sqlite")(
    "reads each page in index order, without scanning or sorting the log",
    async () => {
      const statements: { sql: string; params: readonly SqlValue[] }[] = [];
      await walk(2, { sql: "+position <= ? AND stream_id NOT LIKE '%:%'", params: [upTo] }, (sql, params) => {
        statements.push({ sql, params });
        return t.db.query<Row>(sql, params);
      });
      expect(new Set(statements.map((s) => s.sql)).size).toBe(3);
      for (const { sql, params } of statements) {
        const plan = (await t.db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map(
          (r) => r.detail,
        );
        expect(plan.join("\n"), sql).toMatch(
          /SEARCH s USING COVERING INDEX event_streams_id_key \(id[>=]+\?\)/,
        );
        expect(plan.join("\n"), sql).toMatch(
          /SEARCH r USING (COVERING )?INDEX event_rows_stream_ref_revision_key/,
        );
        expect(
          plan.filter((step) => /^SCAN|TEMP B-TREE/.test(step)),
          sql,
        ).toEqual([]);
      }
    },
  );

  it.runIf(provider === "sqlite")("reads a page of stream heads from the stream ids' index", async () => {
    for (const after of [null, "", "order"]) {
      const { sql, params } = headsPageStatement("sqlite", upTo, after, 2);
      const plan = (await t.db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map(
        (r) => r.detail,
      );
      expect(plan.join("\n")).toMatch(/SEARCH s USING COVERING INDEX event_streams_id_key \(id>\?\)/);
      // The page's own order (at most `limit` heads) is the only sort.
      expect(plan.filter((step) => /^SCAN (?!h)|TEMP B-TREE FOR GROUP BY/.test(step))).toEqual([]);
    }
  });
});
