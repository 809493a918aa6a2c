import { parentPort, workerData } from "node:worker_threads";
import { inspectArtifactInProcess } from "./index.ts";
import type { InspectOptions } from "./types.ts";

const data = workerData as { filePath: string; fileName: string; options: InspectOptions; startedAt: number };
// Worker start-up (loading the TS loader) already spent part of the budget; only the rest is ours.
const spent = Date.now() - data.startedAt;
const budget = Math.max(1, (data.options.timeBudgetMs ?? 30_000) - spent);
const result = await inspectArtifactInProcess(data.filePath, data.fileName, {
  ...data.options,
  timeBudgetMs: budget,
});
parentPort?.postMessage(result);
