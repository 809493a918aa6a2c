// Another process uploading into a blob store, for tests of instances that share one ARTIFACT_DIR:
// it stops halfway through its upload until told to finish, or is killed there like a crash.
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";

export interface UploadingProcess {
  readonly pid: number;
  /** The process's temp folder, holding its half-written upload. */
  readonly tmpDir: string;
  /** Completes the upload; resolves to the stored blob's sha256 once the process has exited. */
  finish(): Promise<string>;
  /** SIGKILL: the half-written upload stays behind, as after a crash. */
  kill(): Promise<void>;
}

const MAIN = path.join(import.meta.dirname, "uploadingProcessMain.ts");

export async function startUploadingProcess(root: string): Promise<UploadingProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, root], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = once(child, "exit");
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (prefix: string): Promise<string> => {
    const line = await lines.next();
    if (line.done || !line.value.startsWith(`${prefix} `)) {
      child.kill("SIGKILL");
      throw new Error(`uploading process: expected '${prefix} …', got ${JSON.stringify(line.value)}`);
    }
    return line.value.slice(prefix.length + 1);
  };
  const tmpDir = await next("writing");
  return {
    pid: child.pid!,
    tmpDir,
    async finish() {
      child.stdin.write("finish\n");
      const sha256 = await next("stored");
      await exited;
      return sha256;
    },
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}
