// The principal aggregate (a user or a service account): pure decide/evolve over its own stream.
import { InvalidStateError, ValidationError } from "../../domain/errors.ts";
import type { DomainError } from "../../domain/errors.ts";
import { firstError } from "../../domain/validation.ts";
import type { PrincipalKind, RegistryRole } from "../principal.ts";
import type { ExternalIdentity, PrincipalEvent, PrincipalSource } from "./events.ts";
import { REGISTRY_ROLES } from "./events.ts";
import { checkDisplayName, checkEmail, checkExternalId } from "./validation.ts";

export type PrincipalCommand =
  | {
      readonly type: "CreatePrincipal";
      /** Exactly what PrincipalCreated records. */
      readonly data: Extract<PrincipalEvent, { type: "PrincipalCreated" }>["data"];
    }
  /** Fields left undefined keep their value. */
  | {
      readonly type: "UpdatePrincipalProfile";
      readonly data: { readonly displayName?: string; readonly email?: string | null };
    }
  | { readonly type: "SetPrincipalRole"; readonly data: { readonly role: RegistryRole } }
  | { readonly type: "DisablePrincipal"; readonly data: Record<string, never> }
  | { readonly type: "EnablePrincipal"; readonly data: Record<string, never> };

export interface PrincipalState {
  readonly id: string;
  readonly kind: PrincipalKind;
  readonly displayName: string;
  readonly email: string | null;
  readonly role: RegistryRole;
  readonly disabled: boolean;
  readonly source: PrincipalSource;
  readonly externalIdentity: ExternalIdentity | null;
}

export function evolvePrincipal(state: PrincipalState | null, event: PrincipalEvent): PrincipalState | null {
  switch (event.type) {
    case "PrincipalCreated":
      return {
        id: event.data.principalId,
        kind: event.data.kind,
        displayName: event.data.displayName,
        email: event.data.email,
        role: event.data.role,
        disabled: false,
        source: event.data.source,
        externalIdentity: event.data.externalIdentity,
      };
    case "PrincipalProfileUpdated":
      return state && { ...state, displayName: event.data.displayName, email: event.data.email };
    case "PrincipalRoleSet":
      return state && { ...state, role: event.data.to };
    case "PrincipalDisabled":
      return state && { ...state, disabled: true };
    case "PrincipalEnabled":
      return state && { ...state, disabled: false };
  }
}

function createPrincipal(
  command: Extract<PrincipalCommand, { type: "CreatePrincipal" }>,
  state: PrincipalState | null,
): PrincipalEvent[] | DomainError {
  if (state !== null) return new InvalidStateError(`principal ${state.id} already exists`);
  const d = command.data;
  const invalid = firstError(
    checkDisplayName("displayName", d.displayName),
    checkEmail("email", d.email),
    d.externalIdentity && checkExternalId("externalIdentity.issuer", d.externalIdentity.issuer),
    d.externalIdentity && checkExternalId("externalIdentity.subject", d.externalIdentity.subject),
    REGISTRY_ROLES.includes(d.role) ? null : new ValidationError("role", "unknown role"),
  );
  if (invalid) return invalid;
  if (d.kind === "SERVICE_ACCOUNT" && d.externalIdentity !== null)
    return new ValidationError("externalIdentity", "service accounts have no external identity");
  return [{ type: "PrincipalCreated", data: { ...d } }];
}

function updatePrincipalProfile(
  command: Extract<PrincipalCommand, { type: "UpdatePrincipalProfile" }>,
  state: PrincipalState,
): PrincipalEvent[] | DomainError {
  const displayName = command.data.displayName ?? state.displayName;
  const email = command.data.email === undefined ? state.email : command.data.email;
  const invalid = firstError(checkDisplayName("displayName", displayName), checkEmail("email", email));
  if (invalid) return invalid;
  // Unchanged is not an event: SSO logins re-send the same claims on every request.
  if (displayName === state.displayName && email === state.email) return [];
  return [{ type: "PrincipalProfileUpdated", data: { displayName, email } }];
}

export function decidePrincipal(
  command: PrincipalCommand,
  state: PrincipalState | null,
): PrincipalEvent[] | DomainError {
  if (command.type === "CreatePrincipal") return createPrincipal(command, state);
  if (state === null) return new InvalidStateError("the principal does not exist");
  switch (command.type) {
    case "UpdatePrincipalProfile":
      return updatePrincipalProfile(command, state);
    case "SetPrincipalRole":
      if (!REGISTRY_ROLES.includes(command.data.role)) return new ValidationError("role", "unknown role");
      return command.data.role === state.role
        ? []
        : [{ type: "PrincipalRoleSet", data: { from: state.role, to: command.data.role } }];
    case "DisablePrincipal":
      return state.disabled ? [] : [{ type: "PrincipalDisabled", data: {} }];
    case "EnablePrincipal":
      return state.disabled ? [{ type: "PrincipalEnabled", data: {} }] : [];
  }
}
