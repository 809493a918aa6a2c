// Temp folders of uploads in progress, one per process, so that several Registro instances can share
// one ARTIFACT_DIR (on one host, or over NFS) without deleting each other's half-written files. A
// folder is owned by the process named in its `owner` file, whose mtime is the owner's heartbeat.
// Another instance removes a folder only when its owner is provably gone (same machine, same boot,
// same pid namespace, and no process with that pid) or has been silent for far longer than any
// heartbeat interval: pids mean nothing across machines, and clocks of NFS clients may disagree.
import { randomBytes } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { mkdir, open, readFile, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { z } from "zod";

/**
 * How long a temp folder (or a loose temp file of an older Registro) may go without a sign of life
 * before any instance removes it. Generous on purpose: a paused VM or a host whose clock is hours
 * off must not lose an upload, and an abandoned folder costs only disk space until then.
 */
export const ABANDONED_AFTER_MS = 24 * 60 * 60 * 1000;

/** How often a live process refreshes its folder's heartbeat; far below ABANDONED_AFTER_MS. */
export const HEARTBEAT_MS = 60 * 1000;

const OWNER_FILE = "owner";

const ownerSchema = z.object({
  host: z.string(),
  bootId: z.string().nullable(),
  pidNamespace: z.string().nullable(),
  pid: z.number().int().positive(),
  startedAt: z.string(),
});
type Owner = z.infer<typeof ownerSchema>;

const readOrNull = (read: () => string): string | null => {
  try {
    return read().trim();
  } catch {
    return null;
  }
};

/**
 * This machine, precisely enough that a pid names one process: pids restart at every boot, and
 * containers on one host (possibly with the same hostname) each have their own pid namespace.
 * Outside Linux both are unknown, and the hostname alone has to do.
 */
const thisMachine = {
  host: os.hostname(),
  bootId: readOrNull(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8")),
  pidNamespace: readOrNull(() => readlinkSync("/proc/self/ns/pid")),
};

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

function ownerIsGone(owner: Owner): boolean {
  return (
    owner.host === thisMachine.host &&
    owner.bootId === thisMachine.bootId &&
    owner.pidNamespace === thisMachine.pidNamespace &&
    !isRunning(owner.pid)
  );
}

async function readOwner(folder: string): Promise<Owner | null> {
  try {
    const parsed = ownerSchema.safeParse(JSON.parse(await readFile(path.join(folder, OWNER_FILE), "utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

const mtimeOf = async (file: string) => (await stat(file).catch(() => null))?.mtimeMs ?? null;

/** This process's temp folder under `parent`: created on first use, kept alive by a heartbeat. */
export class TemporaryFolder {
  readonly path: string;
  private readonly ownerFile: string;
  private ready: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    parent: string,
    private readonly heartbeatMs = HEARTBEAT_MS,
  ) {
    const host = thisMachine.host.replace(/[^A-Za-z0-9.-]/g, "_") || "host";
    this.path = path.join(parent, `${host}-${process.pid}-${randomBytes(4).toString("hex")}`);
    this.ownerFile = path.join(this.path, OWNER_FILE);
  }

  /** Creates the folder and its owner file (once) and starts the heartbeat. */
  ensure(): Promise<void> {
    this.ready ??= this.create().then(
      () => {
        // unref: a heartbeat must never keep a finished process (a CLI, a test) alive.
        this.heartbeat ??= setInterval(() => void this.beat(), this.heartbeatMs).unref();
      },
      (error: unknown) => {
        this.ready = null;
        throw error;
      },
    );
    return this.ready;
  }

  /** Creates a new file in the folder, exclusively; recreates the folder if someone removed it. */
  async createFile(name: string): Promise<FileHandle> {
    await this.ensure();
    const file = path.join(this.path, name);
    try {
      return await open(file, "wx", 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      await this.create();
      return open(file, "wx", 0o644);
    }
  }

  private async create(): Promise<void> {
    await mkdir(this.path, { recursive: true });
    const owner: Owner = { ...thisMachine, pid: process.pid, startedAt: new Date().toISOString() };
    await writeFile(this.ownerFile, JSON.stringify(owner), { mode: 0o644 });
  }

  private async beat(): Promise<void> {
    const now = new Date();
    try {
      await utimes(this.ownerFile, now, now);
    } catch {
      // Removed under us (by an operator, or an older Registro that emptied tmp/ at start-up): put
      // it back, so that this process's uploads keep a home that others recognise as owned. Not
      // when it was released meanwhile: that would leave a folder behind.
      if (this.heartbeat !== null) await this.create().catch(() => undefined);
    }
  }

  /** Stops the heartbeat and removes the folder with anything still in it. */
  async release(): Promise<void> {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const wasCreated = this.ready !== null;
    this.ready = null;
    if (wasCreated) await rm(this.path, { recursive: true, force: true });
  }
}

/**
 * Removes from `parent` the temp folders of processes that are gone (or silent for longer than
 * `abandonedAfterMs`), and loose files older than that (older Registro versions wrote
 * `tmp/<uuid>.part` directly). Never touches `keep`. Returns how many entries it removed.
 */
export async function removeAbandonedTemporaryFiles(
  parent: string,
  keep: string,
  abandonedAfterMs = ABANDONED_AFTER_MS,
): Promise<number> {
  const cutoff = Date.now() - abandonedAfterMs;
  let removed = 0;
  for (const entry of await readdir(parent, { withFileTypes: true })) {
    const entryPath = path.join(parent, entry.name);
    if (entryPath === keep) continue;
    let abandoned: boolean;
    if (entry.isDirectory()) {
      const owner = await readOwner(entryPath);
      // Without a readable owner file (a folder being created right now, or damaged), the
      // folder's own mtime stands in for the heartbeat.
      const lastSign = (await mtimeOf(path.join(entryPath, OWNER_FILE))) ?? (await mtimeOf(entryPath));
      abandoned = (owner !== null && ownerIsGone(owner)) || (lastSign !== null && lastSign < cutoff);
    } else {
      const modified = await mtimeOf(entryPath);
      abandoned = modified !== null && modified < cutoff;
    }
    if (!abandoned) continue;
    await rm(entryPath, { recursive: true, force: true });
    removed++;
  }
  return removed;
}
