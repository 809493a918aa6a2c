// SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages, on the
// connection that commits: with better-sqlite3 that is the event loop, which then copies the pages
// into the database file and fsyncs it (synchronous=FULL) while every request waits, the p99 spikes
// of the write path. The server's writer turns it off (wal_autocheckpoint = 0) and this worker
// thread checkpoints instead, on a connection of its own: PASSIVE checkpoints never take the write
// lock nor wait for readers, so commits go on while it copies.
//
// Durability is the WAL's, not the checkpoint's: every commit has fsynced its frames before it is
// acknowledged, and a process killed mid-checkpoint leaves a WAL that the next opening replays, as
// SQLite does after any crash. What the worker changes is only when the pages reach the main file.
//
// The bound: a PASSIVE checkpoint copies the frames present when it starts, and the WAL only starts
// over once a checkpoint has copied them all with no commit in between. Under a steady stream of
// commits that may never happen, so the writer watches the WAL's length as the worker last saw it
// and, past `maxWalFrames` (or past as many commits since the last checkpoint, should the worker be
// stalled or gone: every commit adds at least one frame), runs one PASSIVE checkpoint itself right
// after a commit (nothing can commit during it): it finds most frames already copied by the worker,
// copies the rest, and the next write transaction starts the WAL over.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

export interface WalCheckpointerOptions {
  /** How often the worker checkpoints while commits arrive (ms). */
  readonly intervalMs?: number;
  /** WAL length (frames, one page each) past which the writer checkpoints after its commit. */
  readonly maxWalFrames?: number;
  /** Told when the worker's checkpoint fails or the worker dies (the writer's fallback still bounds the WAL). */
  readonly onError?: (error: Error) => void;
}

export const DEFAULT_CHECKPOINT_INTERVAL_MS = 200;
/** 4× SQLite's automatic checkpoint threshold: about 16 MB of WAL with 4 KiB pages. */
export const DEFAULT_MAX_WAL_FRAMES = 4_000;

// Shared state, one Int32 each: commits since the worker's last checkpoint, and the WAL length
// (frames) the last checkpoint (the worker's or the writer's) reported.
const COMMITS = 0;
const WAL_FRAMES = 1;

// Plain JavaScript (no TypeScript loader in the thread): it needs only the driver.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const state = new Int32Array(workerData.state);
let db = null;
let checkpoint = null;
function run() {
  if (Atomics.load(state, ${COMMITS}) === 0) return;
  try {
    if (db === null) {
      db = new Database(workerData.file, { fileMustExist: true, timeout: 0 });
      db.pragma("synchronous = FULL");
      db.pragma("wal_autocheckpoint = 0");
      checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
    }
    Atomics.store(state, ${COMMITS}, 0);
    const result = checkpoint.get();
    Atomics.store(state, ${WAL_FRAMES}, result.log < 0 ? 0 : result.log);
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
}
const timer = setInterval(run, workerData.intervalMs);
parentPort.on("message", (message) => {
  if (message !== "close") return;
  clearInterval(timer);
  run();
  if (db !== null) db.close();
  parentPort.postMessage({ closed: true });
  parentPort.close();
});
`;

export class WalCheckpointer {
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;
  readonly maxWalFrames: number;
  private closed: Promise<void> | null = null;
  private exited = false;

  constructor(file: string, options: WalCheckpointerOptions = {}) {
    this.maxWalFrames = options.maxWalFrames ?? DEFAULT_MAX_WAL_FRAMES;
    const onError = options.onError ?? (() => undefined);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        file,
        driver: createRequire(import.meta.url).resolve("better-sqlite3"),
        state: this.state.buffer,
        intervalMs: options.intervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
      },
    });
    // Never what keeps the process alive: close() ends it, and an exit skips it harmlessly.
    this.worker.unref();
    this.worker.on("message", (message: { error?: string }) => {
      if (message.error !== undefined) onError(new Error(`WAL checkpoint failed: ${message.error}`));
    });
    this.worker.on("error", onError);
    this.worker.once("exit", () => (this.exited = true));
  }

  /** A write transaction committed: the next round of the worker has work. */
  committed(): void {
    Atomics.add(this.state, COMMITS, 1);
  }

  /** Whether the WAL has grown past the bound (the writer then checkpoints after its commit). */
  get overBound(): boolean {
    return (
      Atomics.load(this.state, WAL_FRAMES) > this.maxWalFrames ||
      Atomics.load(this.state, COMMITS) > this.maxWalFrames
    );
  }

  /** What the writer's own checkpoint reported: a complete one lets the next write start the WAL over. */
  checkpointed(result: { log: number; checkpointed: number }): void {
    Atomics.store(this.state, COMMITS, 0);
    Atomics.store(this.state, WAL_FRAMES, result.log === result.checkpointed ? 0 : result.log);
  }

  /** Runs a last checkpoint of what is pending and ends the thread. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      const done = () => resolve();
      this.worker.once("exit", done);
      this.worker.on("message", (message: { closed?: boolean }) => {
        if (message.closed) void this.worker.terminate().then(done, done);
      });
      this.worker.postMessage("close");
    });
    return this.closed;
  }
}
