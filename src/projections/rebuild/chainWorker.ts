// The worker side of ./chainCheck.ts: verifies pages of the model log, in (stream, revision) order,
// and answers each page with the chain breaks found in it. It holds one verifier across pages (a
// stream may straddle two) and remembers broken streams, whose later events it does not check.
import { parentPort } from "node:worker_threads";
import { ChainVerifier } from "../../audit/chainVerifier.ts";
import type { ChainBreak } from "../../audit/chainVerifier.ts";
import { decodeChainRow, isChainBreak } from "../../store/eventStore.ts";
import type { ChainSqlRow } from "../../store/eventStore.ts";

export interface ChainPage {
  readonly id: number;
  readonly rows: readonly ChainSqlRow[];
}

export interface ChainVerdict {
  readonly id: number;
  readonly breaks: readonly ChainBreak[];
}

const verifier = new ChainVerifier();
const broken = new Set<string>();

parentPort?.on("message", ({ id, rows }: ChainPage) => {
  const breaks: ChainBreak[] = [];
  for (const row of rows) {
    if (broken.has(row.stream_id)) continue;
    const event = decodeChainRow(row);
    const found = isChainBreak(event) ? event : verifier.next(event);
    if (found === null) continue;
    breaks.push(found);
    broken.add(found.streamId);
  }
  parentPort?.postMessage({ id, breaks } satisfies ChainVerdict);
});
