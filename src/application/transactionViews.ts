// SQLite (#18): a group commit runs several commands in one transaction (../db/database.ts), and
// with many clients on one model most of them follow another command on the same stream. The views
// a command left are exactly what the next one would read back: inside the transaction nothing else
// writes (SQLite's write lock is held), and a model's projection rows change only with the events
// its commands append (the inline projection). So the next command takes what it needs from them
// (viewsFor, as PostgreSQL's cached path does across commits: ./streamStateCache.ts) instead of
// reading the projection again. Views left by a command whose savepoint rolled back, or by a
// transaction that has ended, are not used (../db/transactionMemo.ts).
import type { Tx } from "../db/database.ts";
import { TransactionMemo } from "../db/transactionMemo.ts";
import type { StateNeeds } from "../domain/registeredModel/decide.ts";
import type { StreamViews } from "../projections/streamViews.ts";
import { viewsFor } from "./streamStateCache.ts";

/** Streams remembered per transaction object; past it the memory starts again (a miss reads). */
const left = new TransactionMemo<StreamViews>(1_000);

/** What a command needs of its stream, from the views a command earlier in the transaction left. */
export function viewsLeftInTransaction(tx: Tx, streamId: string, needs: StateNeeds): StreamViews | null {
  if (tx.dialect !== "sqlite") return null;
  const views = left.get(tx, streamId);
  return views === undefined ? null : viewsFor(views, needs);
}

/** Records the views a command left its stream in, once its projection rows are written (SQLite). */
export function leaveViews(tx: Tx, streamId: string, views: StreamViews): void {
  if (tx.dialect === "sqlite") left.set(tx, streamId, views);
}
