// Runs access commands with the shared machinery: the one event store (streams `principal:…`,
// `team:…`, `token:…`), the shared conflict retry, and the inline projection in the same
// transaction. Rules that span aggregates (unique SSO identity, unique team name, the member or
// token owner must exist) are checked here, inside the transaction, and backed by unique indexes.
import { randomUUID } from "node:crypto";
import { Retry, retryConflicts } from "../application/executeCommand.ts";
import type { CommandDeps, RequestMetadata } from "../application/executeCommand.ts";
import type { Tx } from "../db/database.ts";
import {
  AlreadyExistsError,
  DomainError,
  IntegrityError,
  InvalidStateError,
  NotFoundError,
} from "../domain/errors.ts";
import { checkStorableText, checkText } from "../domain/validation.ts";
import { appendRecorded, readStoredStream } from "../store/eventStore.ts";
import { isUniqueViolation } from "../store/uniqueViolation.ts";
import type { AccessEvent, PrincipalEvent, TeamEvent, TokenEvent } from "./domain/events.ts";
import {
  ACCESS_EVENT_SCHEMA_VERSIONS,
  parseAccessEvent,
  principalStream,
  teamStream,
  tokenStream,
} from "./domain/events.ts";
import type { PrincipalCommand, PrincipalState } from "./domain/principal.ts";
import { decidePrincipal, evolvePrincipal } from "./domain/principal.ts";
import type { TeamCommand, TeamState } from "./domain/team.ts";
import { decideTeam, evolveTeam } from "./domain/team.ts";
import type { TokenCommand, TokenState } from "./domain/token.ts";
import { decideToken, evolveToken } from "./domain/token.ts";
import type { TokenScope } from "./principal.ts";
import { projectAccessEvent } from "./projection.ts";
import type { RecordedAccessEvent } from "./projection.ts";
import { newTokenSecret } from "./tokenSecrets.ts";

interface Aggregate<S, E extends AccessEvent, C> {
  readonly resource: "Principal" | "Team" | "ApiToken";
  readonly stream: (id: string) => string;
  readonly creates: (command: C) => boolean;
  readonly decide: (command: C, state: S | null) => E[] | DomainError;
  readonly evolve: (state: S | null, event: E) => S | null;
}

const principals: Aggregate<PrincipalState, PrincipalEvent, PrincipalCommand> = {
  resource: "Principal",
  stream: principalStream,
  creates: (c) => c.type === "CreatePrincipal",
  decide: decidePrincipal,
  evolve: evolvePrincipal,
};
const teams: Aggregate<TeamState, TeamEvent, TeamCommand> = {
  resource: "Team",
  stream: teamStream,
  creates: (c) => c.type === "CreateTeam",
  decide: decideTeam,
  evolve: evolveTeam,
};
const tokens: Aggregate<TokenState, TokenEvent, TokenCommand> = {
  resource: "ApiToken",
  stream: tokenStream,
  creates: (c) => c.type === "CreateApiToken",
  decide: decideToken,
  evolve: evolveToken,
};

export interface AccessOutcome<S> {
  readonly id: string;
  readonly state: S;
  readonly events: readonly RecordedAccessEvent[];
}

type Check<S> = (tx: Tx, state: S | null) => Promise<DomainError | null>;

async function runAccessCommand<S, E extends AccessEvent, C>(
  deps: CommandDeps,
  aggregate: Aggregate<S, E, C>,
  id: string,
  command: C,
  metadata: RequestMetadata,
  check?: Check<S>,
): Promise<AccessOutcome<S> | DomainError> {
  const unstorable = checkText("id", id, 256, true);
  if (unstorable) return unstorable;
  const streamId = aggregate.stream(id);
  return retryConflicts(() =>
    deps.db.write(async (tx): Promise<AccessOutcome<S> | DomainError> => {
      const stored = await readStoredStream(tx, streamId);
      let state: S | null = null;
      for (const e of stored)
        state = aggregate.evolve(state, parseAccessEvent(e.type, e.schemaVersion, e.data) as E);
      if (state === null && !aggregate.creates(command)) return new NotFoundError(aggregate.resource, id);
      // Input rules first, so the cross-aggregate lookups only ever see storable text.
      const decision = aggregate.decide(command, state);
      if (decision instanceof DomainError) return decision;
      const refused = (await check?.(tx, state)) ?? null;
      if (refused) return refused;
      const meta = {
        actor: metadata.actor,
        occurredAt: deps.clock(),
        correlationId: metadata.correlationId,
        causationId: metadata.causationId ?? null,
      };
      const recorded = await appendRecorded<AccessEvent>(
        tx,
        streamId,
        stored.at(-1)?.revision ?? 0,
        decision,
        (type) => ACCESS_EVENT_SCHEMA_VERSIONS[type],
        meta,
      );
      try {
        for (const e of recorded) {
          await projectAccessEvent(tx, e);
          state = aggregate.evolve(state, e as unknown as E);
        }
      } catch (error) {
        // Two writers passed the in-transaction check before either committed (two instances on
        // one database seeing the same SSO user first): the unique index stops the second, and its
        // retry reads the winner's row and answers from it.
        if (
          isUniqueViolation(error, "principal_external_identity") ||
          isUniqueViolation(error, "team_name") ||
          isUniqueViolation(error, "api_token_hash")
        )
          throw new Retry();
        throw error;
      }
      if (state === null) throw new Error(`${aggregate.resource} ${id} has no state after its command`);
      return { id, state, events: recorded };
    }),
  ).then((outcome) => {
    if (outcome instanceof IntegrityError) deps.onIntegrityViolation?.(outcome);
    // Wakes the subscription hub, whose running subscriptions this change may end at once (their
    // access is checked again).
    else if (!(outcome instanceof DomainError) && outcome.events.length > 0)
      deps.onCommitted?.(outcome.events);
    return outcome;
  });
}

// ---- Cross-aggregate checks, run inside the command's transaction. --------------------------------

async function principalRow(tx: Tx, id: string): Promise<{ disabled: unknown } | undefined> {
  const rows = await tx.query<{ disabled: unknown }>("SELECT disabled FROM principals WHERE id = ?", [id]);
  return rows[0];
}

const principalExists =
  (principalId: string, mustBeEnabled: boolean): Check<unknown> =>
  async (tx) => {
    const unstorable = checkStorableText("principalId", principalId);
    if (unstorable) return unstorable;
    const row = await principalRow(tx, principalId);
    if (!row) return new NotFoundError("Principal", principalId);
    if (mustBeEnabled && (row.disabled === true || row.disabled === 1))
      return new InvalidStateError(`principal ${principalId} is disabled`);
    return null;
  };

const teamNameFree =
  (name: string): Check<TeamState> =>
  async (tx, state) => {
    const rows = await tx.query<{ id: string }>("SELECT id FROM teams WHERE name = ?", [name]);
    return rows.some((r) => r.id !== state?.id) ? new AlreadyExistsError("Team", name) : null;
  };

// ---- Principals ----------------------------------------------------------------------------------

export type CreatePrincipalInput = Omit<
  Extract<PrincipalCommand, { type: "CreatePrincipal" }>["data"],
  "principalId"
> & { readonly principalId?: string };

export function createPrincipal(
  deps: CommandDeps,
  input: CreatePrincipalInput,
  metadata: RequestMetadata,
): Promise<AccessOutcome<PrincipalState> | DomainError> {
  const principalId = input.principalId ?? randomUUID();
  const identity = input.externalIdentity;
  return runAccessCommand(
    deps,
    principals,
    principalId,
    { type: "CreatePrincipal", data: { ...input, principalId } },
    metadata,
    identity
      ? async (tx) => {
          const rows = await tx.query(
            "SELECT id FROM principals WHERE external_issuer = ? AND external_subject = ?",
            [identity.issuer, identity.subject],
          );
          return rows.length > 0
            ? new AlreadyExistsError("Principal", `${identity.issuer} ${identity.subject}`)
            : null;
        }
      : undefined,
  );
}

/**
 * The first administrator (the bootstrap CLI): refused with InvalidStateError when an enabled ADMIN
 * exists. The check runs in the creating transaction, so two bootstraps at once make one admin.
 */
export const createFirstAdmin = (
  deps: CommandDeps,
  input: { displayName: string; email: string | null },
  metadata: RequestMetadata,
) => {
  const principalId = randomUUID();
  return runAccessCommand(
    deps,
    principals,
    principalId,
    {
      type: "CreatePrincipal",
      data: {
        ...input,
        principalId,
        kind: "USER",
        role: "ADMIN",
        source: "bootstrap",
        externalIdentity: null,
      },
    },
    metadata,
    async (tx) => {
      const admins = await tx.query("SELECT id FROM principals WHERE role = ? AND disabled = ? LIMIT 1", [
        "ADMIN",
        false,
      ]);
      return admins.length > 0 ? new InvalidStateError("an administrator exists already") : null;
    },
  );
};

export const updatePrincipalProfile = (
  deps: CommandDeps,
  principalId: string,
  data: { displayName?: string; email?: string | null },
  metadata: RequestMetadata,
) => runAccessCommand(deps, principals, principalId, { type: "UpdatePrincipalProfile", data }, metadata);

export const setPrincipalRole = (
  deps: CommandDeps,
  principalId: string,
  role: PrincipalState["role"],
  metadata: RequestMetadata,
) => runAccessCommand(deps, principals, principalId, { type: "SetPrincipalRole", data: { role } }, metadata);

export const disablePrincipal = (deps: CommandDeps, principalId: string, metadata: RequestMetadata) =>
  runAccessCommand(deps, principals, principalId, { type: "DisablePrincipal", data: {} }, metadata);

export const enablePrincipal = (deps: CommandDeps, principalId: string, metadata: RequestMetadata) =>
  runAccessCommand(deps, principals, principalId, { type: "EnablePrincipal", data: {} }, metadata);

// ---- Teams ---------------------------------------------------------------------------------------

export const createTeam = (
  deps: CommandDeps,
  name: string,
  metadata: RequestMetadata,
  teamId = randomUUID(),
) =>
  runAccessCommand(
    deps,
    teams,
    teamId,
    { type: "CreateTeam", data: { teamId, name } },
    metadata,
    teamNameFree(name),
  );

export const renameTeam = (deps: CommandDeps, teamId: string, name: string, metadata: RequestMetadata) =>
  runAccessCommand(deps, teams, teamId, { type: "RenameTeam", data: { name } }, metadata, teamNameFree(name));

export const addTeamMember = (
  deps: CommandDeps,
  teamId: string,
  principalId: string,
  source: "admin" | "sso",
  metadata: RequestMetadata,
) =>
  runAccessCommand(
    deps,
    teams,
    teamId,
    { type: "AddTeamMember", data: { principalId, source } },
    metadata,
    principalExists(principalId, false),
  );

export const removeTeamMember = (
  deps: CommandDeps,
  teamId: string,
  principalId: string,
  metadata: RequestMetadata,
) => runAccessCommand(deps, teams, teamId, { type: "RemoveTeamMember", data: { principalId } }, metadata);

// ---- Tokens --------------------------------------------------------------------------------------

export interface CreatedToken extends AccessOutcome<TokenState> {
  /** The secret, to be shown once: it is stored nowhere. */
  readonly secret: string;
}

export async function createApiToken(
  deps: CommandDeps,
  input: {
    readonly principalId: string;
    readonly name: string;
    readonly scopes: readonly TokenScope[];
    readonly expiresAt: Date | null;
  },
  metadata: RequestMetadata,
): Promise<CreatedToken | DomainError> {
  const tokenId = randomUUID();
  const { secret, hash, prefix } = newTokenSecret();
  const outcome = await runAccessCommand(
    deps,
    tokens,
    tokenId,
    {
      type: "CreateApiToken",
      data: { ...input, tokenId, tokenHash: hash, prefix, now: deps.clock() },
    },
    metadata,
    principalExists(input.principalId, true),
  );
  return outcome instanceof DomainError ? outcome : { ...outcome, secret };
}

export const revokeApiToken = (deps: CommandDeps, tokenId: string, metadata: RequestMetadata) =>
  runAccessCommand(deps, tokens, tokenId, { type: "RevokeApiToken", data: {} }, metadata);
