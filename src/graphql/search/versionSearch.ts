// `modelVersions(filter:, orderBy:)` as database conditions: every filter becomes part of the
// query's WHERE (an indexed column, or an EXISTS over an indexed child table), never a step in
// JavaScript after loading, so pages stay full and `totalCount` counts exactly what pages list.
import type { DatabaseConfig } from "../../config.ts";
import type { Prisma } from "../../db/database.ts";
import type { Verdict } from "../../domain/inspection.ts";
import type { Stage, VersionStatus } from "../../domain/registeredModel/events.ts";
import { LIMITS } from "../../domain/validation.ts";
import type { ArtifactFormat } from "../../inspection/types.ts";
import { badUserInput, checkFilterText, checkedMetricConditions, tagConditions } from "./filterInput.ts";
import type { MetricCondition, TagCondition } from "./filterInput.ts";
import type { MetricOrder } from "./metricOrder.ts";
import { containsText } from "./textFilter.ts";
import { usageConditions } from "../../usage/usageFilter.ts";
import type { UsageFilterInput } from "../../usage/usageFilter.ts";

export interface ModelVersionFilterInput extends UsageFilterInput {
  readonly name?: string | null;
  readonly stage?: Stage | null;
  readonly status?: VersionStatus | null;
  readonly alias?: string | null;
  readonly tag?: TagCondition | null;
  readonly tags?: readonly TagCondition[] | null;
  readonly runId?: string | null;
  readonly createdAfter?: Date | null;
  readonly createdBefore?: Date | null;
  readonly createdBy?: string | null;
  readonly createdById?: string | null;
  readonly artifactVerdict?: Verdict | null;
  readonly artifactFormat?: ArtifactFormat | null;
  readonly text?: string | null;
  readonly metrics?: readonly MetricCondition[] | null;
  readonly includeDeleted?: boolean | null;
}

export type VersionSortField = "createdAt" | "updatedAt" | "version";

export interface ModelVersionOrderInput {
  readonly field?: VersionSortField | null;
  readonly metric?: string | null;
  readonly direction?: "asc" | "desc" | null;
}

export type VersionSearch =
  /** Sorted by a column of model_versions: one Prisma query. */
  | {
      readonly kind: "columns";
      readonly where: Prisma.ModelVersionWhereInput;
      readonly orderBy: Prisma.ModelVersionOrderByWithRelationInput[];
    }
  /** Sorted by a metric: see ./metricOrder.ts. `where` is the whole filter (for counting). */
  | { readonly kind: "metric"; readonly where: Prisma.ModelVersionWhereInput; readonly order: MetricOrder };

const CREATOR_ID_MAX_LENGTH = LIMITS.granteeIdMaxLength;

/** Validates the arguments and translates them; throws BAD_USER_INPUT GraphQL errors. */
export function versionSearch(
  provider: DatabaseConfig["provider"],
  filter: ModelVersionFilterInput | null | undefined,
  orderBy: ModelVersionOrderInput | null | undefined,
): VersionSearch {
  const f = filter ?? {};
  const conditions: Prisma.ModelVersionWhereInput[] = [
    f.includeDeleted ? {} : { deleted: false },
    { model: { deleted: false, ...(f.name == null ? {} : { name: f.name }) } },
  ];
  if (f.stage != null) conditions.push({ stage: f.stage });
  if (f.status != null) conditions.push({ status: f.status });
  if (f.alias != null) conditions.push({ aliases: { some: { alias: f.alias } } });
  if (f.runId != null) conditions.push({ runId: f.runId });
  if (f.createdAfter != null) conditions.push({ createdAt: { gte: f.createdAfter } });
  if (f.createdBefore != null) conditions.push({ createdAt: { lt: f.createdBefore } });
  // Who registered a version is the actor of its ModelVersionCreated event (`creation`, at the
  // position that is the version's `ref`): by principal id since migration
  // 20261217000000_version_creator, by display name (as it was then, what `createdBy` holds) since
  // 20261219000000_version_creator_name. Prisma joins that event and its actor with LEFT JOINs;
  // `position > 0`, true of every event, is a condition on the event's own row, so SQLite makes its
  // join an inner one and may start from the actor: event_actors by `actor_id` or `actor`, their
  // events by `actor_ref`, the versions at those positions by rowid. Without it SQLite read every
  // version of the registry (checked with EXPLAIN QUERY PLAN: test/graphql/versionCreatorPlan.int.test.ts).
  const createdByActor = (actor: Prisma.EventActorWhereInput): Prisma.ModelVersionWhereInput => ({
    creation: { is: { position: { gt: 0 }, eventActor: { is: actor } } },
  });
  if (f.createdBy != null) {
    checkFilterText("filter.createdBy", f.createdBy, LIMITS.nameMaxLength);
    conditions.push(createdByActor({ actor: f.createdBy }));
  }
  if (f.createdById != null) {
    checkFilterText("filter.createdById", f.createdById, CREATOR_ID_MAX_LENGTH);
    conditions.push(createdByActor({ actorId: f.createdById }));
  }
  conditions.push(...tagConditions("filter", f.tag, f.tags));
  conditions.push(...usageConditions("filter", f));
  if (f.artifactVerdict != null || f.artifactFormat != null)
    conditions.push({
      artifacts: {
        some: {
          ...(f.artifactVerdict == null ? {} : { verdict: f.artifactVerdict }),
          ...(f.artifactFormat == null ? {} : { format: f.artifactFormat }),
        },
      },
    });
  if (f.text != null) {
    const text = containsText(provider, "filter.text", f.text);
    conditions.push({ OR: [{ model: { searchName: text } }, { searchDescription: text }] });
  }
  const metrics = checkedMetricConditions("filter.metrics", f.metrics);
  const metricWhere = (condition: (typeof metrics)[number]): Prisma.ModelVersionWhereInput => ({
    metricValues: { some: condition },
  });
  const where = { AND: [...conditions, ...metrics.map(metricWhere)] };

  const direction = orderBy?.direction ?? "desc";
  if (orderBy?.field != null && orderBy.metric != null)
    throw badUserInput("orderBy", "give either `field` or `metric`, not both");
  if (orderBy?.metric == null)
    return {
      kind: "columns",
      where,
      orderBy: [{ [orderBy?.field ?? "createdAt"]: direction }, { ref: direction }],
    };
  const key = orderBy.metric;
  checkFilterText("orderBy.metric", key, LIMITS.metricNameMaxLength);
  return {
    kind: "metric",
    where,
    order: {
      key,
      direction,
      versions: {
        AND: [...conditions, ...metrics.filter((m) => m.key !== key).map(metricWhere)],
      },
      value: metrics.filter((m) => m.key === key).map((m) => m.value),
    },
  };
}
