// Per-model permissions: who may read, edit or manage one model. Grants and revocations are events
// on the model's own stream (so its history says who gave whom access, and when); the rules that
// turn them into what a caller may do live in src/access/modelAccess.ts.

/** Ordered: each permission includes the ones before it. */
export const MODEL_PERMISSIONS = ["READ", "EDIT", "MANAGE"] as const;
export type ModelPermission = (typeof MODEL_PERMISSIONS)[number];

/** A grant goes to one principal (user or service account) or to a team (all its members). */
export const GRANTEE_KINDS = ["PRINCIPAL", "TEAM"] as const;
export type GranteeKind = (typeof GRANTEE_KINDS)[number];

export interface Grantee {
  readonly kind: GranteeKind;
  readonly id: string;
}

/** Grants of one model by grantee key (`PRINCIPAL:<id>` or `TEAM:<id>`). */
export type Grants = Readonly<Record<string, ModelPermission>>;

export const granteeKey = (grantee: Grantee): string => `${grantee.kind}:${grantee.id}`;

export function granteeOfKey(key: string): Grantee {
  const colon = key.indexOf(":");
  return { kind: key.slice(0, colon) as GranteeKind, id: key.slice(colon + 1) };
}

/** Grants from stored rows, as (grantee kind, grantee id, permission) triples. */
export const grantsFrom = (rows: Iterable<readonly [kind: string, id: string, permission: string]>): Grants =>
  Object.fromEntries(
    Array.from(rows, ([kind, id, permission]) => [
      granteeKey({ kind: kind as GranteeKind, id }),
      permission as ModelPermission,
    ]),
  );

/** 0 for no permission, then 1, 2, 3 in the order of MODEL_PERMISSIONS. */
export const permissionRank = (permission: ModelPermission | null): number =>
  permission === null ? 0 : MODEL_PERMISSIONS.indexOf(permission) + 1;

export const includesPermission = (held: ModelPermission | null, needed: ModelPermission): boolean =>
  permissionRank(held) >= permissionRank(needed);

export const higherPermission = (
  a: ModelPermission | null,
  b: ModelPermission | null,
): ModelPermission | null => (permissionRank(a) >= permissionRank(b) ? a : b);

export const lowerPermission = (
  a: ModelPermission | null,
  b: ModelPermission | null,
): ModelPermission | null => (permissionRank(a) <= permissionRank(b) ? a : b);

/** The creator of a model manages it (recorded as `creatorId` on RegisteredModelCreated). */
export const creatorGrants = (creatorId: string | null | undefined): Grants =>
  creatorId ? { [granteeKey({ kind: "PRINCIPAL", id: creatorId })]: "MANAGE" } : {};
