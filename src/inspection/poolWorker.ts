// Entry of a long-lived pool worker: inspects one file per message, sequentially, and answers with
// the result. Start-up (the TypeScript loader) is paid once per worker instead of once per file.
import { parentPort } from "node:worker_threads";
import { inspectArtifactInProcess } from "./index.ts";
import type { InspectOptions } from "./types.ts";

interface Task {
  readonly id: number;
  readonly filePath: string;
  readonly fileName: string;
  readonly options: InspectOptions;
}

const port = parentPort;
if (port === null) throw new Error("poolWorker.ts must run in a worker thread");
port.on("message", (task: Task) => {
  void inspectArtifactInProcess(task.filePath, task.fileName, task.options).then(
    (result) => port.postMessage({ type: "result", id: task.id, result }),
    (error: unknown) =>
      port.postMessage({
        type: "failed",
        id: task.id,
        message: error instanceof Error ? error.message : String(error),
      }),
  );
});
port.postMessage({ type: "ready" });
