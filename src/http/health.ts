// GET /healthz: says "ok" only when this process can still serve. A load balancer or orchestrator
// restarts an instance whose check fails, so it must fail for the states that break every request:
// the database unreachable, and a process whose shared prototypes were tampered with (a polluted
// Object.prototype once made every GraphQL request fail while the old check still said ok).
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

export async function checkHealth(db: Db, timeoutMs = 2_000): Promise<HealthReport> {
  const prototypes = prototypesIntact();
  let database: string | null = null;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      db.$queryRawUnsafe("SELECT 1"),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    database = error instanceof Error ? error.message.split("\n")[0]!.slice(0, 200) : "unreachable";
  } finally {
    clearTimeout(timer);
  }
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

/**
 * GET /readyz: the liveness checks plus what an operator must know before trusting the answers. A
 * broken event history makes the instance `degraded`, not unready: every instance shares the
 * database, so taking them out of rotation would stop reads of every model for one broken stream,
 * while the store already refuses writes to that stream.
 */
export async function checkReadiness(
  db: Db,
  logIntegrity: { violations(): readonly IntegrityViolation[]; readonly brokenStreams: number },
  timeoutMs = 2_000,
): Promise<ReadinessReport> {
  const health = await checkHealth(db, timeoutMs);
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
  const status = health.status !== "ok" ? "failing" : broken > 0 ? "degraded" : "ok";
  return { status, checks: { ...health.checks, eventLog } };
}
