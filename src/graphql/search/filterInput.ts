// Filters arrive from clients and become SQL conditions: each tag or metric condition is a subquery,
// so their number is bounded; names are bounded as the commands bound them; numbers must be finite
// (a Float literal such as `1e999` parses to Infinity). Everything is checked before a query is
// built. A refusal is a GraphQL error with code BAD_USER_INPUT and the offending argument path as
// `field`, as other argument checks report theirs.
import { GraphQLError } from "graphql";
import { Prisma } from "../../db/generated/sqlite/client.ts";
import { LIMITS, checkText } from "../../domain/validation.ts";

export const SEARCH_LIMITS = {
  /** Metric conditions per filter. */
  maxMetricConditions: 20,
  /** Tag conditions per filter (`tag` and `tags` together). */
  maxTagConditions: 20,
  /** Characters of a `text` filter. */
  textMaxLength: 256,
} as const;

/** A filter argument the registry refuses. */
export function badUserInput(field: string, message: string): GraphQLError {
  return new GraphQLError(`${field}: ${message}`, { extensions: { code: "BAD_USER_INPUT", field } });
}

/** Text compared with stored text (a tag key or value, a metric name, a display name). */
export function checkFilterText(field: string, text: string, maxLength: number): void {
  const problem = checkText(field, text, maxLength, true);
  if (problem) throw badUserInput(field, problem.message.slice(field.length + 2));
}

export interface TagCondition {
  readonly key: string;
  readonly value?: string | null;
}

/** `tag` and `tags` of a filter as Prisma conditions on the owner's tags, all of which must hold. */
export function tagConditions(
  field: string,
  tag: TagCondition | null | undefined,
  tags: readonly TagCondition[] | null | undefined,
): { tags: { some: { key: string; value?: string } } }[] {
  const all = [...(tag ? [{ condition: tag, path: `${field}.tag` }] : [])];
  for (const [i, condition] of (tags ?? []).entries()) all.push({ condition, path: `${field}.tags.${i}` });
  if (all.length > SEARCH_LIMITS.maxTagConditions)
    throw badUserInput(`${field}.tags`, `at most ${SEARCH_LIMITS.maxTagConditions} tag conditions`);
  return all.map(({ condition, path }) => {
    checkFilterText(`${path}.key`, condition.key, LIMITS.tagKeyMaxLength);
    if (condition.value != null && condition.value.length > LIMITS.tagValueMaxLength)
      throw badUserInput(`${path}.value`, `must be at most ${LIMITS.tagValueMaxLength} characters`);
    return {
      tags: {
        some: { key: condition.key, ...(condition.value == null ? {} : { value: condition.value }) },
      },
    };
  });
}

/** A threshold on one metric; a condition without bounds only asks that the metric was logged. */
export interface MetricCondition {
  readonly key: string;
  readonly gt?: number | null;
  readonly gte?: number | null;
  readonly lt?: number | null;
  readonly lte?: number | null;
  readonly eq?: number | null;
}

const BOUNDS = ["gt", "gte", "lt", "lte", "eq"] as const;

/**
 * A bound as the database must see it. Prisma sends a Float argument as a decimal string of 16
 * significant digits, which is not always the same double (0.30000000000000004 arrives as 0.3, and
 * the largest doubles round past the largest one: PostgreSQL refuses them, SQLite reads infinity).
 * A Decimal made from the number's shortest round-trip text is sent as that text, exactly.
 */
const exact = (value: number): number => new Prisma.Decimal(String(value)) as unknown as number;

/** Checks metric conditions; each comes back with the Prisma filter on the metric's value. */
export function checkedMetricConditions(
  field: string,
  conditions: readonly MetricCondition[] | null | undefined,
): { key: string; value: Prisma.FloatFilter }[] {
  if (!conditions) return [];
  if (conditions.length > SEARCH_LIMITS.maxMetricConditions)
    throw badUserInput(field, `at most ${SEARCH_LIMITS.maxMetricConditions} metric conditions`);
  return conditions.map((condition, i) => {
    checkFilterText(`${field}.${i}.key`, condition.key, LIMITS.metricNameMaxLength);
    for (const bound of BOUNDS) {
      const value = condition[bound];
      if (value != null && !Number.isFinite(value))
        throw badUserInput(`${field}.${i}.${bound}`, "must be a finite number");
    }
    const { gt, gte, lt, lte, eq } = condition;
    return {
      key: condition.key,
      value: {
        ...(gt == null ? {} : { gt: exact(gt) }),
        ...(gte == null ? {} : { gte: exact(gte) }),
        ...(lt == null ? {} : { lt: exact(lt) }),
        ...(lte == null ? {} : { lte: exact(lte) }),
        ...(eq == null ? {} : { equals: exact(eq) }),
      },
    };
  });
}
