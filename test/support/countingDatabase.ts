// A database handle that counts the statements sent through it: each `query`, and each `query` or
// `execute` inside a `write`. Tests and benches use it to show that a path's statements do not grow
// with something they must not grow with (the webhook worker with idle webhooks), or, through
// `onStatement`, how often one kind of statement runs (the webhook worker's passes).
import type { Database, Tx } from "../../src/db/database.ts";

export function countingDatabase(
  db: Database,
  onStatement: (sql: string) => void = () => undefined,
): { db: Database; counter: { statements: number } } {
  const counter = { statements: 0 };
  const seen = (sql: unknown) => {
    counter.statements += 1;
    onStatement(String(sql));
  };
  const countedTx = (tx: Tx): Tx =>
    new Proxy(tx, {
      get(object, property) {
        const value: unknown = Reflect.get(object, property, object);
        if (typeof value !== "function") return value;
        if (property !== "execute" && property !== "query") return value.bind(object);
        return (...args: unknown[]) => {
          seen(args[0]);
          return value.apply(object, args);
        };
      },
    });
  const counted = new Proxy(db, {
    get(object, property) {
      if (property === "query")
        return (...args: Parameters<Database["query"]>) => {
          seen(args[0]);
          return object.query(...args);
        };
      if (property === "write")
        return <T>(work: (tx: Tx) => Promise<T>, options?: Parameters<Database["write"]>[1]) =>
          object.write((tx) => work(countedTx(tx)), options);
      return Reflect.get(object, property, object);
    },
  });
  return { db: counted, counter };
}
