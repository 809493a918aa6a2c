// Small value types and enums shared by several object types.
import { STAGES, VERSION_STATUSES } from "../../domain/registeredModel/events.ts";
import type { Stage, VersionStatus } from "../../domain/registeredModel/events.ts";
import { builder } from "../builder.ts";

const STAGE_DESCRIPTIONS: Record<Stage, string> = {
  None: "Registered, not yet promoted.",
  Staging: "Under validation before production.",
  Production: "Serving production traffic.",
  Archived: "Retired; kept for audit and rollback.",
};

export const StageEnum = builder.enumType("Stage", {
  description: "Lifecycle stage of a model version.",
  values: Object.fromEntries(
    STAGES.map((stage) => [stage.toUpperCase(), { value: stage, description: STAGE_DESCRIPTIONS[stage] }]),
  ) as Record<Uppercase<Stage>, { value: Stage; description: string }>,
});

const STATUS_DESCRIPTIONS: Record<VersionStatus, string> = {
  PENDING_REGISTRATION: "Created with artifacts still to come; finalize it to make it READY.",
  READY: "Complete: its artifact set is frozen and it may be promoted or aliased.",
  FAILED_REGISTRATION: "Registration was abandoned; it can never be promoted.",
};

export const VersionStatusEnum = builder.enumType("ModelVersionStatus", {
  description: "Registration status of a model version.",
  values: Object.fromEntries(
    VERSION_STATUSES.map((s) => [s, { value: s, description: STATUS_DESCRIPTIONS[s] }]),
  ) as Record<VersionStatus, { value: VersionStatus; description: string }>,
});

export const OrderDirection = builder.enumType("OrderDirection", {
  description: "Sort direction.",
  values: {
    ASC: { value: "asc", description: "Ascending." },
    DESC: { value: "desc", description: "Descending." },
  },
});

export interface KeyValue {
  key: string;
  value: string;
}

export const TagRef = builder.objectRef<KeyValue>("Tag").implement({
  description: "A key/value annotation on a model or version.",
  fields: (t) => ({
    key: t.exposeString("key", { description: "Tag key (1-250 characters)." }),
    value: t.exposeString("value", { description: "Tag value (up to 5,000 characters)." }),
  }),
});

export const MetricRef = builder.objectRef<{ key: string; value: number }>("Metric").implement({
  description: "A measured performance figure of a model version (latest logged value).",
  fields: (t) => ({
    key: t.exposeString("key", { description: "Metric name, e.g. `auc`." }),
    value: t.exposeFloat("value", { description: "Finite value." }),
  }),
});

export const TagInput = builder.inputType("TagInput", {
  description:
    "A tag to set: key 1-250 characters, no control characters, not `__proto__`, `constructor` or `prototype`; value up to 5,000 characters. No text may contain NUL or unpaired UTF-16 surrogates.",
  fields: (t) => ({
    key: t.string({ description: "Tag key." }),
    value: t.string({ description: "Tag value." }),
  }),
});

export const TagFilter = builder.inputType("TagFilter", {
  description: "Matches objects carrying this tag (and value, when given).",
  fields: (t) => ({
    key: t.string({ description: "Tag key that must be present." }),
    value: t.string({ required: false, description: "Exact value the tag must have." }),
  }),
});

export const MetricInput = builder.inputType("MetricInput", {
  description: "A metric to record: a name and a finite number.",
  fields: (t) => ({
    key: t.string({ description: "Metric name (1-250 characters)." }),
    value: t.float({ description: "Finite value (NaN and infinities are rejected)." }),
  }),
});

export const MetricConditionInput = builder.inputType("MetricCondition", {
  description:
    'A condition on one metric\'s latest value: every bound given must hold (`{ key: "auc", gte: 0.9 }`). Without bounds, the version must have logged the metric.',
  fields: (t) => ({
    key: t.string({ description: "Metric name (1-250 characters)." }),
    gt: t.float({ required: false, description: "Greater than this (finite)." }),
    gte: t.float({ required: false, description: "Greater than or equal to this (finite)." }),
    lt: t.float({ required: false, description: "Less than this (finite)." }),
    lte: t.float({ required: false, description: "Less than or equal to this (finite)." }),
    eq: t.float({ required: false, description: "Exactly this (finite)." }),
  }),
});

export const tagsSelection = { select: { key: true, value: true }, orderBy: { key: "asc" } } as const;

/**
 * The `totalCount` field of a connection field with the prisma plugin's `totalCount` option, given
 * a description (the plugin adds it without one) by defining it in the connection's own fields.
 * The extension marks it as the plugin's, so that selecting `totalCount` alone loads no nodes.
 */
export const TOTAL_COUNT_EXTENSIONS = { pothosPrismaTotalCount: true } as const;
export const resolveTotalCount = (connection: object): number | Promise<number> => {
  // A root connection carries a function (its `totalCount` option); a relation's, the count itself.
  const total = (connection as { totalCount?: unknown }).totalCount;
  if (typeof total === "function") return (total as () => number | Promise<number>)();
  return typeof total === "number" ? total : 0;
};

/**
 * A connection type shared by every field that pages through `node` objects, under the names
 * clients expect (`ModelVersionConnection`, `ModelVersionEdge`), with `totalCount`. Each field using
 * it must pass the prisma plugin's `totalCount` option (a count function, or `true` on relations).
 */
export function countedConnection<Node extends Parameters<typeof builder.connectionObject>[0]["type"]>(
  node: Node,
  name: string,
  what: string,
) {
  return builder.connectionObject(
    {
      type: node,
      name: `${name}Connection`,
      description: `A page of ${what} (Relay connection).`,
      fields: (t) => ({
        totalCount: t.int({
          description: `Number of ${what} matching the field's arguments (all pages).`,
          extensions: TOTAL_COUNT_EXTENSIONS,
          resolve: resolveTotalCount,
        }),
      }),
    },
    { name: `${name}Edge`, description: `One of the ${what} of a page, with its cursor.` },
  );
}
