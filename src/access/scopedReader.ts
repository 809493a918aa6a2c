// The database reader as one caller sees it. Every top-level read of a model, a version, an alias,
// a tag, an artifact or a grant made through it is narrowed, inside the SQL query, to the models
// the caller may read. GraphQL resolvers (and Pothos' relation and node loading), the artifact
// routes and subscription filters all read through it, so no resolver re-implements the check,
// pages stay full, counts count only what the caller may see, and a hidden model is
// indistinguishable from a missing one. Nested relations need no filter of their own: they never
// leave the model their parent belongs to.
//
// Events have no relation to models (streams of other contexts share the table): for a caller
// who may not read everything, an event read is narrowed to those of the streams it names (or the
// streams of the positions it names) that are readable models, checked when it runs. Never to a
// list of every readable model: a caller whose team is granted 40,000 models would need 40,000
// bind parameters, past SQLite's limit of 32,766 (and PostgreSQL's 65,535), and the list would
// go stale in a subscription that lives for hours.
import DataLoader from "dataloader";
import type { Db, Prisma } from "../db/database.ts";
import { NotFoundError, PermissionDeniedError } from "../domain/errors.ts";
import { granteeOfKey, grantsFrom, includesPermission } from "../domain/modelPermissions.ts";
import type { ModelPermission } from "../domain/modelPermissions.ts";
import { accessRights, permissionOn, readsEverything } from "./modelAccess.ts";
import type { AccessPolicy, AccessRights } from "./modelAccess.ts";
import type { Caller } from "./principal.ts";

/** The principal and team ids among the caller's grantee keys. */
function granteeIds(rights: AccessRights): { principals: string[]; teams: string[] } {
  const principals: string[] = [];
  const teams: string[] = [];
  for (const key of rights.granteeKeys) {
    const grantee = granteeOfKey(key);
    (grantee.kind === "PRINCIPAL" ? principals : teams).push(grantee.id);
  }
  return { principals, teams };
}

/** Models the caller holds a grant on (directly or through a team); every grant includes READ. */
export function grantedModelsWhere(rights: AccessRights): Prisma.RegisteredModelWhereInput {
  const { principals, teams } = granteeIds(rights);
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
  const scoped = deferred(() => narrowedReader(reader, model));
  narrowedGrantees.set(scoped, granteeIds(rights));
  return scoped;
}

/** The grantees whose grants make a model readable to each narrowed reader. */
const narrowedGrantees = new WeakMap<Db, { principals: string[]; teams: string[] }>();

/**
 * For event reads made in SQL past Prisma (the audit log, ../audit/auditLogFilter.ts): a condition
 * on `stream_id` that keeps the streams of the models this reader may read, with its parameters,
 * or null when the reader is `shared` itself (it reads every stream). A subquery on the grants, so
 * its size does not grow with the number of models. A reader that is neither (one derived from a
 * scoped reader) is refused rather than read unnarrowed.
 */
export function readableStreamsCondition(reader: Db, shared: Db): { sql: string; params: string[] } | null {
  if (reader === shared) return null;
  const grantees = narrowedGrantees.get(reader);
  if (grantees === undefined) throw new Error("event reads in SQL need the shared reader or a scoped one");
  const { principals, teams } = grantees;
  const among = (kind: string, ids: readonly string[]) =>
    ids.length === 0
      ? []
      : [`(grantee_kind = '${kind}' AND grantee_id IN (${ids.map(() => "?").join(", ")}))`];
  const grants = [...among("PRINCIPAL", principals), ...among("TEAM", teams)];
  return {
    sql:
      grants.length === 0
        ? "FALSE"
        : `stream_id IN (SELECT model_id FROM model_permissions WHERE ${grants.join(" OR ")})`,
    params: [...principals, ...teams],
  };
}

function narrowedReader(reader: Db, model: Prisma.RegisteredModelWhereInput): Db {
  const readableAmong = readableStreamsAmong(reader, model);
  const extended = reader.$extends({
    query: {
      $allModels: {
        async $allOperations({ model: name, operation, args, query }) {
          if (!FILTERED_OPERATIONS.has(operation)) return query(args);
          const table = lowerFirst(name);
          const path = PATHS[table];
          const withWhere = args as { where?: unknown };
          const filter =
            path !== undefined
              ? path(model)
              : table === "event"
                ? { streamId: { in: await readableAmong(await eventStreamsNamed(reader, withWhere.where)) } }
                : null;
          if (filter === null) return query(args);
          return query({ ...withWhere, where: narrowed(withWhere.where, filter) });
        },
      },
    },
  });
  // The extension adds no methods: the extended client answers every call the plain one does.
  return extended as unknown as Db;
}

/**
 * The streams an event read can return rows of, from its `where`: the streams it names, or the
 * streams of the positions it names. Every event read through a scoped reader names one or the
 * other (a model's history, an event by position or by stream and revision, a page's previous
 * events); one that names neither is a programming error, refused rather than narrowed to a list
 * of every readable model.
 */
async function eventStreamsNamed(reader: Db, where: unknown): Promise<string[]> {
  const named = namedIn(where, "streamId") ?? streamsOfRevisionKeys(where);
  if (named !== null) return named.filter((s) => typeof s === "string");
  const positions = namedIn(where, "position");
  if (positions === null)
    throw new Error("an event read through a scoped reader must name its streams or its positions");
  const numbers = positions.filter((p) => typeof p === "number");
  if (numbers.length === 0) return [];
  const rows = await reader.event.findMany({
    where: { position: { in: numbers } },
    select: { streamId: true },
    distinct: ["streamId"],
  });
  return rows.map((r) => r.streamId);
}

type Scalar = string | number;

/**
 * The values a `where` pins `field` to (`field: v`, `{ equals: v }` or `{ in: [...] }`, also inside
 * AND, or in every branch of an OR), or null when it leaves the field open.
 */
function namedIn(where: unknown, field: string): Scalar[] | null {
  if (typeof where !== "object" || where === null) return null;
  const w = where as Record<string, unknown>;
  const own = pinnedValues(w[field]);
  if (own !== null) return own;
  const and = w.AND === undefined ? [] : Array.isArray(w.AND) ? w.AND : [w.AND];
  for (const conjunct of and) {
    const values = namedIn(conjunct, field);
    if (values !== null) return values;
  }
  if (Array.isArray(w.OR) && w.OR.length > 0) {
    const union: Scalar[] = [];
    for (const branch of w.OR) {
      const values = namedIn(branch, field);
      if (values === null) return null;
      union.push(...values);
    }
    return union;
  }
  return null;
}

function pinnedValues(condition: unknown): Scalar[] | null {
  if (typeof condition === "string" || typeof condition === "number") return [condition];
  if (typeof condition !== "object" || condition === null) return null;
  const c = condition as { equals?: unknown; in?: unknown };
  if (typeof c.equals === "string" || typeof c.equals === "number") return [c.equals];
  if (Array.isArray(c.in) && c.in.every((v) => typeof v === "string" || typeof v === "number")) return c.in;
  return null;
}

/** The streams of a `streamId_revision` unique lookup, or null. */
function streamsOfRevisionKeys(where: unknown): string[] | null {
  if (typeof where !== "object" || where === null) return null;
  const key = (where as { streamId_revision?: { streamId?: unknown } }).streamId_revision;
  return typeof key?.streamId === "string" ? [key.streamId] : null;
}

/**
 * Which of these streams are models this reader may read: one query per event-loop turn (dispatched
 * with setImmediate, after the turn's I/O callbacks), however many event reads ask in it (a page's
 * previous hashes resolve together), checked afresh each time (`cache: false`: a subscription's
 * reader lives as long as it does, and grants change meanwhile).
 */
function readableStreamsAmong(
  reader: Db,
  model: Prisma.RegisteredModelWhereInput,
): (streams: readonly string[]) => Promise<string[]> {
  const readable = new DataLoader<string, boolean>(
    async (streams) => {
      const rows = await reader.registeredModel.findMany({
        where: { AND: [{ id: { in: [...new Set(streams)] } }, model] },
        select: { id: true },
      });
      const ids = new Set(rows.map((r) => r.id));
      return streams.map((s) => ids.has(s));
    },
    { cache: false, batchScheduleFn: (dispatch) => setImmediate(dispatch) },
  );
  return async (streams) => {
    const wanted = streams.filter((s) => !s.includes(":"));
    const answers = await Promise.all(wanted.map((s) => readable.load(s)));
    return wanted.filter((_, i) => answers[i]);
  };
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
