// Model versions sorted by one metric, versions without that metric last. Prisma orders only by the
// queried table's columns (or a to-one relation's), and a version's metrics are many rows, so the
// order is read from two sources, each through the caller's reader and an index:
//   1. the metric's rows in model_version_metrics (index on key, value, version_ref), by value and
//      then version `ref` (registration order), in the requested direction;
//   2. the matching versions that never logged the metric, newest first.
// The Relay window Pothos computes (take, skip and a cursor, as Prisma would apply them to one
// list) is applied to the two sources as one list. A cursor names a version by its `ref`; whether
// that version has the metric says which source it lies in.
import { MistypedCursorError, cursorMistyped } from "../../db/cursorTypes.ts";
import type { Db, Prisma } from "../../db/database.ts";

export interface MetricOrder {
  readonly key: string;
  readonly direction: "asc" | "desc";
  /** The versions to list, without the conditions on the sorted metric. */
  readonly versions: Prisma.ModelVersionWhereInput;
  /** Conditions on the sorted metric's value; when there are any, no version lacking it can match. */
  readonly value: readonly Prisma.FloatFilter[];
}

/** Pothos' window: `take` rows after (or, when negative, before) the cursor row, which is left out. */
export interface PageWindow {
  readonly take: number;
  readonly cursor?: { readonly ref?: number | undefined } | undefined;
}

/** The `ref`s of the versions in the window, in order. */
export async function versionRefsByMetric(
  reader: Db,
  window: PageWindow,
  order: MetricOrder,
): Promise<number[]> {
  const { key, direction } = order;
  const withMetric: Prisma.ModelVersionMetricWhereInput = {
    key,
    version: order.versions,
    ...(order.value.length > 0 ? { AND: order.value.map((value) => ({ value })) } : {}),
  };
  const withoutMetric: Prisma.ModelVersionWhereInput = {
    AND: [order.versions, { metricValues: { none: { key } } }],
  };
  const mayLackMetric = order.value.length === 0;

  const ranked = async (take: number, after?: number) =>
    (
      await reader.modelVersionMetric.findMany({
        where: withMetric,
        orderBy: [{ value: direction }, { versionRef: direction }],
        select: { versionRef: true },
        take,
        ...(after === undefined ? {} : { cursor: { versionRef_key: { versionRef: after, key } }, skip: 1 }),
      })
    ).map((row) => row.versionRef);
  const unranked = async (take: number, after?: number) =>
    mayLackMetric
      ? (
          await reader.modelVersion.findMany({
            where: withoutMetric,
            orderBy: [{ createdAt: "desc" }, { ref: "desc" }],
            select: { ref: true },
            take,
            ...(after === undefined ? {} : { cursor: { ref: after }, skip: 1 }),
          })
        ).map((row) => row.ref)
      : [];

  // Its ref is also compared in a filter, which the reader's guard does not check as a cursor.
  if (window.cursor !== undefined && cursorMistyped("ModelVersion", window.cursor))
    throw new MistypedCursorError();
  const size = Math.abs(window.take);
  if (size === 0) return [];
  const cursor = window.cursor?.ref;
  // The cursor version's row for the metric, if it has one: its `ref` is the ranked list's cursor.
  const cursorRef =
    cursor === undefined
      ? undefined
      : (
          await reader.modelVersionMetric.findFirst({
            where: { key, versionRef: cursor },
            select: { versionRef: true },
          })
        )?.versionRef;

  if (window.take > 0) {
    if (cursor !== undefined && cursorRef === undefined) return unranked(size, cursor);
    const first = await ranked(size, cursorRef);
    return first.length < size ? [...first, ...(await unranked(size - first.length))] : first;
  }
  // Backwards: Prisma's negative take yields the rows just before the cursor (or the end), in order.
  if (cursorRef !== undefined) return ranked(-size, cursorRef);
  const last = await unranked(-size, cursor);
  return last.length < size ? [...(await ranked(-(size - last.length))), ...last] : last;
}
