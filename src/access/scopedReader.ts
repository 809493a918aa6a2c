// The database reader as one caller sees it. Every top-level read of a model, a version, an alias,
// a tag, an artifact or a grant made through it is narrowed, inside the SQL query, to the models
// the caller may read. GraphQL resolvers (and Pothos' relation and node loading), the artifact
// routes and subscription filters all read through it, so no resolver re-implements the check,
// pages stay full, counts count only what the caller may see, and a hidden model is
// indistinguishable from a missing one. Nested relations need no filter of their own: they never
// leave the model their parent belongs to.
//
// Events have no relation to models (streams of other contexts share the table): for a caller
// who may not read everything, event reads are narrowed to the streams of the models it holds a
// grant on (looked up once per request).
import type { Db, Prisma } from "../db/database.ts";
import { NotFoundError, PermissionDeniedError } from "../domain/errors.ts";
import { granteeOfKey, grantsFrom, includesPermission } from "../domain/modelPermissions.ts";
import type { ModelPermission } from "../domain/modelPermissions.ts";
import { accessRights, permissionOn, readsEverything } from "./modelAccess.ts";
import type { AccessPolicy, AccessRights } from "./modelAccess.ts";
import type { Caller } from "./principal.ts";

/** Models the caller holds a grant on (directly or through a team); every grant includes READ. */
export function grantedModelsWhere(rights: AccessRights): Prisma.RegisteredModelWhereInput {
  const principals: string[] = [];
  const teams: string[] = [];
  for (const key of rights.granteeKeys) {
    const grantee = granteeOfKey(key);
    (grantee.kind === "PRINCIPAL" ? principals : teams).push(grantee.id);
  }
  return {
    permissions: {
      some: {
        OR: [
          { granteeKind: "PRINCIPAL", granteeId: { in: principals } },
          ...(teams.length > 0 ? [{ granteeKind: "TEAM", granteeId: { in: teams } }] : []),
        ],
      },
    },
  };
}

/** The models this caller may read, as a Prisma filter; null when it may read every model. */
export function readableModelsWhere(rights: AccessRights): Prisma.RegisteredModelWhereInput | null {
  return readsEverything(rights) ? null : grantedModelsWhere(rights);
}

type Where = Record<string, unknown>;

/** How each model-owned table reaches its model. */
const PATHS: Record<string, (model: Where) => Where> = {
  registeredModel: (model) => model,
  registeredModelTag: (model) => ({ model }),
  modelVersion: (model) => ({ model }),
  modelVersionTag: (model) => ({ version: { model } }),
  modelVersionMetric: (model) => ({ version: { model } }),
  modelAlias: (model) => ({ model }),
  modelVersionArtifact: (model) => ({ modelVersion: { model } }),
  modelPermission: (model) => ({ model }),
  modelVersionComment: (model) => ({ model }),
  reviewRequest: (model) => ({ model }),
};

const FILTERED_OPERATIONS = new Set([
  "findUnique",
  "findUniqueOrThrow",
  "findFirst",
  "findFirstOrThrow",
  "findMany",
  "count",
  "aggregate",
  "groupBy",
]);

/** `where` AND the filter; unique lookups keep their unique fields at the top (Prisma requires it). */
function narrowed(where: unknown, filter: Where): Where {
  const base = (where ?? {}) as Where;
  const and = base.AND === undefined ? [] : Array.isArray(base.AND) ? base.AND : [base.AND];
  return { ...base, AND: [...(and as unknown[]), filter] };
}

/**
 * The reader for a caller. A caller who may read every model gets the shared reader itself (no
 * cost); others get a Prisma client extension that narrows every model-owned query. The extension
 * is built on first use: building one costs about as much CPU as verifying the request's token,
 * and most commands never read through it.
 */
export function scopedReader(reader: Db, rights: AccessRights): Db {
  const model = readableModelsWhere(rights);
  if (model === null) return reader;
  let streams: Promise<string[]> | null = null;
  const readableStreams = () =>
    (streams ??= reader.registeredModel
      .findMany({ where: model, select: { id: true } })
      .then((rows) => rows.map((r) => r.id)));
  const scoped = deferred(() => narrowedReader(reader, model, readableStreams));
  narrowedStreams.set(scoped, readableStreams);
  return scoped;
}

/** The stream list each narrowed reader narrows event reads to (looked up once, on first use). */
const narrowedStreams = new WeakMap<Db, () => Promise<string[]>>();

/**
 * For event reads made in SQL past Prisma (the audit log, ../audit/auditLogFilter.ts): the streams
 * this reader narrows event reads to, or null when it is `shared` itself (it reads every stream). A
 * reader that is neither (one derived from a scoped reader) is refused rather than read unnarrowed.
 */
export function readableStreamsOf(reader: Db, shared: Db): Promise<string[]> | null {
  if (reader === shared) return null;
  const streams = narrowedStreams.get(reader);
  if (streams === undefined) throw new Error("event reads in SQL need the shared reader or a scoped one");
  return streams();
}

function narrowedReader(
  reader: Db,
  model: Prisma.RegisteredModelWhereInput,
  readableStreams: () => Promise<string[]>,
): Db {
  const extended = reader.$extends({
    query: {
      $allModels: {
        async $allOperations({ model: name, operation, args, query }) {
          if (!FILTERED_OPERATIONS.has(operation)) return query(args);
          const table = lowerFirst(name);
          const path = PATHS[table];
          const filter =
            path !== undefined
              ? path(model)
              : table === "event"
                ? { streamId: { in: await readableStreams() } }
                : null;
          if (filter === null) return query(args);
          const withWhere = args as { where?: unknown };
          return query({ ...withWhere, where: narrowed(withWhere.where, filter) });
        },
      },
    },
  });
  // The extension adds no methods: the extended client answers every call the plain one does.
  return extended as unknown as Db;
}

/** A client that is made by `make` the first time anything is asked of it. */
function deferred(make: () => Db): Db {
  let client: Db | null = null;
  const made = () => (client ??= make());
  return new Proxy({} as Db, {
    get: (_, property): unknown => Reflect.get(made(), property),
    has: (_, property) => Reflect.has(made(), property),
  });
}

const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

/** What one request may do, and the reader it reads with. */
export interface RequestAccess {
  readonly rights: AccessRights;
  readonly reader: Db;
}

export function requestAccess(reader: Db, policy: AccessPolicy, caller: Caller): RequestAccess {
  const rights = accessRights(caller, policy);
  return { rights, reader: scopedReader(reader, rights) };
}

/**
 * The caller's permission on the live model of this name, through its own reader: null when the
 * model does not exist or the caller may not read it (the two are the same to the caller).
 */
export async function permissionOnModel(
  access: RequestAccess,
  name: string,
): Promise<ModelPermission | null> {
  const model = await access.reader.registeredModel.findFirst({
    where: { name, deleted: false },
    select: { permissions: { select: { granteeKind: true, granteeId: true, permission: true } } },
  });
  if (model === null) return null;
  return permissionOn(
    access.rights,
    grantsFrom(model.permissions.map((p) => [p.granteeKind, p.granteeId, p.permission])),
  );
}

/**
 * Why this caller may not write to the live model of this name (a missing or unreadable model is
 * NotFound, a readable one PermissionDenied), or null when it may. Routes that receive bytes ask
 * before storing them; the command checks again, atomically, when it records them.
 */
export async function writeRefusal(
  access: RequestAccess,
  name: string,
  operation: string,
): Promise<NotFoundError | PermissionDeniedError | null> {
  const permission = await permissionOnModel(access, name);
  if (permission === null) return new NotFoundError("RegisteredModel", name);
  if (!includesPermission(permission, "EDIT"))
    return new PermissionDeniedError(operation, `EDIT on model ${name}`);
  return null;
}
