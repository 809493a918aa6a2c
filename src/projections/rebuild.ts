// Rebuilds every projection from the event log: after a projection bug is fixed, a read model is
// added, or to prove the projections still agree with the log. The same pure evolve functions as the
// inline projection are used, so a rebuild reproduces exactly what commands wrote.
//
// Online: the log is replayed into shadow tables (./rebuild/shadowConnection.ts) in short write
// transactions of the rebuild's own, while the server keeps reading and writing the live tables.
// Events committed meanwhile are caught up in rounds; the last ones are applied in the transaction
// that swaps the shadow tables in, under the writers' lock, so no committed event is missed.
//
// Every stream's hash chain is verified on the way. A stream whose chain breaks (a forged, altered
// or out-of-order event, or a payload that does not parse) is projected up to its last verified event
// and reported; the rest of the log is rebuilt regardless.
import { hashOf } from "../store/eventCodec.ts";
import { actorFromColumns } from "../access/actor.ts";
import { parseAccessEvent } from "../access/domain/events.ts";
import { ACCESS_STREAM_CATEGORIES, projectAccessEvent } from "../access/projection.ts";
import { rebuildWebhookProjection } from "../webhooks/projection.ts";
import { ChainVerifier } from "../audit/chainVerifier.ts";
import type { ChainBreak, ChainedEvent } from "../audit/chainVerifier.ts";
import type { DatabaseConfig } from "../config.ts";
import type { Database, Tx } from "../db/database.ts";
import { rowInt } from "../db/sql.ts";
import type { SqlValue } from "../db/sql.ts";
import {
  COLUMNS,
  EVENTS,
  decodeChainRow,
  isChainBreak,
  recordedFromSqlRow,
  streamCategory,
  toRecordedEvent,
} from "../store/eventStore.ts";
import type { ChainSqlRow } from "../store/eventStore.ts";
import { readInStreamOrder } from "../store/streamOrder.ts";
import type { StreamCursor, StreamOrderPage } from "../store/streamOrder.ts";
import type { RecordedEvent } from "../store/recordedEvent.ts";
import { ChainCheck } from "./rebuild/chainCheck.ts";
import { openShadowConnection } from "./rebuild/shadowConnection.ts";
import type { ShadowConnection } from "./rebuild/shadowConnection.ts";
import {
  streamTableInsert,
  STREAM_TABLE_COLUMNS,
  addStreamRows,
  emptyStreamRows,
} from "./rebuild/streamRows.ts";
import type { StreamRows, StreamTable } from "./rebuild/streamRows.ts";
import {
  applyEvents,
  emptyStreamViews,
  loadStreamViews,
  persistStreamViews,
  withVersionsFor,
} from "./streamViews.ts";
import type { StreamViews } from "./streamViews.ts";

export interface RebuildSummary {
  /** Streams with at least one verified event. */
  readonly streams: number;
  /** Events projected (verified and parsed). */
  readonly events: number;
  /** Events left out because their stream's chain broke at or before them. */
  readonly skippedEvents: number;
  /** Every broken stream, where its chain broke and why, in the order found. */
  readonly breaks: readonly ChainBreak[];
}

export interface RebuildOptions {
  /**
   * Where the rebuild connects (it opens connections of its own). Defaults to the database's own
   * configuration; on PostgreSQL pass a URL allowed to create tables (the owner's, when configured).
   */
  readonly connection?: DatabaseConfig;
  /** Called after each write transaction with its duration (the bench and logs watch the stalls). */
  readonly onTransaction?: (phase: "fill" | "index" | "catchUp" | "swap", durationMs: number) => void;
  /** Called when the shadow tables hold everything up to `position` (tests write concurrently here). */
  readonly onFilled?: (position: number) => void | Promise<void>;
  /** Events per page of the first pass at most (default READ_PAGE); tests make it small so streams span pages. */
  readonly readPage?: number;
}

const EVENT_COLUMNS = `position, ${COLUMNS}, hash`;
/** Events per page of the first pass at most: enough that a round trip costs little per event. */
const READ_PAGE = 5000;
/**
 * What a page of the first pass aims to hold (its events' data, as read): the pass keeps two pages
 * (one folded while the next is verified), and an event may hold up to about a megabyte (100 tags of
 * 5,000 characters, a 64 KiB description, 256 KiB of params), so 5,000 of them could be gigabytes.
 */
const PAGE_BYTES = 16 * 2 ** 20;
/** The first page's size: pages then grow (fourfold at most) or shrink as the events read weigh. */
const FIRST_PAGE = 250;
/** Pages never shrink below this, however large the events. */
const MIN_PAGE = 8;

/** About how many bytes a row's event data takes: its text on SQLite, re-serialised from PostgreSQL's jsonb. */
const dataBytes = (row: ChainSqlRow) =>
  typeof row.data === "string" ? row.data.length : (JSON.stringify(row.data)?.length ?? 0);

/**
 * The next page's size after `rows` (read with a page of `size`): as many events as PAGE_BYTES holds
 * at the average weight of those just read, at most four times `size` and `max`, at least MIN_PAGE.
 */
export function nextPageSize(rows: readonly ChainSqlRow[], size: number, max: number): number {
  if (rows.length === 0) return Math.min(size * 4, max);
  // Every row is weighed: a sample could miss the large events a writer placed between its rows.
  let bytes = 0;
  for (const row of rows) bytes += dataBytes(row) + 200;
  const fits = Math.floor((PAGE_BYTES * rows.length) / bytes);
  return Math.max(Math.min(MIN_PAGE, max), Math.min(fits, size * 4, max));
}

/** Events per catch-up transaction: applied stream by stream like inline projection, so kept few. */
const CATCH_UP_PAGE = 500;
/**
 * Rows per INSERT statement: 17 columns at most make 3,400 parameters, far below either provider's
 * bound (SQLite 32,766, PostgreSQL 65,535). Fewer, longer statements cost less per row than 50-row ones.
 */
const INSERT_CHUNK = 200;
/** A fill transaction aims at this duration, so writers of the running server wait at most about that. */
const TARGET_TRANSACTION_MS = 25;
/** Catch-up rounds stop once a round had at most this many events; the swap applies the rest. */
const SMALL_LAG = 100;
const MAX_CATCH_UP_ROUNDS = 1000;
/**
 * Replaying is CPU work; a server in the same process (tests, the bench, an embedding application)
 * must still be answered meanwhile, so the replay hands the event loop back this often.
 */
const YIELD_EVERY_MS = 10;
const yieldToEventLoop = () => new Promise((resolve) => setImmediate(resolve));

/** The model log in (stream, revision) order up to a position: each stream is folded whole, once. */
const modelPage = (upTo: number, after: StreamCursor | null, limit: number): StreamOrderPage => ({
  select: `SELECT ${EVENT_COLUMNS} FROM ${EVENTS}`,
  filter: { sql: "+position <= ? AND stream_id NOT LIKE '%:%'", params: [upTo] },
  after,
  limit,
});

/** The same query the rebuild's first pass runs, for a plain read to compare it with. */
export async function readModelLog(
  read: (sql: string, params: readonly SqlValue[]) => Promise<ChainSqlRow[]>,
  upTo: number,
  onPage: (rows: readonly ChainSqlRow[]) => void,
): Promise<void> {
  let after: StreamCursor | null = null;
  for (let size = FIRST_PAGE; ;) {
    const rows: ChainSqlRow[] = await readInStreamOrder(read, modelPage(upTo, after, size));
    onPage(rows);
    const last = rows.at(-1);
    if (last === undefined || rows.length < size) return;
    after = { streamId: last.stream_id, revision: rowInt(last.revision) };
    size = nextPageSize(rows, size, READ_PAGE);
  }
}

interface Head {
  readonly revision: number;
  readonly position: number;
  readonly hash: string;
}

interface CheckedPage {
  readonly rows: readonly ChainSqlRow[];
  readonly verdict: Promise<readonly ChainBreak[]>;
}

const describeError = (error: unknown) => (error instanceof Error ? error.message : String(error));

class Replay {
  readonly heads = new Map<string, Head>();
  readonly broken = new Set<string>();
  readonly breaks: ChainBreak[] = [];
  events = 0;
  skipped = 0;

  brokenAt(b: ChainBreak): void {
    this.breaks.push(b);
    this.broken.add(b.streamId);
    this.skipped += 1;
  }

  /** Verifies an event against its stream's verified head; null (and a recorded break) when it does not hold. */
  verify(row: ChainSqlRow): ChainedEvent | null {
    if (this.broken.has(row.stream_id)) {
      this.skipped += 1;
      return null;
    }
    const event = decodeChainRow(row);
    if (isChainBreak(event)) {
      this.brokenAt(event);
      return null;
    }
    const verifier = new ChainVerifier();
    const head = this.heads.get(event.streamId);
    if (head) verifier.resume({ streamId: event.streamId, ...head });
    const broken = verifier.next(event);
    if (broken) {
      this.brokenAt(broken);
      return null;
    }
    this.heads.set(event.streamId, {
      revision: event.revision,
      position: event.position,
      hash: event.hash ?? "",
    });
    return event;
  }

  /**
   * Takes a row of the first pass, which the chain worker checked in order: its stream's break when
   * `breaks` (by position) has one for it, otherwise its stream's new verified head, parsed (a payload
   * that does not parse breaks its stream like a bad hash).
   */
  checked(row: ChainSqlRow, breaks: ReadonlyMap<number, ChainBreak>): RecordedEvent | null {
    if (this.broken.has(row.stream_id)) {
      this.skipped += 1;
      return null;
    }
    const position = rowInt(row.position);
    const broken = breaks.get(position);
    if (broken !== undefined) {
      this.brokenAt(broken);
      return null;
    }
    const revision = rowInt(row.revision);
    this.heads.set(row.stream_id, { revision, position, hash: hashOf(row.hash) ?? "" });
    try {
      const parsed = recordedFromSqlRow(row);
      this.events += 1;
      return parsed;
    } catch (error) {
      this.unparsable({ streamId: row.stream_id, revision, position }, error);
      return null;
    }
  }

  /** Parses a verified model event; a payload that does not parse breaks its stream like a bad hash. */
  parseModel(event: ChainedEvent): RecordedEvent | null {
    try {
      const parsed = toRecordedEvent(event);
      this.events += 1;
      return parsed;
    } catch (error) {
      this.unparsable(event, error);
      return null;
    }
  }

  unparsable(event: Pick<ChainedEvent, "streamId" | "revision" | "position">, error: unknown): void {
    this.brokenAt({
      streamId: event.streamId,
      revision: event.revision,
      position: event.position,
      reason: `the payload does not match its event type: ${describeError(error)}`,
    });
  }
}

const insertStatements = new Map<string, string>();

/** `INSERT INTO table (…) VALUES (…), …` for `rows` rows, built once per dialect, table and size. */
function insertStatement(dialect: Tx["dialect"], table: StreamTable, rows: number): string {
  const key = `${dialect}:${table}:${rows}`;
  let sql = insertStatements.get(key);
  if (sql === undefined) {
    const insert = streamTableInsert(table, dialect);
    sql = `INSERT INTO ${insert.table} (${insert.columns.join(", ")}) VALUES ${Array.from({ length: rows }, () => insert.row).join(", ")}`;
    insertStatements.set(key, sql);
  }
  return sql;
}

/**
 * Inserts buffered rows with a few prepared multi-row statements per table. The rest after the full
 * statements goes in power-of-two sizes, so each table needs at most nine prepared statements.
 */
async function insertRows(tx: Tx, rows: StreamRows): Promise<void> {
  for (const table of Object.keys(STREAM_TABLE_COLUMNS) as StreamTable[]) {
    const all = rows[table];
    for (let start = 0; start < all.length;) {
      const left = all.length - start;
      const size = left >= INSERT_CHUNK ? INSERT_CHUNK : 2 ** Math.floor(Math.log2(left));
      const params: SqlValue[] = [];
      for (let i = start; i < start + size; i += 1) for (const value of all[i]!) params.push(value);
      await tx.execute(insertStatement(tx.dialect, table, size), params);
      start += size;
    }
  }
}

/** Writes in transactions sized to stay near TARGET_TRANSACTION_MS, whatever the machine's speed. */
class BatchWriter {
  private rows = emptyStreamRows();
  private count = 0;
  private limit = 2000;

  constructor(
    private readonly connection: ShadowConnection,
    private readonly onTransaction: RebuildOptions["onTransaction"],
  ) {}

  async add(views: StreamViews): Promise<void> {
    this.count += addStreamRows(this.rows, views);
    if (this.count >= this.limit) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.count === 0) return;
    const rows = this.rows;
    const count = this.count;
    this.rows = emptyStreamRows();
    this.count = 0;
    const started = performance.now();
    await this.connection.write((shadow) => insertRows(shadow, rows));
    const elapsed = performance.now() - started;
    this.onTransaction?.("fill", elapsed);
    const scaled = Math.round((count * TARGET_TRANSACTION_MS) / Math.max(elapsed, 1));
    this.limit = Math.min(50_000, Math.max(200, Math.round((this.limit + scaled) / 2)));
    await yieldToEventLoop();
  }
}

/** First pass: every model stream, whole, up to `upTo`, verified and folded once, inserted in batches. */
async function fillModelStreams(
  connection: ShadowConnection,
  replay: Replay,
  upTo: number,
  options: RebuildOptions,
): Promise<void> {
  const writer = new BatchWriter(connection, options.onTransaction);
  let views: StreamViews | null = null;
  let pending: RecordedEvent[] = [];
  const finishStream = async () => {
    if (views === null) return;
    const folded = applyEvents(views, pending);
    pending = [];
    views = null;
    await writer.add(folded);
  };
  let slice = performance.now();
  const foldPage = async ({ rows, verdict }: CheckedPage) => {
    const breaks = new Map((await verdict).map((b) => [b.position, b]));
    for (const row of rows) {
      if (performance.now() - slice > YIELD_EVERY_MS) {
        await yieldToEventLoop();
        slice = performance.now();
      }
      if (views?.streamId !== row.stream_id) {
        await finishStream();
        views = emptyStreamViews(row.stream_id);
      }
      const parsed = replay.checked(row, breaks);
      if (parsed !== null) pending.push(parsed);
    }
    // A long stream is folded page by page, so memory stays bounded by the page, not the stream.
    if (views !== null && pending.length > 0) {
      views = applyEvents(views, pending);
      pending = [];
    }
  };
  // The worker verifies the page just read while this thread folds the one before it.
  const check = new ChainCheck();
  const maxPage = options.readPage ?? READ_PAGE;
  try {
    let after: StreamCursor | null = null;
    let previous: CheckedPage | null = null;
    for (let pageSize = Math.min(FIRST_PAGE, maxPage); ;) {
      const rows: ChainSqlRow[] = await readInStreamOrder(
        (sql, params) => connection.read<ChainSqlRow>(sql, params),
        modelPage(upTo, after, pageSize),
      );
      const verdict = check.submit(rows);
      // Awaited once the previous page is folded; a worker failure meanwhile must not go unhandled.
      verdict.catch(() => undefined);
      if (previous !== null) await foldPage(previous);
      previous = { rows, verdict };
      const last = rows.at(-1);
      if (last === undefined || rows.length < pageSize) break;
      after = { streamId: last.stream_id, revision: rowInt(last.revision) };
      pageSize = nextPageSize(rows, pageSize, maxPage);
    }
    if (previous !== null) await foldPage(previous);
  } finally {
    await check.close();
  }
  await finishStream();
  await writer.flush();
}

const accessCategory = (streamId: string) =>
  (ACCESS_STREAM_CATEGORIES as readonly string[]).includes(streamCategory(streamId));

/**
 * Applies events (in log order) to the shadow tables: access events one by one, model events grouped
 * by stream through the inline projection's own load/fold/persist path.
 */
async function applyLogged(shadow: Tx, replay: Replay, rows: readonly ChainSqlRow[]): Promise<void> {
  const byStream = new Map<string, RecordedEvent[]>();
  for (const row of rows) {
    const category = streamCategory(row.stream_id);
    // Other contexts' streams (reviews, webhooks, …) are rebuilt by their own context.
    if (category !== "registeredModel" && !accessCategory(row.stream_id)) continue;
    const event = replay.verify(row);
    if (event === null) continue;
    if (category === "registeredModel") {
      const parsed = replay.parseModel(event);
      if (parsed === null) continue;
      const list = byStream.get(parsed.streamId);
      if (list) list.push(parsed);
      else byStream.set(parsed.streamId, [parsed]);
      continue;
    }
    let access;
    try {
      access = parseAccessEvent(event.type, event.schemaVersion, event.data);
    } catch (error) {
      replay.unparsable(event, error);
      continue;
    }
    replay.events += 1;
    await projectAccessEvent(shadow, {
      ...access,
      position: event.position,
      streamId: event.streamId,
      revision: event.revision,
      actor: actorFromColumns(event),
      occurredAt: event.occurredAt,
      correlationId: event.correlationId,
      causationId: event.causationId,
    });
  }
  for (const [streamId, events] of byStream) {
    const loaded = await loadStreamViews(shadow, streamId, [], null);
    const before = await withVersionsFor(shadow, loaded, events);
    await persistStreamViews(shadow, before, applyEvents(before, events));
  }
}

/** Access events up to `upTo` in log order (memberships and tokens refer to principals of other streams). */
async function fillAccessStreams(
  connection: ShadowConnection,
  replay: Replay,
  upTo: number,
  options: RebuildOptions,
) {
  const like = ACCESS_STREAM_CATEGORIES.map(() => "stream_id LIKE ?").join(" OR ");
  let after = 0;
  for (;;) {
    const rows = await connection.read<ChainSqlRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${EVENTS} WHERE position > ? AND position <= ? AND (${like}) ORDER BY position LIMIT ?`,
      [after, upTo, ...ACCESS_STREAM_CATEGORIES.map((c) => `${c}:%`), CATCH_UP_PAGE],
    );
    const last = rows.at(-1);
    if (last === undefined) return;
    const started = performance.now();
    await connection.write((shadow) => applyLogged(shadow, replay, rows));
    options.onTransaction?.("fill", performance.now() - started);
    after = rowInt(last.position);
    if (rows.length < CATCH_UP_PAGE) return;
  }
}

const LOG_AFTER_SQL = `SELECT ${EVENT_COLUMNS} FROM ${EVENTS} WHERE position > ? ORDER BY position LIMIT ?`;

async function lastEventPosition(read: (sql: string) => Promise<{ last: unknown }[]>): Promise<number> {
  const [row] = await read("SELECT COALESCE(MAX(position), 0) AS last FROM events");
  return rowInt(row?.last ?? 0);
}

/**
 * Rebuilds every projection from the log without stopping the server: replays into shadow tables,
 * catches up with what was committed meanwhile, and swaps the shadow tables in.
 */
export async function rebuildProjections(
  db: Database,
  options: RebuildOptions = {},
): Promise<RebuildSummary> {
  const connection = openShadowConnection(options.connection ?? db.config);
  try {
    const replay = new Replay();
    // The first pass only appends rows to the model tables: their indexes are built after it.
    await connection.createShadow(Object.keys(STREAM_TABLE_COLUMNS));
    try {
      let reached = await lastEventPosition((sql) => connection.read(sql));
      await fillModelStreams(connection, replay, reached, options);
      // Before the access pass and the catch-up, which look rows up and upsert like inline projection.
      await connection.createDeferredIndexes((ms) => options.onTransaction?.("index", ms));
      await fillAccessStreams(connection, replay, reached, options);
      await options.onFilled?.(reached);
      for (let round = 0; round < MAX_CATCH_UP_ROUNDS; round += 1) {
        const rows = await connection.read<ChainSqlRow>(LOG_AFTER_SQL, [reached, CATCH_UP_PAGE]);
        const last = rows.at(-1);
        if (last === undefined) break;
        const started = performance.now();
        await connection.write((shadow) => applyLogged(shadow, replay, rows));
        options.onTransaction?.("catchUp", performance.now() - started);
        reached = rowInt(last.position);
        if (rows.length <= SMALL_LAG) break;
      }
      const started = performance.now();
      await connection.swap(async (shadow, live) => {
        // Under the writers' lock nothing commits any more: whatever is left is the last of it.
        for (;;) {
          const rows = await live.query<ChainSqlRow>(LOG_AFTER_SQL, [reached, CATCH_UP_PAGE]);
          const last = rows.at(-1);
          if (last === undefined) break;
          await applyLogged(shadow, replay, rows);
          reached = rowInt(last.position);
        }
        // When a token was last used is not an event (see access/lastUsed.ts): carried over, not replayed.
        const tokens = connection.shadowName("api_tokens");
        await live.execute(
          `UPDATE ${tokens} SET last_used_at = (SELECT l.last_used_at FROM api_tokens l WHERE l.id = ${tokens}.id)`,
        );
      });
      options.onTransaction?.("swap", performance.now() - started);
      // The webhooks context rebuilds its one small table itself, in one transaction of the server's.
      await rebuildWebhookProjection(db);
    } catch (error) {
      await connection.dropShadow().catch(() => undefined);
      throw error;
    }
    return {
      streams: replay.heads.size,
      events: replay.events,
      skippedEvents: replay.skipped,
      breaks: replay.breaks,
    };
  } finally {
    await connection.close();
  }
}
