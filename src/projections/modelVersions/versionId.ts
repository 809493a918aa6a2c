// A model version's id, "<model id>:<version>", as the API names versions. The database computes
// the same text in `model_versions.id` but does not index it (migration
// 20261218000000_version_children, #18): a version named by its id is found by its model and
// number, the unique key every row that belongs to a version uses.

export const modelVersionId = (modelId: string, version: number) => `${modelId}:${version}`;

/** Version numbers a row can hold (PostgreSQL's `integer`); anything larger names no version. */
const MAX_VERSION = 2_147_483_647;
const VERSION_NUMBER = /^[1-9][0-9]{0,9}$/;

/** The model and number an id names, or null when it is not a version id. */
export function parseModelVersionId(id: string): { modelId: string; version: number } | null {
  const colon = id.lastIndexOf(":");
  if (colon <= 0) return null;
  const digits = id.slice(colon + 1);
  if (!VERSION_NUMBER.test(digits)) return null;
  const version = Number(digits);
  return version > MAX_VERSION ? null : { modelId: id.slice(0, colon), version };
}

/**
 * Prisma's unique key of the version an id names. An id that names no version gets a key no row
 * holds (version numbers start at 1), so a lookup finds nothing instead of failing; the id's text
 * stays in it, so the reader's checks of client text (a NUL, an unpaired surrogate) still apply.
 */
export function versionKeyOfId(id: string): { modelId_version: { modelId: string; version: number } } {
  return { modelId_version: parseModelVersionId(id) ?? { modelId: id, version: 0 } };
}
