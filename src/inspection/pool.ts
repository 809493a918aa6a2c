// A small pool of long-lived inspection workers. `inspectArtifact` starts a worker per file, which
// costs ~0.7 s of TypeScript-loader start-up each time; the pool pays it once per worker and keeps
// the same guarantees: parsing happens off the main thread, each file gets a time budget (the worker
// is terminated and replaced when it overruns) and a heap ceiling, and nothing rejects. Concurrency
// is bounded by the pool size; waiting files queue, and past `maxQueue` they are refused (UNSCANNABLE).
import { Worker } from "node:worker_threads";
import { workerBootstrap } from "../workerBootstrap.ts";
import { emptyReport } from "./report.ts";
import type { InspectionResult, InspectOptions } from "./types.ts";
import { DEFAULT_LIMITS } from "./verdict.ts";

export interface InspectionPoolOptions {
  /** Workers running at once (default 1). */
  readonly size?: number;
  /** Files waiting for a worker beyond which new ones are refused as UNSCANNABLE (default 1,000). */
  readonly maxQueue?: number;
  /** A worker idle this long is stopped, returning its memory (default 60 s). */
  readonly idleMs?: number;
  /** A worker is replaced after this many files, so its heap never accumulates (default 500). */
  readonly maxTasksPerWorker?: number;
  /** Parser caps and the per-file time budget (see InspectOptions). */
  readonly limits?: InspectOptions;
  /** Longest a worker may take to start before its file is given up (default 60 s). */
  readonly startTimeoutMs?: number;
}

interface Task {
  readonly id: number;
  readonly filePath: string;
  readonly fileName: string;
  readonly resolve: (result: InspectionResult) => void;
}

interface Slot {
  readonly worker: Worker;
  state: "starting" | "idle" | "busy" | "gone";
  task: Task | null;
  timer: NodeJS.Timeout | null;
  tasksDone: number;
}

type WorkerMessage =
  | { type: "ready" }
  | { type: "result"; id: number; result: InspectionResult }
  | { type: "failed"; id: number; message: string };

export function unscannableResult(message: string): InspectionResult {
  return {
    ...emptyReport("UNKNOWN"),
    verdict: "UNSCANNABLE",
    findings: [{ severity: "MEDIUM", message, location: null }],
  };
}

/** Grace on top of the worker's own budget check: the hard stop only fires when parsing is stuck. */
const HARD_STOP_GRACE_MS = 1000;

export class InspectionPool {
  private readonly size: number;
  private readonly maxQueue: number;
  private readonly idleMs: number;
  private readonly maxTasksPerWorker: number;
  private readonly startTimeoutMs: number;
  private readonly limits: InspectOptions & { timeBudgetMs: number; maxWorkerHeapMb: number };
  private readonly slots = new Set<Slot>();
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private readonly bootstrap: string;

  constructor(options: InspectionPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? 1));
    this.maxQueue = Math.max(0, options.maxQueue ?? 1000);
    this.idleMs = options.idleMs ?? 60_000;
    this.maxTasksPerWorker = options.maxTasksPerWorker ?? 500;
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.limits = {
      ...options.limits,
      timeBudgetMs: options.limits?.timeBudgetMs ?? DEFAULT_LIMITS.timeBudgetMs,
      maxWorkerHeapMb: options.limits?.maxWorkerHeapMb ?? DEFAULT_LIMITS.maxWorkerHeapMb,
    };
    this.bootstrap = workerBootstrap(new URL("./poolWorker.ts", import.meta.url));
  }

  /** Workers currently alive (starting, idle or busy). */
  get workers(): number {
    return this.slots.size;
  }

  /** Files waiting for a worker. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Inspects a file on a pool worker. Never rejects: every failure is an UNSCANNABLE result. */
  inspect(filePath: string, fileName: string): Promise<InspectionResult> {
    if (this.closed)
      return Promise.resolve(unscannableResult("Incomplete scan: the inspector is shutting down"));
    if (this.queue.length >= this.maxQueue)
      return Promise.resolve(
        unscannableResult(
          `Incomplete scan: ${this.queue.length} files are already waiting for inspection; inspect this one again later`,
        ),
      );
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, filePath, fileName, resolve });
      this.pump();
    });
  }

  /** Stops every worker; files still waiting get an UNSCANNABLE result. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0))
      task.resolve(unscannableResult("Incomplete scan: the inspector is shutting down"));
    const stopping: Promise<unknown>[] = [];
    for (const slot of [...this.slots]) {
      slot.task?.resolve(unscannableResult("Incomplete scan: the inspector is shutting down"));
      slot.task = null;
      stopping.push(this.retire(slot));
    }
    await Promise.all(stopping);
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      const idle = [...this.slots].find((s) => s.state === "idle");
      if (idle) {
        this.assign(idle, this.queue.shift()!);
        continue;
      }
      const starting = [...this.slots].filter((s) => s.state === "starting").length;
      // Start a worker only if the ones already starting will not cover the queue.
      if (this.slots.size < this.size && starting < this.queue.length) {
        this.spawn();
        continue;
      }
      return;
    }
  }

  private spawn(): void {
    let worker: Worker;
    try {
      worker = new Worker(this.bootstrap, {
        eval: true,
        resourceLimits: { maxOldGenerationSizeMb: this.limits.maxWorkerHeapMb },
        stdout: false,
        stderr: false,
      });
    } catch (error) {
      // Cannot start workers at all: answer the oldest file instead of retrying forever.
      this.queue
        .shift()
        ?.resolve(
          unscannableResult(
            `Incomplete scan: could not start an inspection worker: ${(error as Error).message}`,
          ),
        );
      return;
    }
    worker.unref();
    const slot: Slot = { worker, state: "starting", task: null, timer: null, tasksDone: 0 };
    this.slots.add(slot);
    slot.timer = setTimeout(
      () => this.fail(slot, `could not start within ${this.startTimeoutMs} ms`),
      this.startTimeoutMs,
    ).unref();
    worker.on("message", (message: WorkerMessage) => this.onMessage(slot, message));
    worker.on("error", (error: Error & { code?: string }) =>
      this.fail(
        slot,
        error.code === "ERR_WORKER_OUT_OF_MEMORY" ? "ran out of memory" : `failed: ${error.message}`,
      ),
    );
    worker.on("exit", (code) => this.fail(slot, `exited (code ${code}) without a result`));
  }

  private assign(slot: Slot, task: Task): void {
    slot.state = "busy";
    slot.task = task;
    this.clearTimer(slot);
    const budget = this.limits.timeBudgetMs;
    slot.timer = setTimeout(
      () => this.fail(slot, `exceeded its time budget of ${budget} ms and was stopped`, "inspection"),
      budget + HARD_STOP_GRACE_MS,
    ).unref();
    slot.worker.postMessage({
      id: task.id,
      filePath: task.filePath,
      fileName: task.fileName,
      options: this.limits,
    });
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    if (slot.state === "gone") return;
    if (message.type === "ready") {
      if (slot.state !== "starting") return;
      this.clearTimer(slot);
      this.becomeIdle(slot);
      return;
    }
    const task = slot.task;
    if (task === null || task.id !== message.id) return;
    slot.task = null;
    this.clearTimer(slot);
    task.resolve(
      message.type === "result"
        ? message.result
        : unscannableResult(`Incomplete scan: inspection failed: ${message.message}`),
    );
    slot.tasksDone++;
    if (slot.tasksDone >= this.maxTasksPerWorker) void this.retire(slot);
    else this.becomeIdle(slot);
    this.pump();
  }

  private becomeIdle(slot: Slot): void {
    slot.state = "idle";
    slot.timer = setTimeout(() => void this.retire(slot), this.idleMs).unref();
    this.pump();
  }

  /** A worker broke (crash, out of memory, overrun, no start): its file is UNSCANNABLE, the worker replaced. */
  private fail(slot: Slot, why: string, what: "inspection" | "worker" = "worker"): void {
    if (slot.state === "gone") return;
    const task = slot.task;
    const wasStarting = slot.state === "starting";
    slot.task = null;
    void this.retire(slot);
    const message =
      what === "inspection"
        ? `Incomplete scan: inspection ${why}`
        : `Incomplete scan: inspection worker ${why}`;
    if (task) task.resolve(unscannableResult(message));
    // A worker that dies while starting would die again: answer one waiting file so the queue drains.
    else if (wasStarting && this.slots.size === 0) this.queue.shift()?.resolve(unscannableResult(message));
    this.pump();
  }

  private retire(slot: Slot): Promise<number> {
    this.clearTimer(slot);
    slot.state = "gone";
    this.slots.delete(slot);
    return slot.worker.terminate();
  }

  private clearTimer(slot: Slot): void {
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = null;
  }
}
