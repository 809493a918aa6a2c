// Who caused an event, as recorded with it: the principal's id, kind and display name at the time,
// and the credential the request used. Events recorded before authentication existed carry only the
// name `anonymous`; they read back as the ANONYMOUS actor (no id, no credential).
import { z } from "zod";
import type { Caller, Credential, PrincipalKind } from "./principal.ts";

/** SYSTEM: the registry itself (the bootstrap command, an SSO or local user's first appearance). */
export type ActorKind = PrincipalKind | "ANONYMOUS" | "SYSTEM";

export interface EventActor {
  /** The principal's id; null for events recorded before authentication existed. */
  readonly id: string | null;
  readonly kind: ActorKind;
  /** The principal's display name when the event was recorded. */
  readonly displayName: string;
  /** How the actor proved who they were; null for events recorded before authentication. */
  readonly credential: Credential | null;
}

/** The display name every event carried before authentication existed. */
export const ANONYMOUS_NAME = "anonymous";

export const ANONYMOUS_ACTOR: EventActor = {
  id: null,
  kind: "ANONYMOUS",
  displayName: ANONYMOUS_NAME,
  credential: null,
};

/** The registry acting on its own behalf, e.g. `bootstrap`, `sso:<subject>`, `local:<name>`. */
export const systemActor = (displayName: string): EventActor => ({
  id: null,
  kind: "SYSTEM",
  displayName,
  credential: null,
});

/** What is recorded for a caller: never the token secret, only its id (or the JWT's jti and issuer). */
export function actorOf(caller: Caller): EventActor {
  const { principal, credential } = caller;
  const recorded: Credential =
    credential.kind === "token"
      ? { kind: "token", tokenId: credential.tokenId, scopes: [...credential.scopes] }
      : credential.kind === "jwt"
        ? { kind: "jwt", jti: credential.jti, issuer: credential.issuer }
        : { kind: "local" };
  return { id: principal.id, kind: principal.kind, displayName: principal.displayName, credential: recorded };
}

const credentialSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("token"),
    tokenId: z.string(),
    scopes: z.array(z.enum(["read", "write", "admin"])),
  }),
  z.object({ kind: z.literal("jwt"), jti: z.string().nullable(), issuer: z.string() }),
  z.object({ kind: z.literal("local") }),
]);

const kindSchema = z.enum(["USER", "SERVICE_ACCOUNT"]);

/**
 * An actor from the event table's columns. Stored JSON is validated, never trusted: a row whose
 * actor columns do not hold together reads as the name alone (as events before authentication do).
 */
export function actorFromColumns(columns: {
  readonly actor: string;
  readonly actorId: string | null;
  readonly actorKind: string | null;
  readonly actorCredential: unknown;
}): EventActor {
  if (columns.actorKind === "SYSTEM") return systemActor(columns.actor);
  if (columns.actorId === null) return { ...ANONYMOUS_ACTOR, displayName: columns.actor };
  const kind = kindSchema.safeParse(columns.actorKind);
  const credential = credentialSchema.safeParse(columns.actorCredential);
  return {
    id: columns.actorId,
    kind: kind.success ? kind.data : "USER",
    displayName: columns.actor,
    credential: credential.success ? credential.data : null,
  };
}

/** The actor's columns in the event table. */
export function actorColumns(actor: EventActor) {
  return {
    actor: actor.displayName,
    actorId: actor.id,
    actorKind: actor.kind === "ANONYMOUS" ? null : actor.kind,
    actorCredential: actor.credential === null ? null : JSON.stringify(actor.credential),
  };
}
