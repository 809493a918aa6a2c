// Transfer progress. On a terminal (stderr is a TTY): a cli-progress multibar, one bar per file in
// flight (bytes, rate, time left) and a total; a finished file leaves its bar for one line above the
// bars, so a directory of hundreds of files does not fill the screen with bars. Otherwise one plain line per finished file on stderr, so CI
// logs stay readable. `--quiet` and `--json` show nothing.
import cliProgress from "cli-progress";
import { formatBytes, printable } from "./output.ts";

export interface FileProgress {
  advance(bytes: number): void;
  /** The file is finished; `note` says how (e.g. "uploaded", "resumed at 12 MiB", "up to date"). */
  done(note: string): void;
  fail(reason: string): void;
}

export interface Progress {
  file(name: string, size: number): FileProgress;
  stop(): void;
}

export function createProgress(options: {
  enabled: boolean;
  verb: string;
  totalBytes: number;
  stream?: NodeJS.WriteStream;
}): Progress {
  const stream = options.stream ?? process.stderr;
  if (!options.enabled) return silentProgress;
  if (stream.isTTY) return barProgress(stream, options.totalBytes, options.verb);
  return lineProgress(stream, options.verb);
}

const silentFile: FileProgress = { advance: () => undefined, done: () => undefined, fail: () => undefined };
const silentProgress: Progress = { file: () => silentFile, stop: () => undefined };

function lineProgress(stream: NodeJS.WritableStream, verb: string): Progress {
  return {
    file(name, size) {
      const started = performance.now();
      return {
        advance: () => undefined,
        done(note) {
          const seconds = (performance.now() - started) / 1000;
          const rate = seconds > 0 ? ` ${formatBytes(size / seconds)}/s` : "";
          stream.write(
            printable(`${note || verb} ${name} ${formatBytes(size)} in ${seconds.toFixed(1)} s${rate}`) +
              "\n",
          );
        },
        fail(reason) {
          stream.write(printable(`failed ${name}: ${reason}`) + "\n");
        },
      };
    },
    stop: () => undefined,
  };
}

function barProgress(stream: NodeJS.WriteStream, totalBytes: number, verb: string): Progress {
  const bars = new cliProgress.MultiBar(
    {
      stream,
      format: "{name} |{bar}| {percentage}% {done}/{size} {rate} ETA {eta_formatted} {note}",
      barsize: 20,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 50,
      fps: 10,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  const payload = (name: string, value: number, size: number, since: number, note = "") => {
    const seconds = (performance.now() - since) / 1000;
    return {
      name: printable(name.length > 24 ? `…${name.slice(-23)}` : name.padEnd(24)),
      done: formatBytes(value),
      size: formatBytes(size),
      rate: seconds > 0 ? `${formatBytes(value / seconds)}/s` : "",
      // A failure's reason may quote the server (an error message): it must not drive the terminal.
      note: printable(note),
    };
  };
  let totalDone = 0;
  const total = bars.create(Math.max(totalBytes, 1), 0, payload(`total (${verb})`, 0, totalBytes, started));
  return {
    file(name, size) {
      const since = performance.now();
      let value = 0;
      const bar = bars.create(Math.max(size, 1), 0, payload(name, 0, size, since));
      return {
        advance(bytes) {
          value += bytes;
          totalDone += bytes;
          bar.update(value, payload(name, value, size, since));
          total.update(totalDone, payload(`total (${verb})`, totalDone, totalBytes, started));
        },
        done(note) {
          // A skipped or resumed file counts in full towards the total.
          totalDone += size - value;
          value = size;
          bars.remove(bar);
          const seconds = (performance.now() - since) / 1000;
          bars.log(
            printable(`${note || verb} ${name} ${formatBytes(size)} in ${seconds.toFixed(1)} s`) + "\n",
          );
          total.update(totalDone, payload(`total (${verb})`, totalDone, totalBytes, started));
        },
        fail(reason) {
          bar.update(value, payload(name, value, size, since, `FAILED: ${reason}`));
        },
      };
    },
    stop() {
      // One last redraw: it writes the lines logged since the previous one, which stop() would drop.
      bars.update();
      bars.stop();
    },
  };
}
