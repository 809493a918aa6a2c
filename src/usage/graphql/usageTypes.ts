// GraphQL of usage: `ModelVersion.usage`, `ModelVersion.consumers` and `RegisteredModel.usage`.
// Resolvers are thin: arguments are checked here (./usageArguments.ts), numbers come from
// ../usageStore.ts. Usage of a model is visible to whoever may read the model (the parent was read
// through the caller's scoped reader); consumers name other principals, so they follow the rule of
// `RegisteredModel.permissions`: MANAGE on the model, or registry role AUDITOR or ADMIN.
import { deniedQuery } from "../../access/graphql/caller.ts";
import { permissionOn } from "../../access/modelAccess.ts";
import { grantsFrom, includesPermission } from "../../domain/modelPermissions.ts";
import { builder } from "../../graphql/builder.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import { badUserInput } from "../../graphql/search/filterInput.ts";
import {
  MAX_USAGE_COUNT,
  metricPoints,
  usageByVersion,
  usagePoints,
  versionConsumers,
} from "../usageStore.ts";
import type { Consumer, MetricPoint, UsagePoint, UsageRange, VersionUsageTotals } from "../usageStore.ts";
import { GRANULARITY_MS, bucketStart } from "../timeBuckets.ts";
import { UsageGranularityEnum } from "./usageEnums.ts";
import type { Granularity } from "../timeBuckets.ts";

/** The longest range one query may ask for, per granularity (buckets answered at most). */
export const USAGE_QUERY_LIMITS = {
  maxHourRangeMs: 31 * GRANULARITY_MS.DAY,
  maxDayRangeMs: 731 * GRANULARITY_MS.DAY,
  maxConsumersPerPage: 100,
  defaultConsumersPerPage: 20,
  maxConsumerOffset: 100_000,
} as const;

const ConsumerOrderEnum = builder.enumType("ModelVersionConsumerOrder", {
  description: "How consumers are ordered.",
  values: {
    LAST_SEEN: { description: "Most recent download first." },
    DOWNLOADS: { description: "Most downloads first." },
  } as const,
});

/**
 * A count as SafeInt can answer it. Buckets saturate at MAX_USAGE_COUNT (../usageStore.ts), but
 * buckets, versions and environments added up pass it: past it the sum saturates too, instead of
 * failing the whole field (and the query with it) for every reader of the model.
 */
const saturated = (count: number): number => Math.min(count, MAX_USAGE_COUNT);

// ---- Arguments -------------------------------------------------------------------------------------

/** As reports and deployments spell an environment (../servingReport.ts): 1-64 characters. */
const ENVIRONMENT = /^[a-z0-9][a-z0-9._-]{0,63}$/;

interface RangeArgs {
  readonly from: Date;
  readonly to?: Date | null | undefined;
  readonly granularity?: Granularity | null | undefined;
  readonly environment?: string | null | undefined;
}

function checkedRange(
  ctx: GraphQLContext,
  modelId: string,
  version: number | null,
  args: RangeArgs,
): UsageRange {
  const granularity = args.granularity ?? "DAY";
  const to = args.to ?? ctx.commands.clock();
  if (!Number.isFinite(args.from.getTime())) throw badUserInput("from", "is not a valid time");
  // Whole buckets: the one holding `from` counts entirely (a day asked for from 09:00 is that day).
  const from = bucketStart(granularity, args.from);
  if (!Number.isFinite(to.getTime())) throw badUserInput("to", "is not a valid time");
  if (to.getTime() <= from.getTime()) throw badUserInput("to", "must be after `from`");
  const max = granularity === "HOUR" ? USAGE_QUERY_LIMITS.maxHourRangeMs : USAGE_QUERY_LIMITS.maxDayRangeMs;
  if (to.getTime() - from.getTime() > max)
    throw badUserInput(
      "from",
      `a ${granularity} series spans at most ${max / GRANULARITY_MS.DAY} days (ask for DAY granularity, or a shorter range)`,
    );
  const environment = args.environment ?? null;
  if (environment !== null && !ENVIRONMENT.test(environment))
    throw badUserInput(
      "environment",
      "is not an environment name (lowercase letters, digits, '.', '_', '-')",
    );
  return { granularity, modelId, version, from, to, environment };
}

// ---- Series ------------------------------------------------------------------------------------------

interface MetricValue {
  readonly name: string;
  readonly sum: number;
  readonly reports: number;
  readonly last: number;
}

const UsageMetricRef = builder.objectRef<MetricValue>("UsageMetricValue").implement({
  description:
    "A custom numeric metric of serving reports in one bucket (environments merged): the sum of the reported values, how many reports gave one, and the latest value.",
  fields: (t) => ({
    name: t.exposeString("name", { description: "The metric's name as reported." }),
    sum: t.exposeFloat("sum", { description: "Sum of the values reported in this bucket." }),
    reports: t.field({
      type: "SafeInt",
      description: "How many reports gave a value.",
      resolve: (m) => saturated(m.reports),
    }),
    mean: t.float({
      description: "`sum / reports`.",
      resolve: (m) => (m.reports === 0 ? 0 : m.sum / m.reports),
    }),
    last: t.exposeFloat("last", { description: "The value of the report whose window ended last." }),
  }),
});

interface Point extends UsagePoint {
  readonly metrics: () => Promise<MetricValue[]>;
}

const p50Of = (p: { readonly p50Weighted: number; readonly p50Weight: number }) =>
  p.p50Weight === 0 ? null : p.p50Weighted / p.p50Weight;

interface Totals {
  readonly downloads: number;
  readonly bytes: number;
  readonly requests: number;
  readonly errors: number;
  readonly p50Weighted: number;
  readonly p50Weight: number;
  readonly latencyP99Ms: number | null;
}

// What a bucket and a whole range both say; the fields live on an interface, once.
const UsageCountsRef = builder.interfaceRef<Totals>("UsageCounts").implement({
  description:
    "Download and serving numbers of a bucket or a range. Counts are sums of what was counted and reported: they stop growing at 2^53 − 1 (9007199254740991), the largest SafeInt.",
  fields: (t) => ({
    downloads: t.field({
      type: "SafeInt",
      description: "Successful artifact downloads.",
      resolve: (p) => saturated(p.downloads),
    }),
    bytes: t.field({
      type: "SafeInt",
      description: "Bytes those downloads sent.",
      resolve: (p) => saturated(p.bytes),
    }),
    requests: t.field({
      type: "SafeInt",
      description: "Serving requests reported.",
      resolve: (p) => saturated(p.requests),
    }),
    errors: t.field({
      type: "SafeInt",
      description: "Failed serving requests reported.",
      resolve: (p) => saturated(p.errors),
    }),
    latencyP50Ms: t.float({
      nullable: true,
      description:
        "Request-weighted mean of the reported medians (ms): an approximation of the true median; null without requests.",
      resolve: p50Of,
    }),
    latencyP99Ms: t.float({
      nullable: true,
      description: "The largest reported p99 (ms): an upper bound of the true p99; null without requests.",
      resolve: (p) => p.latencyP99Ms,
    }),
  }),
});

const UsagePointRef = builder.objectRef<Point>("UsagePoint").implement({
  description:
    "The usage of one time bucket. Only buckets with usage are listed (a missing bucket means zero).",
  interfaces: [UsageCountsRef],
  fields: (t) => ({
    start: t.field({ type: "DateTime", description: "Start of the bucket (UTC).", resolve: (p) => p.start }),
    metrics: t.field({
      type: [UsageMetricRef],
      description: "Custom metrics of the serving reports in this bucket, by name.",
      resolve: (p) => p.metrics(),
    }),
  }),
});

function totalsOf(points: readonly UsagePoint[]): Totals {
  let downloads = 0;
  let bytes = 0;
  let requests = 0;
  let errors = 0;
  let p50Weighted = 0;
  let p50Weight = 0;
  let p99: number | null = null;
  for (const p of points) {
    downloads += p.downloads;
    bytes += p.bytes;
    requests += p.requests;
    errors += p.errors;
    p50Weighted += p.p50Weighted;
    p50Weight += p.p50Weight;
    if (p.latencyP99Ms !== null && (p99 === null || p.latencyP99Ms > p99)) p99 = p.latencyP99Ms;
  }
  return { downloads, bytes, requests, errors, p50Weighted, p50Weight, latencyP99Ms: p99 };
}

const UsageTotalsRef = builder.objectRef<Totals>("UsageTotals").implement({
  description: "The usage of a whole range (its points added up; latencies merged as in the points).",
  interfaces: [UsageCountsRef],
});

/** One usage query: its range, and its points read once however many fields ask for them. */
class UsageQuery {
  private points: Promise<Point[]> | null = null;
  private metrics: Promise<Map<number, MetricValue[]>> | null = null;
  constructor(
    readonly ctx: GraphQLContext,
    readonly range: UsageRange,
  ) {}

  loadPoints(): Promise<Point[]> {
    this.points ??= usagePoints(this.ctx.db, this.range).then((rows) =>
      rows.map((row) => ({ ...row, metrics: () => this.metricsAt(row.start) })),
    );
    return this.points;
  }

  private async metricsAt(start: Date): Promise<MetricValue[]> {
    this.metrics ??= metricPoints(this.ctx.db, this.range).then((rows: MetricPoint[]) => {
      const byStart = new Map<number, MetricValue[]>();
      for (const m of rows) {
        const list = byStart.get(m.start.getTime()) ?? [];
        list.push({ name: m.name, sum: m.sum, reports: m.reports, last: m.last });
        byStart.set(m.start.getTime(), list);
      }
      return byStart;
    });
    return (await this.metrics).get(start.getTime()) ?? [];
  }
}

// The fields both series share live on an interface, so a client can write one fragment for either.
const UsageOverTimeRef = builder.interfaceRef<UsageQuery>("UsageOverTime").implement({
  description:
    "Downloads and serving over a time range, in buckets. Download counts become visible once flushed (every USAGE_FLUSH_INTERVAL_MS, default 10 s; see docs/usage.md).",
  resolveType: (q) => (q.range.version === null ? "RegisteredModelUsage" : "ModelVersionUsage"),
  fields: (t) => ({
    from: t.field({
      type: "DateTime",
      description: "Start of the range (inclusive).",
      resolve: (q) => q.range.from,
    }),
    to: t.field({
      type: "DateTime",
      description: "End of the range (exclusive).",
      resolve: (q) => q.range.to,
    }),
    granularity: t.field({
      type: UsageGranularityEnum,
      description: "The bucket size.",
      resolve: (q) => q.range.granularity,
    }),
    environment: t.string({
      nullable: true,
      description: "The serving environment the serving numbers are limited to, if any.",
      resolve: (q) => q.range.environment,
    }),
    points: t.field({
      type: [UsagePointRef],
      description:
        "Buckets from the one holding `from` to the last starting before `to`, with any usage (for a model, all its versions added up), oldest first.",
      resolve: (q) => q.loadPoints(),
    }),
    totals: t.field({
      type: UsageTotalsRef,
      description: "The whole range added up.",
      resolve: async (q) => totalsOf(await q.loadPoints()),
    }),
  }),
});

const ModelVersionUsageRef = builder.objectRef<UsageQuery>("ModelVersionUsage").implement({
  description: "Downloads and serving of one version over a time range (the fields of `UsageOverTime`).",
  interfaces: [UsageOverTimeRef],
});

const VersionUsageRef = builder
  .objectRef<VersionUsageTotals & { readonly modelId: string }>("VersionUsage")
  .implement({
    description: "One version's share of a model's usage over the range.",
    fields: (t) => ({
      version: t.exposeInt("version", { description: "The version number." }),
      modelVersion: t.prismaField({
        type: "ModelVersion",
        nullable: true,
        description: "The version (null if it was deleted since).",
        resolve: (query, v, _args, ctx) =>
          ctx.reader.modelVersion.findFirst({
            ...query,
            where: { modelId: v.modelId, version: v.version, deleted: false },
          }),
      }),
      downloads: t.field({
        type: "SafeInt",
        description: "Successful artifact downloads.",
        resolve: (v) => saturated(v.downloads),
      }),
      bytes: t.field({
        type: "SafeInt",
        description: "Bytes those downloads sent.",
        resolve: (v) => saturated(v.bytes),
      }),
      requests: t.field({
        type: "SafeInt",
        description: "Serving requests reported.",
        resolve: (v) => saturated(v.requests),
      }),
      errors: t.field({
        type: "SafeInt",
        description: "Failed serving requests reported.",
        resolve: (v) => saturated(v.errors),
      }),
      lastUsedAt: t.field({
        type: "DateTime",
        description: "The latest download or report window end in the range.",
        resolve: (v) => v.lastUsedAt,
      }),
    }),
  });

const RegisteredModelUsageRef = builder.objectRef<UsageQuery>("RegisteredModelUsage").implement({
  description:
    "Downloads and serving of all versions of a model over a time range (the fields of `UsageOverTime`), with each version's share.",
  interfaces: [UsageOverTimeRef],
  fields: (t) => ({
    versions: t.field({
      type: [VersionUsageRef],
      description: "Each version with usage in the range, busiest (downloads + requests) first.",
      resolve: async (q) =>
        (await usageByVersion(q.ctx.db, q.range)).map((v) => ({ ...v, modelId: q.range.modelId })),
    }),
  }),
});

// ---- Consumers ---------------------------------------------------------------------------------------

const ConsumerRef = builder.objectRef<Consumer>("ModelVersionConsumer").implement({
  description: "A principal that downloaded the version's artifacts, and how much.",
  fields: (t) => ({
    principalId: t.exposeID("principalId", {
      description: "The principal's id (`Principal.id`, `Actor.id`).",
    }),
    principal: t.prismaField({
      type: "Principal",
      nullable: true,
      description: "The principal (null if it no longer exists).",
      resolve: (query, c, _args, ctx) =>
        ctx.reader.principal.findUnique({ ...query, where: { id: c.principalId } }),
    }),
    downloads: t.field({
      type: "SafeInt",
      description: "Its downloads (in the period asked for).",
      resolve: (c) => saturated(c.downloads),
    }),
    bytes: t.field({ type: "SafeInt", description: "Bytes sent to it.", resolve: (c) => saturated(c.bytes) }),
    lastSeenAt: t.field({
      type: "DateTime",
      description: "Its most recent download.",
      resolve: (c) => c.lastSeenAt,
    }),
  }),
});

interface ConsumerPage {
  readonly consumers: Consumer[];
  readonly totalCount: number;
  readonly offset: number;
}

const ConsumerPageRef = builder.objectRef<ConsumerPage>("ModelVersionConsumers").implement({
  description: "A page of a version's consumers.",
  fields: (t) => ({
    nodes: t.field({
      type: [ConsumerRef],
      description: "The consumers of this page.",
      resolve: (p) => p.consumers,
    }),
    totalCount: t.int({ description: "How many consumers in all.", resolve: (p) => p.totalCount }),
    hasNextPage: t.boolean({
      description: "Whether more consumers follow (ask again with `offset` + `first`).",
      resolve: (p) => p.offset + p.consumers.length < p.totalCount,
    }),
  }),
});

/** Consumers reveal other principals: MANAGE on the model, or registry role AUDITOR or ADMIN. */
function requireConsumerReader(
  ctx: GraphQLContext,
  permissions: readonly { granteeKind: string; granteeId: string; permission: string }[],
): void {
  const mine = permissionOn(
    ctx.rights,
    grantsFrom(permissions.map((p) => [p.granteeKind, p.granteeId, p.permission])),
  );
  if (
    !includesPermission(mine, "MANAGE") &&
    ctx.rights.role !== "AUDITOR" &&
    !ctx.rights.readsAsAdministrator
  )
    throw deniedQuery("reading a version's consumers", "MANAGE on the model (or registry role AUDITOR)");
}

// ---- Fields on the model types ---------------------------------------------------------------------

/** The range arguments of `ModelVersion.usage` and `RegisteredModel.usage`. */
const USAGE_RANGE_ARGS = builder.args((t) => ({
  from: t.field({
    type: "DateTime",
    required: true,
    description: "Start of the range (rounded down to the start of its bucket).",
  }),
  to: t.field({
    type: "DateTime",
    required: false,
    description: "End of the range (exclusive; default now).",
  }),
  granularity: t.field({
    type: UsageGranularityEnum,
    required: false,
    description: "Bucket size (default DAY). HOUR spans at most 31 days, DAY at most 731.",
  }),
  environment: t.string({
    required: false,
    description: "Only serving reports of this environment (downloads are unaffected).",
  }),
}));

builder.prismaObjectFields("ModelVersion", (t) => ({
  usage: t.field({
    type: ModelVersionUsageRef,
    description:
      "Downloads and serving of this version over [from, to), per hour or day. Visible to whoever may read the model. Download counts appear once flushed (USAGE_FLUSH_INTERVAL_MS).",
    select: { modelId: true, version: true },
    args: USAGE_RANGE_ARGS,
    resolve: (v, args, ctx) => new UsageQuery(ctx, checkedRange(ctx, v.modelId, v.version, args)),
  }),
  consumers: t.field({
    type: ConsumerPageRef,
    description:
      "Who downloaded this version's artifacts, with how much and when last (from the daily buckets: as far back as USAGE_DAILY_RETENTION_DAYS). Names other principals, so readable with MANAGE on the model, or as AUDITOR or ADMIN.",
    select: {
      modelId: true,
      version: true,
      model: {
        select: { permissions: { select: { granteeKind: true, granteeId: true, permission: true } } },
      },
    },
    args: {
      since: t.arg({
        type: "DateTime",
        required: false,
        description: "Only consumers that downloaded at or after this time.",
      }),
      orderBy: t.arg({
        type: ConsumerOrderEnum,
        required: false,
        description: "Order (default LAST_SEEN).",
      }),
      first: t.arg.int({ required: false, description: "Page size (default 20, at most 100)." }),
      offset: t.arg.int({ required: false, description: "Consumers to skip (default 0, at most 100,000)." }),
    },
    resolve: async (v, args, ctx) => {
      requireConsumerReader(ctx, v.model.permissions);
      const first = args.first ?? USAGE_QUERY_LIMITS.defaultConsumersPerPage;
      if (first < 1 || first > USAGE_QUERY_LIMITS.maxConsumersPerPage)
        throw badUserInput("first", `must be from 1 to ${USAGE_QUERY_LIMITS.maxConsumersPerPage}`);
      const offset = args.offset ?? 0;
      if (offset < 0 || offset > USAGE_QUERY_LIMITS.maxConsumerOffset)
        throw badUserInput("offset", `must be from 0 to ${USAGE_QUERY_LIMITS.maxConsumerOffset}`);
      if (args.since != null && !Number.isFinite(args.since.getTime()))
        throw badUserInput("since", "is not a valid time");
      const page = await versionConsumers(ctx.db, v, {
        since: args.since ?? null,
        order: args.orderBy ?? "LAST_SEEN",
        limit: first,
        offset,
      });
      return { ...page, offset };
    },
  }),
}));

builder.prismaObjectFields("RegisteredModel", (t) => ({
  usage: t.field({
    type: RegisteredModelUsageRef,
    description:
      "Downloads and serving of every version of this model over [from, to), per hour or day, with each version's share. Visible to whoever may read the model.",
    select: { id: true },
    args: USAGE_RANGE_ARGS,
    resolve: (m, args, ctx) => new UsageQuery(ctx, checkedRange(ctx, m.id, null, args)),
  }),
}));
