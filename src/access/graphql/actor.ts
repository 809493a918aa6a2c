// GraphQL: who caused an event (`RegistryEvent.actor` and the change types derived from events).
import { builder } from "../../graphql/builder.ts";
import { actorFromColumns } from "../actor.ts";
import type { Database } from "../../db/database.ts";
import { eventActorOf, knownEventActor } from "../../store/eventActors.ts";
import type { EventActor } from "../actor.ts";
import type { Credential } from "../principal.ts";

const ActorKindEnum = builder.enumType("ActorKind", {
  description: "What kind of principal caused an event.",
  values: {
    USER: {
      description: "A person (signed in with a token, single sign-on, or as the local administrator).",
    },
    SERVICE_ACCOUNT: { description: "A CI job or serving system, with an API token." },
    ANONYMOUS: { description: "Recorded before the registry authenticated callers: only a name is known." },
    SYSTEM: {
      description:
        "The registry itself: the bootstrap command, or a user's first appearance through SSO or local mode.",
    },
  } as const,
});

const ActorCredentialKindEnum = builder.enumType("ActorCredentialKind", {
  description: "How the actor proved who they were.",
  values: {
    TOKEN: { description: "A registry API token (`rgo_…`); `tokenId` names it (never its secret)." },
    JWT: { description: "A single sign-on access token; `jti` and `issuer` identify it." },
    LOCAL: { description: "No credentials: AUTH=local on loopback, acting as the local administrator." },
  } as const,
});

const ActorCredentialRef = builder.objectRef<Credential>("ActorCredential").implement({
  description: "The credential a change was made with (recorded with the event; never a secret).",
  fields: (t) => ({
    kind: t.field({
      type: ActorCredentialKindEnum,
      description: "Token, single sign-on access token, or local mode.",
      resolve: (c) => (c.kind === "token" ? "TOKEN" : c.kind === "jwt" ? "JWT" : "LOCAL"),
    }),
    tokenId: t.string({
      nullable: true,
      description: "Id of the API token used (TOKEN only).",
      resolve: (c) => (c.kind === "token" ? c.tokenId : null),
    }),
    jti: t.string({
      nullable: true,
      description: "The access token's `jti` claim, when it had one (JWT only).",
      resolve: (c) => (c.kind === "jwt" ? c.jti : null),
    }),
    issuer: t.string({
      nullable: true,
      description: "The access token's issuer (JWT only).",
      resolve: (c) => (c.kind === "jwt" ? c.issuer : null),
    }),
  }),
});

export const ActorRef = builder.objectRef<EventActor>("Actor").implement({
  description: "Who caused a change: the principal as it was then, and the credential used.",
  fields: (t) => ({
    id: t.string({
      nullable: true,
      description: "The principal's stable id; null for changes recorded before authentication (ANONYMOUS).",
      resolve: (a) => a.id,
    }),
    displayName: t.exposeString("displayName", {
      description:
        "The principal's display name at the time of the change (`anonymous` before authentication).",
    }),
    kind: t.field({
      type: ActorKindEnum,
      description: "User, service account, or anonymous.",
      resolve: (a) => a.kind,
    }),
    credential: t.field({
      type: ActorCredentialRef,
      nullable: true,
      description: "How the actor authenticated; null for changes recorded before authentication.",
      resolve: (a) => a.credential,
    }),
  }),
});

/**
 * The actor of an event as GraphQL resolves it: event rows read in SQL (the audit log) carry the
 * actor's columns; rows read through Prisma its id in event_actors (../../store/eventActors.ts),
 * looked up in batches; events fresh from a command or a subscription carry it already assembled.
 */
export function actorOfEventRow(
  row: {
    readonly actor?: string | EventActor;
    readonly actorRef?: number;
    readonly actorId?: string | null;
    readonly actorKind?: string | null;
    readonly actorCredential?: unknown;
  },
  db: Pick<Database, "query">,
): EventActor | Promise<EventActor> {
  if (row.actor !== undefined && typeof row.actor !== "string") return row.actor;
  if (row.actor === undefined) {
    if (row.actorRef === undefined) throw new Error("an event row without its actor");
    const known = knownEventActor(db, row.actorRef);
    return known === undefined
      ? eventActorOf(db, row.actorRef).then(actorFromColumns)
      : actorFromColumns(known);
  }
  return actorFromColumns({
    actor: row.actor,
    actorId: row.actorId ?? null,
    actorKind: row.actorKind ?? null,
    actorCredential: row.actorCredential ?? null,
  });
}
