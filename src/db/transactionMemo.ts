// What a write left behind, for the writes after it in the same transaction (#18). A SQLite group
// commit runs several commands in one transaction, each in a savepoint of its own (./database.ts);
// inside it nothing else writes, so what an earlier command wrote is still exactly what it wrote,
// unless its savepoint was rolled back or the transaction has ended. A value is kept with the commit
// callback of the write that left it (Tx.afterCommit), and is given out only while that callback
// still waits. Used for the head a command appended (../store/ownHeads.ts) and the views it left
// its stream in (../application/transactionViews.ts).
import type { SqlTx } from "./sql.ts";

interface Left<V> {
  readonly value: V;
  readonly waiting: () => boolean;
}

export class TransactionMemo<V> {
  /** Per transaction object (a writer's Tx lives across its transactions): values by key. */
  private readonly byTx = new WeakMap<object, Map<string, Left<V>>>();

  /** `max`: keys kept per transaction object; past it the memory starts again (a miss costs a read). */
  constructor(private readonly max: number) {}

  /** The value a write earlier in `tx`'s running transaction left under `key`, its savepoint holding. */
  get(tx: SqlTx, key: string): V | undefined {
    const left = this.byTx.get(tx)?.get(key);
    return left?.waiting() === true ? left.value : undefined;
  }

  /**
   * Leaves `value` under `key` for the rest of the transaction; `committed` runs once it commits
   * (as Tx.afterCommit's callback), after the value has left the memo.
   */
  set(tx: SqlTx, key: string, value: V, committed?: (value: V) => void): void {
    const values = this.values(tx);
    const left: Left<V> = {
      value,
      waiting: tx.afterCommit(() => {
        if (values.get(key) === left) values.delete(key);
        committed?.(value);
      }),
    };
    if (values.size >= this.max && !values.has(key)) values.clear();
    values.set(key, left);
  }

  /** Forgets what was left under `key` (a write that leaves nothing to reuse). */
  delete(tx: SqlTx, key: string): void {
    this.byTx.get(tx)?.delete(key);
  }

  private values(tx: SqlTx): Map<string, Left<V>> {
    let values = this.byTx.get(tx);
    if (values === undefined) this.byTx.set(tx, (values = new Map<string, Left<V>>()));
    return values;
  }
}
