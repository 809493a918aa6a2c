// GET (and HEAD) /audit/export?format=ndjson|csv&models=…&eventTypes=…&actors=…&from=…&to=…&order=…
// The audit log (../auditLogFilter.ts) as a download, with the `auditLog` query's filters as query
// parameters (a list is the parameter repeated). Authenticated by the server like /graphql, and
// read through the caller's scoped reader, so it holds exactly the events `auditLog` would page
// through. The export is a snapshot: events appended while it runs are not in it. It is streamed
// one keyset page at a time with backpressure, in constant memory.
import type { IncomingMessage, ServerResponse } from "node:http";
import { DateTimeResolver } from "graphql-scalars";
import type { Logger } from "pino";
import { requestAccess } from "../../access/scopedReader.ts";
import type { AccessPolicy } from "../../access/modelAccess.ts";
import { sendDomainError, sendError } from "../../artifacts/http/httpErrors.ts";
import type { Database, Db } from "../../db/database.ts";
import { ValidationError } from "../../domain/errors.ts";
import { callerOf } from "../../http/requestCaller.ts";
import { rateChargeOf } from "../../http/rateLimit.ts";
import type { RateCharge } from "../../http/rateLimit.ts";
import type { Route } from "../../http/server.ts";
import {
  AUDIT_LOG_ORDERS,
  auditLogWhere,
  checkAuditLogFilter,
  readAuditLogPage,
  withPreviousHashes,
} from "../auditLogFilter.ts";
import type { AuditLogFilter, AuditLogOrder, AuditLogWhere } from "../auditLogFilter.ts";
import { csvLines, exportRecord, ndjsonLines } from "../exportRecord.ts";
import { AUDIT_EXPORT_PATH } from "./exportPath.ts";
import { streamChunks } from "./streamChunks.ts";

export interface AuditExportLimits {
  /** Events read (and held) per page. */
  readonly pageSize: number;
  /** A reader that accepts nothing for this long is disconnected (ms). */
  readonly stallMs: number;
}

export const DEFAULT_AUDIT_EXPORT_LIMITS: AuditExportLimits = { pageSize: 1000, stallMs: 30_000 };

export interface AuditExportRouteOptions {
  readonly db: Database;
  readonly logger: Logger;
  readonly accessPolicy: AccessPolicy;
  readonly limits: AuditExportLimits;
}

type Format = "ndjson" | "csv";
const FORMATS: Record<Format, { contentType: string; extension: string }> = {
  ndjson: { contentType: "application/x-ndjson; charset=utf-8", extension: "ndjson" },
  csv: { contentType: "text/csv; charset=utf-8; header=present", extension: "csv" },
};

const LIST_PARAMETERS = ["models", "eventTypes", "actors"] as const;
const SINGLE_PARAMETERS = ["format", "from", "to", "order"] as const;
const KNOWN = new Set<string>([...LIST_PARAMETERS, ...SINGLE_PARAMETERS]);

/** Dates exactly as the GraphQL DateTime scalar takes them (RFC 3339, e.g. 2026-12-02T10:00:00Z). */
function parseDate(name: string, text: string | null): Date | null | ValidationError {
  if (text === null) return null;
  try {
    return DateTimeResolver.parseValue(text);
  } catch {
    return new ValidationError(name, "is not an RFC 3339 date-time such as 2026-12-02T10:00:00Z");
  }
}

export interface ExportRequest {
  readonly format: Format;
  readonly order: AuditLogOrder;
  readonly filter: AuditLogFilter;
}

/** Reads the query parameters; unknown or repeated single parameters are refused, not ignored. */
export function parseExportRequest(params: URLSearchParams): ExportRequest | ValidationError {
  for (const name of new Set(params.keys()))
    if (!KNOWN.has(name))
      return new ValidationError(
        name.length > 64 ? `${name.slice(0, 64)}…` : name,
        `is not a parameter of ${AUDIT_EXPORT_PATH} (${[...KNOWN].join(", ")})`,
      );
  for (const name of SINGLE_PARAMETERS)
    if (params.getAll(name).length > 1) return new ValidationError(name, "may be given once");
  const format = params.get("format") ?? "ndjson";
  if (format !== "ndjson" && format !== "csv") return new ValidationError("format", "must be ndjson or csv");
  const order = params.get("order") ?? "OLDEST_FIRST";
  if (!(AUDIT_LOG_ORDERS as readonly string[]).includes(order))
    return new ValidationError("order", "must be OLDEST_FIRST or NEWEST_FIRST");
  const from = parseDate("from", params.get("from"));
  if (from instanceof ValidationError) return from;
  const to = parseDate("to", params.get("to"));
  if (to instanceof ValidationError) return to;
  const list = (name: (typeof LIST_PARAMETERS)[number]) => (params.has(name) ? params.getAll(name) : null);
  const filter = checkAuditLogFilter(
    { models: list("models"), eventTypes: list("eventTypes"), actors: list("actors"), from, to },
    "",
  );
  if (filter instanceof ValidationError) return filter;
  return { format, order: order as AuditLogOrder, filter };
}

function attachmentName(format: Format, at: Date): string {
  const stamp = at.toISOString().replace(/[:.]/g, "-");
  return `attachment; filename="registro-audit-${stamp}.${FORMATS[format].extension}"`;
}

/** Names of these models now (one read per page: a page holds few distinct models). */
async function modelNames(reader: Db, streamIds: readonly string[]): Promise<Map<string, string>> {
  const rows = await reader.registeredModel.findMany({
    where: { id: { in: [...new Set(streamIds)] } },
    select: { id: true, name: true },
  });
  return new Map(rows.map((row) => [row.id, row.name]));
}

/** The headers of an export that starts at `startedAt` (its size is not known in advance). */
const exportHeaders = (format: Format, startedAt: Date) => ({
  "content-type": FORMATS[format].contentType,
  "content-disposition": attachmentName(format, startedAt),
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
});

export interface AuditExportRoute extends Route {
  /** Exports being streamed now (what a client that went away must not leave behind). */
  running(): number;
}

export function auditExportRoute(options: AuditExportRouteOptions): AuditExportRoute {
  const { db, logger, limits } = options;
  let running = 0;

  async function* chunks(
    reader: Db,
    request: ExportRequest,
    where: AuditLogWhere | null,
    charge: RateCharge | undefined,
  ): AsyncGenerator<string> {
    running += 1;
    try {
      if (request.format === "csv") yield csvLines([], true);
      let after: number | null = null;
      for (;;) {
        const rows = await readAuditLogPage(db, reader, where, request.order, after, limits.pageSize);
        if (rows.length === 0) return;
        const events = await withPreviousHashes(db.reader, rows);
        const names = await modelNames(
          db.reader,
          events.map((e) => e.streamId),
        );
        const records = events.map((e) => exportRecord(e, names.get(e.streamId) ?? null));
        // The client's rate limit pays for each event, as GraphQL's lists do; an export it has begun
        // is not cut (a partial file would look whole), its next requests wait instead.
        charge?.(records.length);
        yield request.format === "csv" ? csvLines(records, false) : ndjsonLines(records);
        if (rows.length < limits.pageSize) return;
        after = rows.at(-1)?.position ?? null;
      }
    } finally {
      running -= 1;
    }
  }

  async function answer(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const request = parseExportRequest(url.searchParams);
    if (request instanceof ValidationError) return sendDomainError(req, res, request);
    // HEAD: the headers GET would send, and nothing read. Access is checked by the server (the
    // request is authenticated) and per event while streaming, so the answer depends only on the
    // parameters; a filter that matches nothing is an empty export, not an error.
    if (req.method === "HEAD")
      return void res.writeHead(200, exportHeaders(request.format, new Date())).end();
    const { reader } = requestAccess(db.reader, options.accessPolicy, callerOf(req));
    const filtered = await auditLogWhere(db, request.filter);
    // A snapshot: nothing committed after the export started, so an export of a busy registry ends.
    const head = await db.reader.event.aggregate({ _max: { position: true } });
    const where: AuditLogWhere | null =
      filtered === null ? null : { ...filtered, upTo: head._max.position ?? 0 };
    res.writeHead(200, exportHeaders(request.format, new Date()));
    const outcome = await streamChunks(res, chunks(reader, request, where, rateChargeOf(req)), {
      stallMs: limits.stallMs,
    });
    if (outcome !== "finished")
      logger.info({ outcome, format: request.format }, "audit export ended before its last event");
  }

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const rawPath = (req.url ?? "/").split(/[?#]/, 1)[0] ?? "/";
    if (rawPath !== AUDIT_EXPORT_PATH) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendError(
        req,
        res,
        405,
        {
          error: {
            code: "METHOD_NOT_ALLOWED",
            message: `${req.method ?? "?"} is not supported here; use GET (or HEAD)`,
          },
        },
        { allow: "GET, HEAD" },
      );
      return true;
    }
    try {
      await answer(req, res, url);
    } catch (error) {
      // Before the first byte the client gets a JSON 500; after it, a cut connection (never a
      // truncated file that looks complete: the chunked body has no terminating chunk).
      logger.error({ err: error }, "audit export failed");
      if (res.headersSent) res.destroy();
      else
        sendError(req, res, 500, {
          error: { code: "INTERNAL_SERVER_ERROR", message: "audit export failed" },
        });
    }
    return true;
  };
  return Object.assign(route, { running: () => running });
}
