// Read model: the current view of a registered model. Pure; never throws; rebuildable from the log.
import { creatorGrants, granteeKey } from "../../domain/modelPermissions.ts";
import type { Grants } from "../../domain/modelPermissions.ts";
import type { Tags } from "../../domain/registeredModel/events.ts";
import type { ReviewRule } from "../../reviews/domain/events.ts";
import type { RecordedEvent } from "../../store/recordedEvent.ts";

export interface RegisteredModelView {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly deleted: boolean;
  readonly deletedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly createdBy: string;
  readonly revision: number;
  readonly lastVersion: number;
  readonly tags: Tags;
  /** alias -> version number */
  readonly aliases: Readonly<Record<string, number>>;
  /** Per-model permissions by grantee key (`PRINCIPAL:<id>`, `TEAM:<id>`). */
  readonly grants: Grants;
  /** The review policy's rules (src/reviews/); empty: nothing is protected. */
  readonly reviewPolicy: readonly ReviewRule[];
}

function without<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _removed, ...rest } = record;
  return rest;
}

function fields(view: RegisteredModelView, event: RecordedEvent): Partial<RegisteredModelView> | null {
  switch (event.type) {
    case "RegisteredModelRenamed":
      return { name: event.data.to };
    case "RegisteredModelDescriptionUpdated":
      return { description: event.data.description };
    case "RegisteredModelTagSet":
      return { tags: { ...view.tags, [event.data.key]: event.data.value } };
    case "RegisteredModelTagDeleted":
      return { tags: without(view.tags, event.data.key) };
    case "RegisteredModelDeleted":
      return { deleted: true, deletedAt: event.occurredAt };
    case "RegisteredModelRestored":
      return { deleted: false, deletedAt: null };
    case "RegisteredModelAliasSet":
      return { aliases: { ...view.aliases, [event.data.alias]: event.data.version } };
    case "RegisteredModelAliasDeleted":
      return { aliases: without(view.aliases, event.data.alias) };
    case "ModelPermissionGranted":
      return { grants: { ...view.grants, [granteeKey(event.data.grantee)]: event.data.permission } };
    case "ModelPermissionRevoked":
      return { grants: without(view.grants, granteeKey(event.data.grantee)) };
    case "ModelVersionCreated":
      return { lastVersion: Math.max(view.lastVersion, event.data.version) };
    case "ModelVersionDeleted":
      return { aliases: event.data.removedAliases.reduce(without, view.aliases) };
    case "ModelReviewPolicySet":
      return { reviewPolicy: event.data.rules };
    default:
      return null;
  }
}

export function evolveRegisteredModelView(
  view: RegisteredModelView | null,
  event: RecordedEvent,
): RegisteredModelView | null {
  if (event.type === "RegisteredModelCreated") {
    return {
      id: event.streamId,
      name: event.data.name,
      description: event.data.description,
      deleted: false,
      deletedAt: null,
      createdAt: event.occurredAt,
      updatedAt: event.occurredAt,
      createdBy: event.actor.displayName,
      revision: event.revision,
      lastVersion: 0,
      tags: event.data.tags,
      aliases: {},
      grants: creatorGrants(event.data.creatorId),
      reviewPolicy: [],
    };
  }
  // An event for a model the view has never seen cannot be applied; the view stays as it is.
  if (view === null) return null;
  const changed = fields(view, event);
  // Most events of a stream are its versions': they change only these two, and a rebuild folds a
  // million of them, so they skip spreading an empty change.
  if (changed === null) return { ...view, updatedAt: event.occurredAt, revision: event.revision };
  return { ...view, ...changed, updatedAt: event.occurredAt, revision: event.revision };
}
