import { NO_ALLOW_IMPORTS, type OperatorAllowList } from "./operatorAllowList.ts";
import type { Finding, InspectOptions, Severity, Verdict } from "./types.ts";

/**
 * A finding plus whether it means "we could not look at everything". That flag is what separates
 * UNSCANNABLE from SUSPICIOUS; it is dropped from the public result, whose Finding shape is fixed.
 */
export interface ScanFinding extends Finding {
  incomplete: boolean;
}

export type Limits = Required<Omit<InspectOptions, "allowImports">>;

export const DEFAULT_LIMITS: Limits = {
  maxBytes: 64 * 1024 ** 3,
  timeBudgetMs: 30_000,
  maxMemberBytes: 256 * 1024 ** 2,
  maxDecompressedBytes: 1024 ** 3,
  maxArchiveEntries: 100_000,
  maxArchiveTotalBytes: 64 * 1024 ** 3,
  maxCompressionRatio: 200,
  maxNestingDepth: 4,
  maxPickleOps: 50_000_000,
  maxWorkerHeapMb: 1024,
  maxHeldBytes: 512 * 1024 ** 2,
};

/** Thrown when the input is malformed or truncated; the caller turns it into an incomplete finding. */
export class MalformedError extends Error {
  constructor(
    message: string,
    readonly location: string | null = null,
  ) {
    super(message);
    this.name = "MalformedError";
  }
}

export class BudgetExceededError extends Error {
  constructor(ms: number) {
    super(`inspection exceeded its time budget of ${ms} ms`);
    this.name = "BudgetExceededError";
  }
}

const MAX_FINDINGS_PER_KIND = 500;

export class Scan {
  readonly findings: ScanFinding[] = [];
  /** The operator entries (normalised text) that let an import through, for the result. */
  readonly acceptedImports = new Set<string>();
  private readonly deadline: number;
  private ticks = 0;
  /** Findings kept per kind: other, incomplete, HIGH or CRITICAL. */
  private readonly kept = [0, 0, 0];
  /** Bytes of archive members held in memory right now, at every nesting level together. */
  private held = 0;

  constructor(
    readonly limits: Limits,
    startedAt: number = Date.now(),
    /** The operator's INSPECTION_ALLOW_IMPORTS, consulted after the deny-list and the built-in allow-list. */
    readonly allowImports: OperatorAllowList = NO_ALLOW_IMPORTS,
  ) {
    this.deadline = startedAt + limits.timeBudgetMs;
  }

  add(severity: Severity, message: string, location: string | null = null): void {
    this.push({ severity, message, location, incomplete: false });
  }

  /** The walk could not finish: fail closed. */
  incomplete(message: string, location: string | null = null): void {
    this.push({ severity: "MEDIUM", message, location, incomplete: true });
  }

  /**
   * A hostile file must not turn the report itself into a bomb, so findings are capped; but each
   * kind that decides the verdict (HIGH/CRITICAL, incomplete, the rest) has its own cap of 500, so
   * 500 harmless MEDIUM findings placed first cannot crowd out the os.system that follows them.
   */
  private push(f: ScanFinding): void {
    const kind = f.incomplete ? 1 : RANK[f.severity] >= RANK.HIGH ? 2 : 0;
    if (this.kept[kind]! >= MAX_FINDINGS_PER_KIND) return;
    this.kept[kind]!++;
    this.findings.push(f);
  }

  /**
   * Counts `bytes` about to be held in memory against the budget shared by every nesting level
   * (an archive member holding an archive holding an archive …, each read whole), refusing them
   * with a MalformedError past it: the scan is then incomplete instead of the worker running out
   * of memory. Released by `releaseHeld` with the mark taken before.
   */
  hold(bytes: number, location: string | null): void {
    if (this.held + bytes > this.limits.maxHeldBytes)
      throw new MalformedError(
        `holding ${bytes} more bytes in memory (${this.held} already held by the archives around it) would pass the budget of ${this.limits.maxHeldBytes} bytes shared by nested archives`,
        location,
      );
    this.held += bytes;
  }

  /** The bytes held now: what a scope gives back to with `releaseHeld` when it is done. */
  heldMark(): number {
    return this.held;
  }

  /** Inspection is sequential, so a scope's reads are released by returning to its mark. */
  releaseHeld(mark: number): void {
    this.held = Math.min(this.held, mark);
  }

  /** Cheap enough to call in every parser loop: only reads the clock every 1024 calls. */
  tick(): void {
    if ((++this.ticks & 1023) !== 0) return;
    this.checkClock();
  }

  checkClock(): void {
    if (Date.now() > this.deadline) throw new BudgetExceededError(this.limits.timeBudgetMs);
  }

  /** Turn any parser failure into a finding; nothing a user uploads may throw out of inspection. */
  fail(err: unknown, location: string | null): void {
    if (err instanceof BudgetExceededError) this.incomplete(`Incomplete scan: ${err.message}`, location);
    else if (err instanceof MalformedError)
      this.incomplete(`Incomplete scan: ${err.message}`, err.location ?? location);
    else {
      const msg = err instanceof Error ? err.message : String(err);
      this.incomplete(`Incomplete scan: parser failed: ${msg}`, location);
    }
  }
}

const RANK: Record<Severity, number> = { INFO: 0, LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4 };

/**
 * Known danger wins over everything (a truncated file that already showed os.system is dangerous);
 * an incomplete walk outranks mere suspicion because whatever we did not see may be worse.
 */
export function computeVerdict(findings: readonly ScanFinding[]): Verdict {
  if (findings.some((f) => RANK[f.severity] >= RANK.HIGH)) return "DANGEROUS";
  if (findings.some((f) => f.incomplete)) return "UNSCANNABLE";
  if (findings.some((f) => f.severity === "MEDIUM")) return "SUSPICIOUS";
  return "SAFE";
}

export function publicFindings(findings: readonly ScanFinding[]): Finding[] {
  return [...findings]
    .sort((a, b) => RANK[b.severity] - RANK[a.severity])
    .map(({ severity, message, location }) => ({ severity, message, location }));
}
