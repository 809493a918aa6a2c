// The rebuild's first pass spends about a third of its time on the hash chain (canonical encoding
// and SHA-256 of every event). That work needs nothing the fold needs, so a worker thread does it
// while the main thread parses, folds and inserts the previous page: the two overlap. The verdict
// still gates what is projected: a page is folded only once its breaks are known.
import { Worker } from "node:worker_threads";
import type { ChainBreak } from "../../audit/chainVerifier.ts";
import { workerBootstrap } from "../../workerBootstrap.ts";
import type { ChainSqlRow } from "../../store/eventStore.ts";
import type { ChainPage, ChainVerdict } from "./chainWorker.ts";

interface Pending {
  readonly resolve: (breaks: readonly ChainBreak[]) => void;
  readonly reject: (error: Error) => void;
}

/** Verifies consecutive pages of the model log in a worker thread, in the order they are submitted. */
export class ChainCheck {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor() {
    this.worker = new Worker(workerBootstrap(new URL("./chainWorker.ts", import.meta.url)), {
      eval: true,
    });
    this.worker.on("message", ({ id, breaks }: ChainVerdict) => {
      const waiting = this.pending.get(id);
      this.pending.delete(id);
      waiting?.resolve(breaks);
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`the chain verification worker exited (code ${code})`)));
  }

  /** The breaks among `rows`, which must follow the rows submitted before them in (stream, revision) order. */
  submit(rows: readonly ChainSqlRow[]): Promise<readonly ChainBreak[]> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, rows } satisfies ChainPage);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }
}
