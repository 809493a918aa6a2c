// Which events a subscriber may receive: those of models it may read. A caller who reads every
// model (the default READ permission, AUDITOR, ADMIN) sees every event. Anyone else starts from the
// grants it holds when it subscribes and follows the log: the events that give or take its grants
// (a model it creates, a grant to it or its team, a revocation) are in the same ordered stream the
// subscription delivers, so a revoked grant stops delivery exactly from the revocation on, and a
// new grant starts it, on every instance, without asking the database again.
//
// Its own role, team memberships and credentials are not events of the model log, so the filter
// cannot follow them: a running subscription re-authenticates its caller
// (../graphql/liveSubscription.ts) as soon as the hub (../subscriptions/eventHub.ts) reads an access
// event that may concern it (`accessChangeKeys`, matched against `subscriberAccessKeys`), and every
// CREDENTIAL_RECHECK_MS besides, for what no event announces (a JWT expiring). `readsLess` tells
// whether what it may read has shrunk since it subscribed (a role that no longer reads every model,
// a team left); it then ends, and the resubscription is filtered by the rights the caller holds now.
//
// Events a subscription replays from before it started (`after` an older cursor) are history: they
// are shown as history() would show them now, by the grants read at the start, so a revoked
// subscriber cannot replay the time it held a grant, and one granted since sees what it can read.
import type { Database, Db } from "../db/database.ts";
import { rowInt, rowJson } from "../db/sql.ts";
import { granteeKey } from "../domain/modelPermissions.ts";
import { typeNameOf } from "../store/eventTypes.ts";
import type { RecordedEvent } from "../store/recordedEvent.ts";
import type { AccessEventType } from "./domain/events.ts";
import { parseAccessEvent, principalStream, teamStream, tokenStream } from "./domain/events.ts";
import { readsEverything } from "./modelAccess.ts";
import type { AccessRights } from "./modelAccess.ts";
import type { Caller } from "./principal.ts";
import { grantedModelsWhere } from "./scopedReader.ts";

/** Called for every event in log order; true when the subscriber may receive it. */
export type EventVisibility = (event: RecordedEvent) => boolean;

/**
 * `asOf`: a log position read before the grants are (the grants then include the effect of every
 * event up to it); the visibility follows grant events from there on.
 */
export async function subscriberVisibility(
  reader: Db,
  rights: AccessRights,
  asOf: number,
): Promise<EventVisibility> {
  if (readsEverything(rights)) return () => true;
  const mine = new Set(rights.granteeKeys);
  // model id -> which of the subscriber's grantee keys hold a grant on it
  const held = new Map<string, Set<string>>();
  const rows = await reader.modelPermission.findMany({
    where: { model: grantedModelsWhere(rights) },
    select: { modelId: true, granteeKind: true, granteeId: true },
  });
  const add = (modelId: string, key: string) => {
    const keys = held.get(modelId);
    if (keys) keys.add(key);
    else held.set(modelId, new Set([key]));
  };
  for (const row of rows) {
    const key = granteeKey({ kind: row.granteeKind as "PRINCIPAL" | "TEAM", id: row.granteeId });
    if (mine.has(key)) add(row.modelId, key);
  }
  return (event) => {
    if (event.position > asOf) follow(event);
    return held.has(event.streamId);
  };

  function follow(event: RecordedEvent) {
    switch (event.type) {
      case "RegisteredModelCreated": {
        const creator = event.data.creatorId;
        if (creator !== undefined && rights.principalId === creator)
          add(event.streamId, granteeKey({ kind: "PRINCIPAL", id: creator }));
        break;
      }
      case "ModelPermissionGranted": {
        const key = granteeKey(event.data.grantee);
        if (mine.has(key)) add(event.streamId, key);
        break;
      }
      case "ModelPermissionRevoked": {
        const keys = held.get(event.streamId);
        keys?.delete(granteeKey(event.data.grantee));
        if (keys?.size === 0) held.delete(event.streamId);
        break;
      }
      default:
    }
  }
}

/**
 * Whether a subscriber holding `now` may read fewer models than it did with `before`, whatever the
 * grants: it no longer reads every model, or it lost a grantee key (left a team). Visibility depends
 * on nothing else (a READ floor, or a grant to one of its keys).
 */
export function readsLess(before: AccessRights, now: AccessRights): boolean {
  if (readsEverything(now)) return false;
  if (readsEverything(before)) return true;
  const keys = new Set(now.granteeKeys);
  return before.granteeKeys.some((key) => !keys.has(key));
}

/**
 * What a running subscription is watched under for access events (`accessChangeKeys` names the same
 * things): its principal's stream, its token's when it authenticated with one, and its teams'.
 */
export function subscriberAccessKeys(caller: Caller): string[] {
  const keys = [principalStream(caller.principal.id), ...caller.principal.teamIds.map(teamStream)];
  if (caller.credential.kind === "token") keys.push(tokenStream(caller.credential.tokenId));
  return keys;
}

/**
 * Access events that only ever give (or rename): nobody reads less because of them. Any other type,
 * including one added later and not listed here, sends its subscribers to look again.
 */
const ONLY_GIVES: ReadonlySet<AccessEventType> = new Set<AccessEventType>([
  "PrincipalCreated",
  "PrincipalProfileUpdated",
  "PrincipalEnabled",
  "TeamCreated",
  "TeamRenamed",
  "TeamMemberAdded",
  "ApiTokenCreated",
]);

/**
 * Whose running subscriptions an access event may take access from, as `subscriberAccessKeys`
 * names them: a role set or a principal disabled concerns the principal, a revoked token its
 * users, a removed member that member. An event that cannot be read (a type or version this
 * process does not know) concerns everyone watched under its stream.
 */
export function accessChangeKeys(
  streamId: string,
  type: string,
  schemaVersion: number,
  storedData: unknown,
): string[] {
  let event;
  try {
    event = parseAccessEvent(type, schemaVersion, rowJson(storedData));
  } catch {
    return [streamId];
  }
  if (ONLY_GIVES.has(event.type)) return [];
  if (event.type === "TeamMemberRemoved") return [principalStream(event.data.principalId)];
  return [streamId];
}

/** One page of the log's access events, as the subscription hub reads them. */
export interface AccessChangePage {
  /** accessChangeKeys of the page's events (repeats included). */
  readonly keys: readonly string[];
  /** How many events the page held: fewer than asked is the log's end. */
  readonly rows: number;
  /** The position of the page's last event, or the position it was read after when it is empty. */
  readonly last: number;
}

interface AccessEventRow {
  position: number | string;
  stream_id: string;
  type: string;
  schema_version: number | string;
  data: unknown;
}

const ACCESS_STREAMS = [principalStream(""), teamStream(""), tokenStream("")]
  .map((prefix) => `stream_id LIKE '${prefix}%'`)
  .join(" OR ");

/**
 * Access events after `afterPosition`, at most `limit`. No hash check: the page only tells the
 * subscriptions it concerns to authenticate again, which reads the access tables, not these rows;
 * an event forged into the log costs a re-check, never access.
 */
export async function readAccessChanges(
  db: Pick<Database, "query">,
  afterPosition: number,
  limit: number,
): Promise<AccessChangePage> {
  const rows = await db.query<AccessEventRow>(
    `SELECT position, stream_id, ${typeNameOf("type")} AS type, schema_version, data FROM events
      WHERE position > ? AND (${ACCESS_STREAMS}) ORDER BY position LIMIT ?`,
    [afterPosition, limit],
  );
  const keys = rows.flatMap((row) =>
    accessChangeKeys(row.stream_id, row.type, rowInt(row.schema_version), row.data),
  );
  const last = rows.at(-1);
  return { keys, rows: rows.length, last: last === undefined ? afterPosition : rowInt(last.position) };
}
