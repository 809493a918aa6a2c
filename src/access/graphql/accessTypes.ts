// GraphQL types of the access context: principals, teams and API tokens, the `viewer`, and the
// admin lists. A token's secret is never readable here (only at creation, in its payload).
import { PRINCIPAL_KINDS, REGISTRY_ROLES, TOKEN_SCOPES } from "../domain/events.ts";
import type { PrincipalKind, RegistryRole, TokenScope } from "../principal.ts";
import { builder } from "../../graphql/builder.ts";
import { requireAdminQuery } from "./caller.ts";

const KIND_DESCRIPTIONS: Record<PrincipalKind, string> = {
  USER: "A person.",
  SERVICE_ACCOUNT: "A CI job or serving system, acting with API tokens.",
};
const ROLE_DESCRIPTIONS: Record<RegistryRole, string> = {
  ADMIN: "Everything, including managing users, teams and tokens.",
  MEMBER: "May create models.",
  VIEWER: "Reads what it is granted.",
  AUDITOR: "Reads every model and its full history; changes nothing.",
};
const SCOPE_DESCRIPTIONS: Record<TokenScope, string> = {
  read: "Read queries and subscriptions.",
  write: "Mutations.",
  admin: "Administration (users, teams, tokens).",
};

export const PrincipalKindEnum = builder.enumType("PrincipalKind", {
  description: "What kind of principal this is.",
  values: Object.fromEntries(
    PRINCIPAL_KINDS.map((k) => [k, { value: k, description: KIND_DESCRIPTIONS[k] }]),
  ) as Record<PrincipalKind, { value: PrincipalKind; description: string }>,
});

export const RegistryRoleEnum = builder.enumType("RegistryRole", {
  description: "Registry-wide role of a principal.",
  values: Object.fromEntries(
    REGISTRY_ROLES.map((r) => [r, { value: r, description: ROLE_DESCRIPTIONS[r] }]),
  ) as Record<RegistryRole, { value: RegistryRole; description: string }>,
});

export const TokenScopeEnum = builder.enumType("TokenScope", {
  description: "What an API token may be used for.",
  values: Object.fromEntries(
    TOKEN_SCOPES.map((s) => [s.toUpperCase(), { value: s, description: SCOPE_DESCRIPTIONS[s] }]),
  ) as Record<Uppercase<TokenScope>, { value: TokenScope; description: string }>,
});

export const ApiTokenRef = builder.prismaObject("ApiToken", {
  description: "An API token of a principal. Its secret was shown once, at creation, and is stored nowhere.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "Stable id of the token (use it to revoke the token)." }),
    name: t.exposeString("name", { description: "What the token is for." }),
    prefix: t.exposeString("prefix", {
      description: "The first characters of the secret (`rgo_…`), to recognise it; not enough to use it.",
    }),
    scopes: t.field({
      type: [TokenScopeEnum],
      description: "What the token may be used for.",
      resolve: (token) => token.scopes.split(",").filter((s): s is TokenScope => s !== ""),
    }),
    expiresAt: t.expose("expiresAt", {
      type: "DateTime",
      nullable: true,
      description: "When the token stops working; null: never.",
    }),
    revoked: t.exposeBoolean("revoked", {
      description: "Whether the token was revoked (it no longer works).",
    }),
    revokedAt: t.expose("revokedAt", {
      type: "DateTime",
      nullable: true,
      description: "When it was revoked.",
    }),
    lastUsedAt: t.expose("lastUsedAt", {
      type: "DateTime",
      nullable: true,
      description: "When it was last used (recorded in batches, so up to about 30 s behind).",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was created." }),
    createdBy: t.exposeString("createdBy", { description: "Who created it." }),
    principal: t.relation("principal", { description: "The principal the token acts as." }),
  }),
});

export const PrincipalRef = builder.prismaObject("Principal", {
  description: "A user or a service account: who acts on the registry.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "Stable id of the principal (unchanged by renames)." }),
    kind: t.field({
      type: PrincipalKindEnum,
      description: "User or service account.",
      resolve: (p) => p.kind as PrincipalKind,
    }),
    displayName: t.exposeString("displayName", { description: "Name shown in history and lists." }),
    email: t.exposeString("email", { nullable: true, description: "Email address, when known." }),
    role: t.field({
      type: RegistryRoleEnum,
      description: "Registry-wide role.",
      resolve: (p) => p.role as RegistryRole,
    }),
    disabled: t.exposeBoolean("disabled", {
      description: "A disabled principal cannot act (its tokens and sign-ins are refused).",
    }),
    source: t.exposeString("source", {
      description: "How the principal came to be: admin, sso (first sign-in), local or bootstrap.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was created." }),
    teams: t.prismaField({
      type: ["Team"],
      description: "Teams the principal belongs to, by name.",
      resolve: (query, p, _args, ctx) =>
        ctx.reader.team.findMany({
          ...query,
          where: { members: { some: { principalId: p.id } } },
          orderBy: { name: "asc" },
        }),
    }),
    tokens: t.field({
      type: [ApiTokenRef],
      description:
        "The principal's API tokens (without secrets), oldest first. Only the principal itself and ADMINs (with a token of the admin scope) may read them.",
      select: { tokens: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] } },
      resolve: (p, _args, ctx) => {
        // The registry role alone is not enough: an ADMIN's token without the admin scope acts as a
        // MEMBER, and a member does not read others' tokens.
        if (ctx.caller.principal.id !== p.id) requireAdminQuery(ctx, "reading another principal's tokens");
        return p.tokens;
      },
    }),
  }),
});

export const TeamRef = builder.prismaObject("Team", {
  description: "A group of principals. SSO groups map to the team of the same name.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "Stable id of the team (unchanged by renames)." }),
    name: t.exposeString("name", { description: "Unique name (SSO groups of this name map here)." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was created." }),
    members: t.prismaField({
      type: ["Principal"],
      description: "Members of the team, by display name.",
      resolve: (query, team, _args, ctx) =>
        ctx.reader.principal.findMany({
          ...query,
          where: { memberships: { some: { teamId: team.id } } },
          orderBy: [{ displayName: "asc" }, { id: "asc" }],
        }),
    }),
  }),
});

const MAX_LIST = 500;

builder.queryFields((t) => ({
  viewer: t.prismaField({
    type: "Principal",
    description: "The calling principal: who am I, my role, my teams and my tokens.",
    resolve: async (query, _root, _args, ctx) => {
      const { caller } = ctx;
      return ctx.reader.principal.findUniqueOrThrow({ ...query, where: { id: caller.principal.id } });
    },
  }),
  principals: t.prismaField({
    type: ["Principal"],
    description: `Users and service accounts, oldest first (at most ${MAX_LIST}). ADMIN only.`,
    args: {
      kind: t.arg({ type: PrincipalKindEnum, required: false, description: "Only principals of this kind." }),
    },
    resolve: async (query, _root, args, ctx) => {
      requireAdminQuery(ctx, "listing principals");
      return ctx.reader.principal.findMany({
        ...query,
        where: args.kind ? { kind: args.kind } : {},
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: MAX_LIST,
      });
    },
  }),
  teams: t.prismaField({
    type: ["Team"],
    description: `Teams by name (at most ${MAX_LIST}). ADMIN only.`,
    resolve: async (query, _root, _args, ctx) => {
      requireAdminQuery(ctx, "listing teams");
      return ctx.reader.team.findMany({ ...query, orderBy: { name: "asc" }, take: MAX_LIST });
    },
  }),
}));
