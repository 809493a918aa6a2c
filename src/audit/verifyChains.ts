// Recomputes every stream's hash chain from the stored events: the walk behind `npm run audit:verify`,
// usable from tests and tools. Keyset pages over (stream_id, revision) (../store/streamOrder.ts),
// with one ChainVerifier: memory stays one page plus a bounded list of breaks, whatever the size of
// the log. Each page is its own statement, so the server keeps writing meanwhile; events
// appended during the walk are checked when the walk reaches them.
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Database } from "../db/database.ts";
import { rowInt } from "../db/sql.ts";
import { COLUMNS, EVENTS, decodeChainRow, isChainBreak } from "../store/eventStore.ts";
import type { ChainSqlRow } from "../store/eventStore.ts";
import { readInStreamOrder } from "../store/streamOrder.ts";
import type { StreamCursor } from "../store/streamOrder.ts";
import { ChainVerifier } from "./chainVerifier.ts";
import type { ChainBreak } from "./chainVerifier.ts";

export interface ChainProgress {
  readonly streams: number;
  readonly events: number;
}

export interface ChainReport {
  readonly ok: boolean;
  readonly streams: number;
  readonly events: number;
  /** Streams whose chain is broken (each reported once, at its first break). */
  readonly brokenStreams: number;
  /** The first break of each broken stream, in stream order, at most `maxBreaks` of them. */
  readonly breaks: readonly ChainBreak[];
  readonly elapsedMs: number;
}

export interface VerifyChainsOptions {
  /** Events per page (default 1000). */
  readonly pageSize?: number;
  /** How many breaks the report lists (default 100); the count covers every one. */
  readonly maxBreaks?: number;
  /** Called after each page. */
  readonly onProgress?: (progress: ChainProgress) => void;
  readonly signal?: AbortSignal;
}

const SELECT_EVENTS = `SELECT position, ${COLUMNS}, hash FROM ${EVENTS}`;

/** The verifier's verdict on a row; a row that cannot even be decoded (altered JSON) breaks its chain too. */
function check(verifier: ChainVerifier, row: ChainSqlRow): ChainBreak | null {
  const event = decodeChainRow(row);
  return isChainBreak(event) ? event : verifier.next(event);
}

export async function verifyChains(db: Database, options: VerifyChainsOptions = {}): Promise<ChainReport> {
  const pageSize = options.pageSize ?? 1000;
  const maxBreaks = options.maxBreaks ?? 100;
  const started = performance.now();
  const verifier = new ChainVerifier();
  const breaks: ChainBreak[] = [];
  let brokenStreams = 0;
  let brokenStream: string | null = null;
  let currentStream: string | null = null;
  let streams = 0;
  let events = 0;
  let after: StreamCursor | null = null;
  for (;;) {
    options.signal?.throwIfAborted();
    const rows: ChainSqlRow[] = await readInStreamOrder((sql, params) => db.query<ChainSqlRow>(sql, params), {
      select: SELECT_EVENTS,
      after,
      limit: pageSize,
    });
    for (const row of rows) {
      events++;
      if (row.stream_id !== currentStream) {
        currentStream = row.stream_id;
        streams++;
      }
      // After its first break a stream's later events cannot be judged: they chain onto a bad link.
      if (row.stream_id === brokenStream) continue;
      const broken = check(verifier, row);
      if (broken === null) continue;
      brokenStream = row.stream_id;
      brokenStreams++;
      if (breaks.length < maxBreaks) breaks.push(broken);
    }
    options.onProgress?.({ streams, events });
    const last = rows.at(-1);
    if (last === undefined || rows.length < pageSize) break;
    after = { streamId: last.stream_id, revision: rowInt(last.revision) };
    // better-sqlite3 answers synchronously: let timers and I/O run between pages when in a server.
    await yieldToEventLoop();
  }
  return {
    ok: brokenStreams === 0,
    streams,
    events,
    brokenStreams,
    breaks,
    elapsedMs: Math.round(performance.now() - started),
  };
}
