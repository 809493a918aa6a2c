// `auditLog`: the whole registry's log of model events, filtered and paged by log position. What
// a caller sees is decided by its scoped reader (AUDITOR and ADMIN: every model; others: the
// models they may read), exactly as for every other read.
import { ValidationError } from "../../domain/errors.ts";
import { builder } from "../../graphql/builder.ts";
import { RegistryEventConnectionRef, RegistryEventTypeEnum } from "../../graphql/types/registryEvent.ts";
import { encodeCursor } from "../../subscriptions/cursor.ts";
import {
  AUDIT_FILTER_MAX_VALUES,
  AUDIT_LOG_DEFAULT_PAGE,
  AUDIT_LOG_MAX_PAGE,
  auditLogWhere,
  checkAfter,
  checkAuditLogFilter,
  checkPageSize,
  countAuditLog,
  readAuditLogPage,
  withPreviousHashes,
} from "../auditLogFilter.ts";
import type { AuditLogOrder } from "../auditLogFilter.ts";

export const AuditLogOrderEnum = builder.enumType("AuditLogOrder", {
  description: "The order of the audit log's events (by log position, which follows commit order).",
  values: {
    OLDEST_FIRST: { value: "OLDEST_FIRST", description: "Oldest first (ascending position)." },
    NEWEST_FIRST: { value: "NEWEST_FIRST", description: "Newest first (descending position)." },
  } as const satisfies Record<AuditLogOrder, unknown>,
});

const AuditLogFilterInput = builder.inputType("AuditLogFilter", {
  description: `Which events \`auditLog\` returns; all given conditions must hold. Each list holds at most ${AUDIT_FILTER_MAX_VALUES} values.`,
  fields: (t) => ({
    models: t.stringList({
      required: false,
      description:
        "Events of the models that ever carried one of these names: the live model, deleted models of that name, and models renamed from or to it (their whole history, under every name).",
    }),
    eventTypes: t.field({
      type: [RegistryEventTypeEnum],
      required: false,
      description: "Events of these types.",
    }),
    actors: t.stringList({
      required: false,
      description: "Events caused by the principals with these ids (`Actor.id`).",
    }),
    from: t.field({
      type: "DateTime",
      required: false,
      description: "Events that occurred at or after this moment (inclusive).",
    }),
    to: t.field({
      type: "DateTime",
      required: false,
      description: "Events that occurred before this moment (exclusive), so consecutive windows tile.",
    }),
  }),
});

builder.queryFields((t) => ({
  auditLog: t.field({
    type: RegistryEventConnectionRef,
    description:
      "The registry's log of model events, across every model the caller may read (AUDITOR and ADMIN: every model), paged by log position. Pages are stable while events are appended: nothing is skipped or repeated. Each event carries `hash` and `previousHash`, so the chain can be verified (docs/audit.md).",
    errors: {
      types: [ValidationError],
      union: {
        name: "AuditLogResult",
        description: "A page of the audit log, or a ValidationError for a bad argument.",
      },
    },
    args: {
      filter: t.arg({
        type: AuditLogFilterInput,
        required: false,
        description: "Only events matching this.",
      }),
      first: t.arg.int({
        required: false,
        description: `Return at most this many events (default ${AUDIT_LOG_DEFAULT_PAGE}, at most ${AUDIT_LOG_MAX_PAGE}).`,
      }),
      after: t.arg.string({
        required: false,
        description:
          "Return events after this cursor (`pageInfo.endCursor`, or an edge's or event's cursor).",
      }),
      order: t.arg({
        type: AuditLogOrderEnum,
        required: false,
        defaultValue: "OLDEST_FIRST",
        description: "Oldest first (default) or newest first.",
      }),
    },
    resolve: async (_root, args, ctx) => {
      const filter = checkAuditLogFilter(args.filter);
      if (filter instanceof ValidationError) throw filter;
      const first = checkPageSize("first", args.first);
      if (first instanceof ValidationError) throw first;
      const after = checkAfter("after", args.after);
      if (after instanceof ValidationError) throw after;
      const order = args.order ?? "OLDEST_FIRST";
      const where = await auditLogWhere(ctx.db, filter);
      const rows = await readAuditLogPage(ctx.db, ctx.reader, where, order, after, first + 1);
      const page = await withPreviousHashes(ctx.db.reader, rows.slice(0, first));
      const edges = page.map((node) => ({ cursor: encodeCursor(node.position), node }));
      return {
        edges,
        pageInfo: {
          hasNextPage: rows.length > first,
          // Forward pagination only: whether events precede `after` is not looked up.
          hasPreviousPage: false,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
        // Counted only when selected.
        totalCount: () => countAuditLog(ctx.db, ctx.reader, where),
      };
    },
  }),
}));
