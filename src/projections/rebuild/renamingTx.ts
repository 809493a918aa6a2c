// The projection writers (streamViews.ts, access/projection.ts) name their tables in plain SQL. The
// rebuild runs the same writers against shadow tables by rewriting those names, token by token, so
// string literals and other identifiers are left alone and one writer serves both.
import type { Tx } from "../../db/database.ts";
import type { SqlValue, Statement } from "../../db/sql.ts";

/** String literals, quoted identifiers and bare words: only identifiers are candidates for renaming. */
const TOKEN = /'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|[A-Za-z_][A-Za-z0-9_$]*/g;

/** Rewrites the identifiers in `sql` that `names` maps (quoted or bare); everything else is kept. */
export function renameIdentifiers(sql: string, names: ReadonlyMap<string, string>): string {
  return sql.replace(TOKEN, (token) => {
    const first = token[0];
    if (first === "'") return token;
    const bare =
      first === '"'
        ? token.slice(1, -1).replaceAll('""', '"')
        : first === "`" || first === "["
          ? token.slice(1, -1)
          : token;
    return names.get(bare) ?? token;
  });
}

/** A write session whose statements address the renamed tables. Rewrites are cached per statement text. */
export class RenamingTx implements Tx {
  private readonly rewritten = new Map<string, string>();

  constructor(
    private readonly inner: Tx,
    /** Table name → the SQL that addresses its stand-in (already quoted). */
    private readonly names: ReadonlyMap<string, string>,
  ) {}

  get dialect(): Tx["dialect"] {
    return this.inner.dialect;
  }

  get database(): object {
    return this.inner.database;
  }

  afterCommit(callback: () => void): () => boolean {
    return this.inner.afterCommit(callback);
  }

  autonomous<T extends object = Record<string, unknown>>(
    sql: string,
    params?: readonly SqlValue[],
  ): Promise<T[]> {
    return this.inner.autonomous<T>(this.rewrite(sql), params);
  }

  private rewrite(sql: string): string {
    let result = this.rewritten.get(sql);
    if (result === undefined) {
      result = renameIdentifiers(sql, this.names);
      // Statements built for one row count are few; a bound keeps a pathological caller from growing this.
      if (this.rewritten.size < 10_000) this.rewritten.set(sql, result);
    }
    return result;
  }

  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.inner.query<T>(this.rewrite(sql), params);
  }

  execute(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.inner.execute(this.rewrite(sql), params);
  }

  batch(statements: readonly Statement[]): Promise<Record<string, unknown>[][]> {
    return this.inner.batch(statements.map((st) => ({ ...st, sql: this.rewrite(st.sql) })));
  }

  lockStream(streamId: string): Promise<void> {
    return this.inner.lockStream(streamId);
  }

  expect(sql: string, params?: readonly SqlValue[]): Promise<void> {
    return this.inner.expect(this.rewrite(sql), params);
  }

  later<T extends object = Record<string, unknown>>(
    sql: string,
    params?: readonly SqlValue[],
    onRows?: (rows: T[]) => void,
  ): Promise<boolean> {
    return this.inner.later(this.rewrite(sql), params, onRows);
  }
}
