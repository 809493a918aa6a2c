// Resume tokens for subscriptions. A cursor names a place in the global log: "after the event at
// this position" (optionally "after the first n+1 notifications derived from it", for subscriptions
// that turn one event into several notifications). Clients treat it as opaque; the prefix lets us
// change the encoding later and rejects tokens that were never ours.

const PREFIX = "registro:log:v1:";
const BODY = /^(0|[1-9][0-9]{0,15})(?::(0|[1-9][0-9]{0,5}))?$/;

export interface LogCursor {
  /** Position of the last event fully or partly delivered. */
  readonly position: number;
  /**
   * Set when only part of the event at `position` was delivered: the index of the last notification
   * delivered from it. Resuming then continues with notification `part + 1` of that event.
   */
  readonly part?: number;
}

export class InvalidCursorError extends Error {
  constructor(
    readonly cursor: string,
    reason: string,
  ) {
    super(`invalid cursor "${cursor.length > 64 ? `${cursor.slice(0, 64)}…` : cursor}": ${reason}`);
    this.name = "InvalidCursorError";
  }
}

export function encodeCursor(cursor: LogCursor | number): string {
  const { position, part } = typeof cursor === "number" ? { position: cursor, part: undefined } : cursor;
  return Buffer.from(`${PREFIX}${position}${part === undefined ? "" : `:${part}`}`, "utf8").toString(
    "base64url",
  );
}

export function decodeCursor(cursor: string): LogCursor {
  if (cursor.length === 0 || cursor.length > 128 || !/^[A-Za-z0-9_-]+$/.test(cursor))
    throw new InvalidCursorError(cursor, "not a cursor issued by this registry");
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (!text.startsWith(PREFIX)) throw new InvalidCursorError(cursor, "not a cursor issued by this registry");
  const match = BODY.exec(text.slice(PREFIX.length));
  const position = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(position)) throw new InvalidCursorError(cursor, "malformed position");
  return match[2] === undefined ? { position } : { position, part: Number(match[2]) };
}

/** The position a log read must start after so that nothing the cursor did not cover is skipped. */
export function readFrom(cursor: LogCursor): number {
  return cursor.part === undefined ? cursor.position : cursor.position - 1;
}
