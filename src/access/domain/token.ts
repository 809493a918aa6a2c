// The API token aggregate. The command carries the secret's hash and display prefix, never the
// secret: it is generated and shown outside the domain (src/access/tokenSecrets.ts).
import { InvalidStateError, ValidationError } from "../../domain/errors.ts";
import type { DomainError } from "../../domain/errors.ts";
import { firstError } from "../../domain/validation.ts";
import type { TokenScope } from "../principal.ts";
import type { TokenEvent } from "./events.ts";
import { checkScopes, checkTokenName } from "./validation.ts";

export type TokenCommand =
  | {
      readonly type: "CreateApiToken";
      readonly data: {
        readonly tokenId: string;
        readonly principalId: string;
        readonly name: string;
        readonly tokenHash: string;
        readonly prefix: string;
        readonly scopes: readonly TokenScope[];
        readonly expiresAt: Date | null;
        /** The clock, passed in: an expiry must lie in the future. */
        readonly now: Date;
      };
    }
  | { readonly type: "RevokeApiToken"; readonly data: Record<string, never> };

export interface TokenState {
  readonly id: string;
  readonly principalId: string;
  readonly revoked: boolean;
}

export function evolveToken(state: TokenState | null, event: TokenEvent): TokenState | null {
  switch (event.type) {
    case "ApiTokenCreated":
      return { id: event.data.tokenId, principalId: event.data.principalId, revoked: false };
    case "ApiTokenRevoked":
      return state && { ...state, revoked: true };
  }
}

export function decideToken(command: TokenCommand, state: TokenState | null): TokenEvent[] | DomainError {
  if (command.type === "RevokeApiToken") {
    if (state === null) return new InvalidStateError("the token does not exist");
    return state.revoked ? [] : [{ type: "ApiTokenRevoked", data: {} }];
  }
  if (state !== null) return new InvalidStateError(`token ${state.id} already exists`);
  const d = command.data;
  const invalid = firstError(
    checkTokenName("name", d.name),
    checkScopes("scopes", d.scopes),
    /^[0-9a-f]{64}$/.test(d.tokenHash) ? null : new ValidationError("tokenHash", "must be a sha256 in hex"),
    d.expiresAt !== null && !(d.expiresAt.getTime() > d.now.getTime())
      ? new ValidationError("expiresAt", "must be in the future")
      : null,
  );
  if (invalid) return invalid;
  return [
    {
      type: "ApiTokenCreated",
      data: {
        tokenId: d.tokenId,
        principalId: d.principalId,
        name: d.name,
        tokenHash: d.tokenHash,
        prefix: d.prefix,
        scopes: [...d.scopes],
        expiresAt: d.expiresAt?.toISOString() ?? null,
      },
    },
  ];
}
