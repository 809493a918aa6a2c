// `registeredModels(filter:)` as database conditions (see ./versionSearch.ts for why).
import type { DatabaseConfig } from "../../config.ts";
import type { Prisma } from "../../db/database.ts";
import type { Stage } from "../../domain/registeredModel/events.ts";
import { LIMITS } from "../../domain/validation.ts";
import { checkFilterText, tagConditions } from "./filterInput.ts";
import type { TagCondition } from "./filterInput.ts";
import { containsText, searchEncoded } from "./textFilter.ts";

export interface RegisteredModelFilterInput {
  readonly nameContains?: string | null;
  readonly text?: string | null;
  readonly tag?: TagCondition | null;
  readonly tags?: readonly TagCondition[] | null;
  readonly stage?: Stage | null;
  readonly alias?: string | null;
  readonly includeDeleted?: boolean | null;
}

/** Validates the filter and translates it; throws BAD_USER_INPUT GraphQL errors. */
export function modelSearchWhere(
  provider: DatabaseConfig["provider"],
  filter: RegisteredModelFilterInput | null | undefined,
): Prisma.RegisteredModelWhereInput {
  const f = filter ?? {};
  const conditions: Prisma.RegisteredModelWhereInput[] = [f.includeDeleted ? {} : { deleted: false }];
  // Kept as it always compared (LIKE: case-sensitive on PostgreSQL, ASCII case folded on SQLite),
  // but on the wildcard-free column, so that `%` and `_` are plain characters here too.
  if (f.nameContains) {
    checkFilterText("filter.nameContains", f.nameContains, LIMITS.nameMaxLength);
    conditions.push({ searchName: { contains: searchEncoded(f.nameContains) } });
  }
  if (f.text != null) {
    const text = containsText(provider, "filter.text", f.text);
    conditions.push({ OR: [{ searchName: text }, { searchDescription: text }] });
  }
  conditions.push(...tagConditions("filter", f.tag, f.tags));
  if (f.stage != null) conditions.push({ versions: { some: { stage: f.stage, deleted: false } } });
  if (f.alias != null) conditions.push({ aliases: { some: { alias: f.alias } } });
  return { AND: conditions };
}
