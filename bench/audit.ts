// Issue 11 benchmark: reading the whole audit log of a registry of ~30,000 model events (20,000
// versions over 20 models) from a server in its own process. Measured: GET /audit/export (NDJSON and
// CSV), events per second and the server's resident memory while it streams; baseline, in the same
// run: paging through the same events with `auditLog(first: 500)` selecting the same fields.
// Standalone: `node --import tsx bench/audit.ts`.
import { readFileSync } from "node:fs";
import http from "node:http";
import { openDatabase } from "../src/db/database.ts";
import type { DatabaseConfig } from "../src/config.ts";
import { createBenchDatabase } from "./benchDatabase.ts";
import { seedSearchRegistry } from "./search.ts";
import { combine, compare, figure, postJson, spawnServer } from "./support.ts";

const PAGE = `query($after: String) { auditLog(first: 500, after: $after) { ... on RegistryEventConnection {
  edges { node { position modelId revision type schemaVersion occurredAt correlationId causationId data hash previousHash
    actor { id displayName kind } } } pageInfo { hasNextPage endCursor } } } }`;

/** Resident memory of a process in MiB, from /proc (Linux); 0 elsewhere. */
function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Downloads an export, counting lines; samples the server's memory meanwhile. */
function download(url: string, pid: number | undefined): Promise<{ lines: number; peakMiB: number }> {
  return new Promise((resolve, reject) => {
    let peak = rssMiB(pid);
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 20);
    http
      .get(url, (response) => {
        if (response.statusCode !== 200) reject(new Error(`export answered ${response.statusCode}`));
        let lines = 0;
        response.on("data", (chunk: Buffer) => {
          for (const byte of chunk) if (byte === 10) lines += 1;
        });
        response.on("end", () => {
          clearInterval(sampler);
          resolve({ lines, peakMiB: Math.max(peak, rssMiB(pid)) });
        });
        response.on("error", reject);
      })
      .on("error", reject);
  });
}

async function pageThrough(url: string): Promise<number> {
  let after: string | null = null;
  let events = 0;
  for (;;) {
    const { status, text } = await postJson(`${url}/graphql`, { query: PAGE, variables: { after } });
    const page = (
      JSON.parse(text) as {
        data?: { auditLog: { edges: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
      }
    ).data?.auditLog;
    if (status !== 200 || page === undefined)
      throw new Error(`auditLog failed: ${status} ${text.slice(0, 300)}`);
    events += page.edges.length;
    if (!page.pageInfo.hasNextPage) return events;
    after = page.pageInfo.endCursor;
  }
}

export async function benchAudit(
  options: {
    versions?: number;
    models?: number;
    rounds?: number;
    provider?: DatabaseConfig["provider"];
  } = {},
) {
  const versions = options.versions ?? 20_000;
  const models = options.models ?? 20;
  const rounds = options.rounds ?? 3;
  const database = await createBenchDatabase(options.provider ?? "sqlite");
  try {
    const db = openDatabase(database.config);
    let events: number;
    try {
      await seedSearchRegistry(db, { versions, models });
      events = await db.reader.event.count({ where: { NOT: { streamId: { contains: ":" } } } });
    } finally {
      await db.close();
    }
    const server = await spawnServer("src/main.ts", database.env);
    try {
      const pid = server.child.pid;
      const idleMiB = rssMiB(pid);
      // Warm-up: query plans, the database's pages in memory. The exports run first, so the
      // memory figure is the exports' own, not what paging through GraphQL left in the heap.
      await download(`${server.url}/audit/export`, pid);
      const warmMiB = rssMiB(pid);
      const ndjson: { work: number; seconds: number; load: number }[] = [];
      const csv: typeof ndjson = [];
      const graphql: typeof ndjson = [];
      const load = () => figure(0, "").loadAverage1m;
      let peakMiB = 0;
      for (let r = 0; r < rounds; r++) {
        let start = performance.now();
        const exported = await download(`${server.url}/audit/export?format=ndjson`, pid);
        ndjson.push({ work: exported.lines, seconds: (performance.now() - start) / 1000, load: load() });
        start = performance.now();
        const table = await download(`${server.url}/audit/export?format=csv`, pid);
        // Lines minus the header (no cell holds a line break in this registry's events).
        csv.push({ work: table.lines - 1, seconds: (performance.now() - start) / 1000, load: load() });
        peakMiB = Math.max(peakMiB, exported.peakMiB, table.peakMiB);
        if (exported.lines !== events) throw new Error(`expected ${events} events, got ${exported.lines}`);
      }
      await pageThrough(server.url);
      for (let r = 0; r < rounds; r++) {
        const start = performance.now();
        const paged = await pageThrough(server.url);
        graphql.push({ work: paged, seconds: (performance.now() - start) / 1000, load: load() });
        if (paged !== events) throw new Error(`expected ${events} events, got ${paged}`);
      }
      const baseline = combine(graphql, "events/s");
      return {
        events,
        ndjsonExport: compare(combine(ndjson, "events/s"), baseline),
        csvExport: compare(combine(csv, "events/s"), baseline),
        serverMemory: {
          idleAfterStart: figure(idleMiB, "MiB", 1),
          afterOneExport: figure(warmMiB, "MiB", 1),
          peakOverTheMeasuredExports: figure(peakMiB, "MiB", 1),
        },
        rounds,
        seeded: { versions, models },
      };
    } finally {
      await server.stop();
    }
  } finally {
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchAudit(), null, 2));
}
