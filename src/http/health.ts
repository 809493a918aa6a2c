// GET /healthz: says "ok" only when this process can still serve. A load balancer or orchestrator
// restarts an instance whose check fails, so it must fail for the states that break every request:
// the database unreachable, and a process whose shared prototypes were tampered with (a polluted
// Object.prototype once made every GraphQL request fail while the old check still said ok).
import type { BlobStore } from "../artifacts/blobStore.ts";
import type { IntegrityViolation } from "../audit/logIntegrity.ts";
import type { Db } from "../db/database.ts";

export interface HealthReport {
  readonly status: "ok" | "failing";
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly detail?: string }>>;
}

/** Prototypes every request touches; none of them has enumerable own properties in a sound process. */
const PROTOTYPES: readonly [string, object][] = [
  ["Object.prototype", Object.prototype],
  ["Array.prototype", Array.prototype],
  ["Function.prototype", Function.prototype],
  ["String.prototype", String.prototype],
];

export function prototypesIntact(): string | null {
  for (const [name, prototype] of PROTOTYPES) {
    // A `for…in` over an empty object sees inherited enumerable keys: exactly what pollution adds.
    const added = Object.keys(prototype);
    if (added.length > 0) return `${name} has unexpected properties: ${added.slice(0, 5).join(", ")}`;
  }
  return null;
}

/** Runs `check` within `timeoutMs`: null when it succeeded, else what went wrong (one short line). */
async function within(timeoutMs: number, check: () => Promise<unknown>): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message.split("\n")[0]!.slice(0, 200) : "failed";
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(db: Db, timeoutMs = 2_000): Promise<HealthReport> {
  const prototypes = prototypesIntact();
  const database = await within(timeoutMs, () => db.$queryRawUnsafe("SELECT 1"));
  const checks = {
    database: database === null ? { ok: true } : { ok: false, detail: database },
    prototypes: prototypes === null ? { ok: true } : { ok: false, detail: prototypes },
  };
  return { status: database === null && prototypes === null ? "ok" : "failing", checks };
}

/** A readiness check's answer: `degraded` serves (and says what is wrong), `failing` cannot serve. */
export interface ReadinessReport {
  readonly status: "ok" | "degraded" | "failing";
  readonly checks: Readonly<
    Record<string, { readonly ok: boolean; readonly detail?: string; readonly streams?: readonly unknown[] }>
  >;
}

/** What readiness checks besides the liveness checks (each part optional for apps built without it). */
export interface ReadinessProbes {
  /** Every migration this release knows; all must be applied (a newer release may have added more). */
  readonly migrations?: readonly string[];
  /** The blob store, where a probe is written and removed. */
  readonly blobStore?: Pick<BlobStore, "probeWritable">;
  /** True once shutdown began: a load balancer must stop sending before the listener closes. */
  readonly shuttingDown?: () => boolean;
}

/** The known migrations missing from the database (applied, finished and not rolled back). */
async function missingMigrations(db: Db, known: readonly string[]): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<{ migration_name: string }[]>(
    "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
  );
  const applied = new Set(rows.map((row) => row.migration_name));
  return known.filter((name) => !applied.has(name));
}

/**
 * GET /readyz: the liveness checks, migrations, a writable blob store and not shutting down, plus
 * what an operator must know before trusting the answers. A broken event history makes the
 * instance `degraded`, not unready: every instance shares the database, so taking them out of
 * rotation would stop reads of every model for one broken stream, while the store already refuses
 * writes to that stream.
 */
export async function checkReadiness(
  db: Db,
  logIntegrity: { violations(): readonly IntegrityViolation[]; readonly brokenStreams: number },
  probes: ReadinessProbes = {},
  timeoutMs = 2_000,
): Promise<ReadinessReport> {
  const stopping = probes.shuttingDown?.() ?? false;
  const [health, migrations, blobStore] = await Promise.all([
    checkHealth(db, timeoutMs),
    probes.migrations === undefined
      ? null
      : (async () => {
          let missing: string[] = [];
          const failed = await within(timeoutMs, async () => {
            missing = await missingMigrations(db, probes.migrations!);
          });
          return failed ?? (missing.length === 0 ? null : `not applied: ${missing.slice(0, 10).join(", ")}`);
        })(),
    probes.blobStore === undefined ? null : within(timeoutMs, () => probes.blobStore!.probeWritable()),
  ]);
  const extra = {
    ...(probes.migrations === undefined
      ? {}
      : { migrations: migrations === null ? { ok: true } : { ok: false, detail: migrations } }),
    ...(probes.blobStore === undefined
      ? {}
      : { blobStore: blobStore === null ? { ok: true } : { ok: false, detail: blobStore } }),
    shutdown: stopping ? { ok: false, detail: "shutting down: finishing in-flight requests" } : { ok: true },
  };
  const unready = stopping || migrations !== null || blobStore !== null;
  const broken = logIntegrity.brokenStreams;
  const eventLog =
    broken === 0
      ? { ok: true }
      : {
          ok: false,
          detail: `${broken} stream(s) failed their integrity check; writes to them are refused. Run npm run audit:verify.`,
          streams: logIntegrity.violations().map((v) => ({
            streamId: v.streamId,
            revision: v.revision,
            reason: v.reason,
            detectedAt: v.detectedAt.toISOString(),
          })),
        };
  const status = health.status !== "ok" || unready ? "failing" : broken > 0 ? "degraded" : "ok";
  return { status, checks: { ...health.checks, ...extra, eventLog } };
}
