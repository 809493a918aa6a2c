// Which events a subscriber may receive: those of models it may read. A caller who reads every
// model (the default READ permission, AUDITOR, ADMIN) sees every event. Anyone else starts from the
// grants it holds when it subscribes and follows the log: the events that give or take its grants
// (a model it creates, a grant to it or its team, a revocation) are in the same ordered stream the
// subscription delivers, so a revoked grant stops delivery exactly from the revocation on, and a
// new grant starts it, on every instance, without asking the database again.
//
// Its own role and team memberships are not events of the model log, so the filter cannot follow
// them: a running subscription re-authenticates its caller every CREDENTIAL_RECHECK_MS
// (../graphql/liveSubscription.ts), and `readsLess` tells whether what it may read has shrunk since
// it subscribed (a role that no longer reads every model, a team left); it then ends, and the
// resubscription is filtered by the rights the caller holds now.
//
// Events a subscription replays from before it started (`after` an older cursor) are history: they
// are shown as history() would show them now, by the grants read at the start, so a revoked
// subscriber cannot replay the time it held a grant, and one granted since sees what it can read.
import type { Db } from "../db/database.ts";
import { granteeKey } from "../domain/modelPermissions.ts";
import type { RecordedEvent } from "../store/recordedEvent.ts";
import { readsEverything } from "./modelAccess.ts";
import type { AccessRights } from "./modelAccess.ts";
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
