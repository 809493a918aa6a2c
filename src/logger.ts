// JSON log lines on stdout. Logging must never stop the server: pino's default destination
// flushes stdout synchronously when the process exits, so a stdout pipe whose reader stopped
// reading froze the process for good (it ignored every later signal). Lines go through Node's own
// stdout stream instead, which never blocks on a pipe; while the destination lags by more than a
// bound, new lines are dropped rather than buffered, and after a write error (EPIPE: the reader is
// gone) every line is dropped.
import { pino } from "pino";
import type { DestinationStream, Logger } from "pino";

/** Unwritten log bytes held in memory before new lines are dropped. */
export const DEFAULT_MAX_BUFFERED_LOG_BYTES = 4 * 1024 * 1024;

export interface LogDestination extends DestinationStream {
  /** Lines dropped because the destination lagged or had failed. */
  readonly dropped: number;
}

/** What the destination needs of a stream (process.stdout is one). */
export interface LogStream {
  readonly writableLength: number;
  write(chunk: string): boolean;
  on(event: "error", listener: (error: Error) => void): unknown;
}

export function nonBlockingDestination(
  stream: LogStream = process.stdout,
  maxBufferedBytes = DEFAULT_MAX_BUFFERED_LOG_BYTES,
): LogDestination {
  let failed = false;
  let dropped = 0;
  // Without a listener, EPIPE on stdout would be an uncaught exception.
  stream.on("error", () => {
    failed = true;
  });
  return {
    get dropped() {
      return dropped;
    },
    write(line: string) {
      if (failed || stream.writableLength > maxBufferedBytes) {
        dropped++;
        return;
      }
      stream.write(line);
    },
  };
}

export function createLogger(level: string, destination: LogDestination = nonBlockingDestination()): Logger {
  return pino({ level, base: { service: "registro" } }, destination);
}
