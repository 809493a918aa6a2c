// Administration of principals, teams and tokens. Each resolver checks the caller's registry role,
// runs one access command and returns its payload or a typed error (the result union).
import {
  AlreadyExistsError,
  ConcurrencyError,
  IntegrityError,
  DomainError,
  InvalidStateError,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from "../../domain/errors.ts";
import type { ErrorClass } from "../../domain/errors.ts";
import { builder } from "../../graphql/builder.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import { mutationErrors } from "../../graphql/types/errors.ts";
import {
  addTeamMember,
  createApiToken,
  createPrincipal,
  createTeam,
  disablePrincipal,
  enablePrincipal,
  removeTeamMember,
  renameTeam,
  revokeApiToken,
  setPrincipalRole,
  updatePrincipalProfile,
} from "../accessCommands.ts";
import type { AccessOutcome } from "../accessCommands.ts";
import type { PrincipalKind } from "../principal.ts";
import { requireAdmin, requireWriteScope } from "./caller.ts";
import { RegistryRoleEnum, TokenScopeEnum } from "./accessTypes.ts";

/**
 * What every access mutation can return: a caller without the role or scope (PermissionDenied), an
 * id or text the rules refuse (Validation), a race on the stream lost too often (Concurrency), a
 * stream whose stored history does not hold (Integrity).
 */
const ACCESS_ERRORS = [PermissionDeniedError, ValidationError, ConcurrencyError, IntegrityError];
/** An access mutation's own failures on top of ACCESS_ERRORS (see its resolver and ../accessCommands.ts). */
const errors = (name: string, own: readonly ErrorClass[]) => mutationErrors(name, [...ACCESS_ERRORS, ...own]);

/** Unwraps a command outcome; a refusal becomes the typed union member. */
function done<S>(outcome: AccessOutcome<S> | DomainError): { id: string } {
  if (outcome instanceof DomainError) throw outcome;
  return { id: outcome.id };
}

const PrincipalPayload = builder.objectRef<{ id: string }>("PrincipalPayload").implement({
  description: "The principal as the mutation left it.",
  fields: (t) => ({
    principal: t.prismaField({
      type: "Principal",
      description: "The principal.",
      resolve: (query, p, _args, ctx) =>
        ctx.reader.principal.findUniqueOrThrow({ ...query, where: { id: p.id } }),
    }),
  }),
});

const TeamPayload = builder.objectRef<{ id: string }>("TeamPayload").implement({
  description: "The team as the mutation left it.",
  fields: (t) => ({
    team: t.prismaField({
      type: "Team",
      description: "The team.",
      resolve: (query, team, _args, ctx) =>
        ctx.reader.team.findUniqueOrThrow({ ...query, where: { id: team.id } }),
    }),
  }),
});

const ApiTokenPayload = builder.objectRef<{ id: string }>("ApiTokenPayload").implement({
  description: "The token as the mutation left it.",
  fields: (t) => ({
    token: t.prismaField({
      type: "ApiToken",
      description: "The token (never its secret).",
      resolve: (query, token, _args, ctx) =>
        ctx.reader.apiToken.findUniqueOrThrow({ ...query, where: { id: token.id } }),
    }),
  }),
});

const CreateApiTokenPayload = builder
  .objectRef<{ id: string; secret: string }>("CreateApiTokenPayload")
  .implement({
    description: "A new token and its secret. The secret is shown this once and stored nowhere: keep it now.",
    fields: (t) => ({
      token: t.prismaField({
        type: "ApiToken",
        description: "The token.",
        resolve: (query, token, _args, ctx) =>
          ctx.reader.apiToken.findUniqueOrThrow({ ...query, where: { id: token.id } }),
      }),
      secret: t.exposeString("secret", {
        description: "The secret (`rgo_…`), for `Authorization: Bearer …`. Shown once.",
      }),
    }),
  });

const principalIdField = { description: "Id of the principal." } as const;

const CreatePrincipalInput = (name: string, what: string) =>
  builder.inputType(name, {
    description: `A new ${what}.`,
    fields: (f) => ({
      displayName: f.string({ description: "Name shown in history and lists (1-256 characters)." }),
      email: f.string({ required: false, description: "Email address." }),
      role: f.field({
        type: RegistryRoleEnum,
        required: false,
        description: "Registry role (default MEMBER).",
      }),
    }),
  });

function createPrincipalResolver(kind: PrincipalKind, operation: string) {
  return async (
    _root: unknown,
    {
      input,
    }: {
      input: {
        displayName: string;
        email?: string | null;
        role?: "ADMIN" | "MEMBER" | "VIEWER" | "AUDITOR" | null;
      };
    },
    ctx: GraphQLContext,
  ) => {
    requireAdmin(ctx, operation);
    return done(
      await createPrincipal(
        ctx.commands,
        {
          kind,
          displayName: input.displayName,
          email: input.email ?? null,
          role: input.role ?? "MEMBER",
          source: "admin",
          externalIdentity: null,
        },
        ctx,
      ),
    );
  };
}

/** An admin must not lock themselves out: another admin has to disable or demote them. */
function notSelf(ctx: GraphQLContext, principalId: string, what: string) {
  const caller = requireAdmin(ctx, what);
  if (caller.principal.id === principalId)
    throw new InvalidStateError(`you cannot ${what} yourself; ask another ADMIN`);
}

const idInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (f) => ({ principalId: f.id(principalIdField) }),
  });

builder.mutationFields((t) => ({
  createUser: t.field({
    type: PrincipalPayload,
    description: "Creates a user. ADMIN only.",
    errors: errors("CreateUser", [InvalidStateError]),
    args: {
      input: t.arg({ type: CreatePrincipalInput("CreateUserInput", "user"), description: "The user." }),
    },
    resolve: createPrincipalResolver("USER", "createUser"),
  }),

  createServiceAccount: t.field({
    type: PrincipalPayload,
    description: "Creates a service account (for CI jobs and serving systems; give it tokens). ADMIN only.",
    errors: errors("CreateServiceAccount", [InvalidStateError]),
    args: {
      input: t.arg({
        type: CreatePrincipalInput("CreateServiceAccountInput", "service account"),
        description: "The service account.",
      }),
    },
    resolve: createPrincipalResolver("SERVICE_ACCOUNT", "createServiceAccount"),
  }),

  updatePrincipal: t.field({
    type: PrincipalPayload,
    description: "Changes a principal's display name or email. ADMIN only.",
    errors: errors("UpdatePrincipal", [NotFoundError]),
    args: {
      input: t.arg({
        description: "The principal and what changes (omitted fields stay).",
        type: builder.inputType("UpdatePrincipalInput", {
          description: "The principal and its new profile.",
          fields: (f) => ({
            principalId: f.id(principalIdField),
            displayName: f.string({ required: false, description: "New display name." }),
            email: f.string({ required: false, description: "New email; null removes it." }),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      requireAdmin(ctx, "updatePrincipal");
      return done(
        await updatePrincipalProfile(
          ctx.commands,
          String(input.principalId),
          {
            ...(input.displayName == null ? {} : { displayName: input.displayName }),
            ...(input.email === undefined ? {} : { email: input.email }),
          },
          ctx,
        ),
      );
    },
  }),

  setPrincipalRole: t.field({
    type: PrincipalPayload,
    description: "Sets a principal's registry role. ADMIN only; an ADMIN cannot change their own role.",
    errors: errors("SetPrincipalRole", [NotFoundError, InvalidStateError]),
    args: {
      input: t.arg({
        description: "The principal and its new role.",
        type: builder.inputType("SetPrincipalRoleInput", {
          description: "The principal and its new role.",
          fields: (f) => ({
            principalId: f.id(principalIdField),
            role: f.field({ type: RegistryRoleEnum, description: "The new role." }),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      notSelf(ctx, String(input.principalId), "change the role of");
      return done(await setPrincipalRole(ctx.commands, String(input.principalId), input.role, ctx));
    },
  }),

  disablePrincipal: t.field({
    type: PrincipalPayload,
    description:
      "Disables a principal: its tokens and sign-ins are refused at once. ADMIN only, not yourself.",
    errors: errors("DisablePrincipal", [NotFoundError, InvalidStateError]),
    args: {
      input: t.arg({
        type: idInput("DisablePrincipalInput", "The principal to disable."),
        description: "The principal.",
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      notSelf(ctx, String(input.principalId), "disable");
      return done(await disablePrincipal(ctx.commands, String(input.principalId), ctx));
    },
  }),

  enablePrincipal: t.field({
    type: PrincipalPayload,
    description: "Enables a disabled principal again. ADMIN only.",
    errors: errors("EnablePrincipal", [NotFoundError]),
    args: {
      input: t.arg({
        type: idInput("EnablePrincipalInput", "The principal to enable."),
        description: "The principal.",
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      requireAdmin(ctx, "enablePrincipal");
      return done(await enablePrincipal(ctx.commands, String(input.principalId), ctx));
    },
  }),

  createTeam: t.field({
    type: TeamPayload,
    description: "Creates a team with a unique name. ADMIN only.",
    errors: errors("CreateTeam", [AlreadyExistsError, InvalidStateError]),
    args: {
      input: t.arg({
        description: "The team.",
        type: builder.inputType("CreateTeamInput", {
          description: "A new team.",
          fields: (f) => ({
            name: f.string({
              description: "Unique name (1-256 characters); SSO groups of this name map here.",
            }),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      requireAdmin(ctx, "createTeam");
      return done(await createTeam(ctx.commands, input.name, ctx));
    },
  }),

  renameTeam: t.field({
    type: TeamPayload,
    description: "Renames a team. ADMIN only.",
    errors: errors("RenameTeam", [NotFoundError, AlreadyExistsError]),
    args: {
      input: t.arg({
        description: "The team and its new name.",
        type: builder.inputType("RenameTeamInput", {
          description: "The team and its new name.",
          fields: (f) => ({
            teamId: f.id({ description: "Id of the team." }),
            name: f.string({ description: "New unique name." }),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      requireAdmin(ctx, "renameTeam");
      return done(await renameTeam(ctx.commands, String(input.teamId), input.name, ctx));
    },
  }),

  addTeamMember: t.field({
    type: TeamPayload,
    description: "Adds a principal to a team (no change if it is a member already). ADMIN only.",
    errors: errors("AddTeamMember", [NotFoundError]),
    args: {
      input: t.arg({ type: membershipInput("AddTeamMemberInput"), description: "Team and principal." }),
    },
    resolve: async (_root, { input }, ctx) => {
      requireAdmin(ctx, "addTeamMember");
      return done(
        await addTeamMember(ctx.commands, String(input.teamId), String(input.principalId), "admin", ctx),
      );
    },
  }),

  removeTeamMember: t.field({
    type: TeamPayload,
    description: "Removes a principal from a team (no change if it is not a member). ADMIN only.",
    errors: errors("RemoveTeamMember", [NotFoundError]),
    args: {
      input: t.arg({ type: membershipInput("RemoveTeamMemberInput"), description: "Team and principal." }),
    },
    resolve: async (_root, { input }, ctx) => {
      requireAdmin(ctx, "removeTeamMember");
      return done(await removeTeamMember(ctx.commands, String(input.teamId), String(input.principalId), ctx));
    },
  }),

  createApiToken: t.field({
    type: CreateApiTokenPayload,
    description:
      "Creates an API token for yourself, or (ADMIN only) for a service account. The payload holds the secret, shown this once.",
    errors: errors("CreateApiToken", [NotFoundError, InvalidStateError]),
    args: {
      input: t.arg({
        description: "The token.",
        type: builder.inputType("CreateApiTokenInput", {
          description: "A new API token.",
          fields: (f) => ({
            principalId: f.id({
              required: false,
              description: "The service account it is for (default: yourself).",
            }),
            name: f.string({ description: "What the token is for (1-256 characters)." }),
            scopes: f.field({
              type: [TokenScopeEnum],
              description: "What it may be used for (at least one).",
            }),
            expiresAt: f.field({
              type: "DateTime",
              required: false,
              description:
                "When it stops working (default: never). Created with an expiring API token, it must expire no later than that token (a PermissionDeniedError otherwise).",
            }),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const { caller } = ctx;
      requireWriteScope(ctx, "creating a token");
      // A token never holds more than the credential that created it: a read-only token cannot
      // mint a writing one, and only an administrator's token can be an administrator's.
      const beyond = input.scopes.filter((scope) => !ctx.rights.scopes.has(scope));
      if (beyond.length > 0)
        throw new PermissionDeniedError(
          `creating a token with the ${beyond.join(", ")} scope`,
          "a credential that holds it",
        );
      const principalId = input.principalId == null ? caller.principal.id : String(input.principalId);
      let targetRole = caller.principal.role;
      if (principalId !== caller.principal.id) {
        requireAdmin(ctx, "creating a token for another principal");
        const target = await ctx.reader.principal.findUnique({
          where: { id: principalId },
          select: { kind: true, role: true },
        });
        if (!target) throw new NotFoundError("Principal", principalId);
        if (target.kind !== "SERVICE_ACCOUNT")
          throw new PermissionDeniedError(
            "creating a token for another user",
            "being that user (users create their own tokens)",
          );
        targetRole = target.role as typeof targetRole;
      }
      if (input.scopes.includes("admin") && targetRole !== "ADMIN")
        throw new PermissionDeniedError("creating a token with the admin scope", "registry role ADMIN");
      await requireExpiryWithin(ctx, input.expiresAt ?? null);
      const created = await createApiToken(
        ctx.commands,
        { principalId, name: input.name, scopes: input.scopes, expiresAt: input.expiresAt ?? null },
        ctx,
      );
      if (created instanceof DomainError) throw created;
      return { id: created.id, secret: created.secret };
    },
  }),

  revokeApiToken: t.field({
    type: ApiTokenPayload,
    description:
      "Revokes a token; it is refused at once on every instance. Your own tokens, or any token if ADMIN.",
    errors: errors("RevokeApiToken", [NotFoundError]),
    args: {
      input: t.arg({
        description: "The token.",
        type: builder.inputType("RevokeApiTokenInput", {
          description: "The token to revoke.",
          fields: (f) => ({ tokenId: f.id({ description: "Id of the token." }) }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const { caller } = ctx;
      const tokenId = String(input.tokenId);
      requireWriteScope(ctx, "revoking a token");
      if (!ctx.rights.canAdminister) {
        const token = await ctx.reader.apiToken.findUnique({
          where: { id: tokenId },
          select: { principalId: true },
        });
        // Someone else's token is reported as missing: its existence is not the caller's business.
        if (!token || token.principalId !== caller.principal.id) throw new NotFoundError("ApiToken", tokenId);
      }
      return done(await revokeApiToken(ctx.commands, tokenId, ctx));
    },
  }),
}));

/**
 * A token never outlives the API token that creates it: one that expires at T mints only tokens that
 * expire by T (an omitted expiresAt means never, so it is refused too). A token could otherwise
 * renew itself for ever. SSO access tokens are short-lived sessions, not credentials to be
 * outlived, and local mode has no expiry: neither limits what it creates.
 */
async function requireExpiryWithin(ctx: GraphQLContext, expiresAt: Date | null): Promise<void> {
  const { credential } = ctx.caller;
  if (credential.kind !== "token") return;
  const creating = await ctx.reader.apiToken.findUnique({
    where: { id: credential.tokenId },
    select: { expiresAt: true },
  });
  const limit = creating?.expiresAt ?? null;
  if (limit === null) return;
  if (expiresAt === null || expiresAt.getTime() > limit.getTime())
    throw new PermissionDeniedError(
      expiresAt === null
        ? "creating a token that never expires with a token that expires"
        : "creating a token that expires after the token creating it",
      `an expiresAt no later than ${limit.toISOString()}, when this token expires`,
    );
}

function membershipInput(name: string) {
  return builder.inputType(name, {
    description: "A team and a principal.",
    fields: (f) => ({
      teamId: f.id({ description: "Id of the team." }),
      principalId: f.id(principalIdField),
    }),
  });
}
