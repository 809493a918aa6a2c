// GET /metrics in Prometheus' text format (prom-client). Counts only: no model names or ids in labels
// (they would leak to whoever can reach the endpoint, and grow without bound).
import type { IncomingMessage, ServerResponse } from "node:http";
import { Counter, Gauge, Registry } from "prom-client";
import type { IntegrityMonitor } from "../artifacts/blobIntegrity.ts";
import type { LogIntegrity } from "../audit/logIntegrity.ts";

export interface MetricSources {
  readonly logIntegrity: LogIntegrity;
  readonly blobIntegrity?: IntegrityMonitor;
}

/** A registry of the server's own metrics, read from their sources at each scrape. */
export function createMetrics(sources: MetricSources): Registry {
  const registry = new Registry();
  new Gauge({
    name: "registro_event_log_broken_streams",
    help: "Streams whose stored history this process found broken (hash chain or projection mismatch); writes to them are refused.",
    registers: [registry],
    collect() {
      this.set(sources.logIntegrity.brokenStreams);
    },
  });
  let counted = 0;
  new Counter({
    name: "registro_event_log_refused_commands_total",
    help: "Commands refused since start because their stream's history failed its integrity check.",
    registers: [registry],
    collect() {
      const refused = sources.logIntegrity.refusedCommands;
      if (refused > counted) this.inc(refused - counted);
      counted = refused;
    },
  });
  const blobs = sources.blobIntegrity;
  if (blobs)
    new Gauge({
      name: "registro_artifact_integrity_failures",
      help: "Downloads since start that found an artifact's stored bytes damaged.",
      registers: [registry],
      collect() {
        this.set(blobs.failures);
      },
    });
  return registry;
}

export async function serveMetrics(registry: Registry, res: ServerResponse, req: IncomingMessage) {
  const body = await registry.metrics();
  res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
  res.end(req.method === "HEAD" ? undefined : body);
}
