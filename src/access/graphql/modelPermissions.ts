// Per-model permissions in GraphQL: who holds what on a model (`permissions`, for those who manage
// it), what the caller holds (`myPermission`, so interfaces can hide what it may not do), and the
// mutations that grant and revoke. Grants are commands on the model's stream like any other change.
import { ValidationError } from "../../domain/errors.ts";
import {
  MODEL_PERMISSIONS,
  granteeOfKey,
  grantsFrom,
  includesPermission,
} from "../../domain/modelPermissions.ts";
import type { Grantee, Grants, ModelPermission } from "../../domain/modelPermissions.ts";
import { checkStorableText } from "../../domain/validation.ts";
import { builder } from "../../graphql/builder.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import { runCommand } from "../../graphql/commandResult.ts";
import { RegisteredModelPayloadRef } from "../../graphql/types/registeredModel.ts";
import { RegisteredModelAsOfRef } from "../../graphql/types/registeredModelAsOf.ts";
import { EXPECTED_REVISION_FIELD, commandMutationErrors } from "../../graphql/types/errors.ts";
import { permissionOn } from "../modelAccess.ts";
import { deniedQuery } from "./caller.ts";

const PERMISSION_DESCRIPTIONS: Record<ModelPermission, string> = {
  READ: "See the model, its versions, artifacts and full history, and subscribe to its changes.",
  EDIT: "READ, and change versions, tags, metrics, descriptions, artifacts, stages and aliases (protected ones by review request).",
  MANAGE:
    "EDIT, and grant or revoke permissions, rename, delete and restore, override the safety gate, and set the review policy.",
};

export const ModelPermissionEnum = builder.enumType("ModelPermission", {
  description: "What a principal may do to one model. Each permission includes the ones above it.",
  values: Object.fromEntries(
    MODEL_PERMISSIONS.map((p) => [p, { value: p, description: PERMISSION_DESCRIPTIONS[p] }]),
  ) as Record<ModelPermission, { value: ModelPermission; description: string }>,
});

export const GranteeKindEnum = builder.enumType("GranteeKind", {
  description: "Who a grant is for.",
  values: {
    PRINCIPAL: { value: "PRINCIPAL", description: "One user or service account." },
    TEAM: { value: "TEAM", description: "Every member of a team." },
  },
});

const toGrants = (rows: readonly { granteeKind: string; granteeId: string; permission: string }[]): Grants =>
  grantsFrom(rows.map((r) => [r.granteeKind, r.granteeId, r.permission]));

export const ModelPermissionGrantRef = builder.prismaObject("ModelPermission", {
  name: "ModelPermissionGrant",
  description: "A permission held on a model by a principal or by a team.",
  fields: (t) => ({
    granteeKind: t.field({
      type: GranteeKindEnum,
      description: "Whether the grant is to a principal or to a team.",
      resolve: (g) => g.granteeKind as Grantee["kind"],
    }),
    granteeId: t.exposeID("granteeId", { description: "Id of the principal or team." }),
    permission: t.field({
      type: ModelPermissionEnum,
      description: "The permission held.",
      resolve: (g) => g.permission as ModelPermission,
    }),
    principal: t.prismaField({
      type: "Principal",
      nullable: true,
      description: "The principal, for a grant to a principal.",
      resolve: (query, g, _args, ctx) =>
        g.granteeKind === "PRINCIPAL"
          ? ctx.reader.principal.findUnique({ ...query, where: { id: g.granteeId } })
          : null,
    }),
    team: t.prismaField({
      type: "Team",
      nullable: true,
      description: "The team, for a grant to a team.",
      resolve: (query, g, _args, ctx) =>
        g.granteeKind === "TEAM"
          ? ctx.reader.team.findUnique({ ...query, where: { id: g.granteeId } })
          : null,
    }),
  }),
});

const grantsSelection = { select: { granteeKind: true, granteeId: true, permission: true } } as const;

builder.prismaObjectFields("RegisteredModel", (t) => ({
  myPermission: t.field({
    type: ModelPermissionEnum,
    description:
      "What the caller may do to this model (its role, its grants and its teams' grants, and the registry's default), so interfaces can hide what it may not do.",
    select: { permissions: grantsSelection },
    resolve: (model, _args, ctx) => permissionOn(ctx.rights, toGrants(model.permissions)) ?? "READ",
  }),
  permissions: t.field({
    type: [ModelPermissionGrantRef],
    description:
      "Who holds which permission on this model, directly or through a team. Readable with MANAGE on the model, or as AUDITOR or ADMIN.",
    select: { permissions: { orderBy: [{ granteeKind: "asc" }, { granteeId: "asc" }] } },
    resolve: (model, _args, ctx) => {
      requireGrantsReader(ctx, toGrants(model.permissions));
      return model.permissions;
    },
  }),
}));

/** Who may read a model's grants: MANAGE on it now (per its current grants), AUDITOR or ADMIN. */
function requireGrantsReader(ctx: GraphQLContext, currentGrants: Grants): void {
  const mine = permissionOn(ctx.rights, currentGrants);
  if (
    !includesPermission(mine, "MANAGE") &&
    ctx.rights.role !== "AUDITOR" &&
    !ctx.rights.readsAsAdministrator
  )
    throw deniedQuery("reading a model's permissions", "MANAGE on the model (or registry role AUDITOR)");
}

builder.objectFields(RegisteredModelAsOfRef, (t) => ({
  permissions: t.field({
    type: [ModelPermissionGrantRef],
    description:
      "Who held which permission on the model directly at that point (grants to principals and teams, and its creator's MANAGE), sorted by grantee. Readable by those who may read its permissions now: MANAGE on the model, or AUDITOR or ADMIN.",
    resolve: async (m, _args, ctx) => {
      const now = await ctx.reader.modelPermission.findMany({
        where: { modelId: m.modelId },
        select: { granteeKind: true, granteeId: true, permission: true },
      });
      requireGrantsReader(ctx, toGrants(now));
      return Object.entries(m.state.grants)
        .map(([key, permission]) => {
          const grantee = granteeOfKey(key);
          return { modelId: m.modelId, granteeKind: grantee.kind, granteeId: grantee.id, permission };
        })
        .sort((a, b) =>
          a.granteeKind !== b.granteeKind
            ? a.granteeKind < b.granteeKind
              ? -1
              : 1
            : a.granteeId < b.granteeId
              ? -1
              : a.granteeId > b.granteeId
                ? 1
                : 0,
        );
    },
  }),
}));

// ---- Mutations ----------------------------------------------------------------------------------

/**
 * Exactly one of principalId and teamId names the grantee (a permission's, or a review policy's
 * reviewer). `field` names the input in the error (default: principalId).
 */
export function granteeOf(
  input: { principalId?: string | number | null; teamId?: string | number | null },
  field = "principalId",
): Grantee {
  const principal = input.principalId == null ? null : String(input.principalId);
  const team = input.teamId == null ? null : String(input.teamId);
  if ((principal === null) === (team === null))
    throw new ValidationError(field, "give exactly one of principalId and teamId");
  return principal !== null ? { kind: "PRINCIPAL", id: principal } : { kind: "TEAM", id: team ?? "" };
}

/**
 * A grantee named in a command must exist: a typo would otherwise sit in the model's history
 * forever, revoke nothing without a word, or lock a protected stage for good. `field` names the
 * input in the error (default: principalId or teamId).
 */
export const requireGrantee = (ctx: GraphQLContext, grantee: Grantee, field?: string): Promise<void> =>
  requireGrantees(ctx, [{ grantee, field }]);

/**
 * Every grantee named must exist (see requireGrantee): each one's id storable first, then the
 * distinct ids in at most two lookups (principals, teams), not one per grantee (a review policy
 * names up to 1,000). The first grantee in order that fails is the error.
 */
export async function requireGrantees(
  ctx: GraphQLContext,
  named: readonly { readonly grantee: Grantee; readonly field?: string | undefined }[],
): Promise<void> {
  const fieldOf = ({ grantee, field }: (typeof named)[number]) =>
    field ?? (grantee.kind === "PRINCIPAL" ? "principalId" : "teamId");
  for (const n of named) {
    // Text no database can hold names nobody; PostgreSQL would answer the lookup with an error.
    const unstorable = checkStorableText(fieldOf(n), n.grantee.id);
    if (unstorable) throw unstorable;
  }
  const ids = (kind: Grantee["kind"]) => [
    ...new Set(named.filter((n) => n.grantee.kind === kind).map((n) => n.grantee.id)),
  ];
  const principalIds = ids("PRINCIPAL");
  const teamIds = ids("TEAM");
  const [principals, teams] = await Promise.all([
    principalIds.length === 0
      ? []
      : ctx.reader.principal.findMany({ where: { id: { in: principalIds } }, select: { id: true } }),
    teamIds.length === 0
      ? []
      : ctx.reader.team.findMany({ where: { id: { in: teamIds } }, select: { id: true } }),
  ]);
  const found = new Set([...principals.map((p) => `PRINCIPAL:${p.id}`), ...teams.map((t) => `TEAM:${t.id}`)]);
  const missing = named.find((n) => !found.has(`${n.grantee.kind}:${n.grantee.id}`));
  if (missing !== undefined)
    throw new ValidationError(
      fieldOf(missing),
      `no ${missing.grantee.kind === "PRINCIPAL" ? "principal" : "team"} has the id ${missing.grantee.id}`,
    );
}

const granteeFields = {
  principalId: { required: false, description: "The user or service account (or give teamId)." },
  teamId: { required: false, description: "The team (or give principalId)." },
} as const;

builder.mutationFields((t) => ({
  grantModelPermission: t.field({
    type: RegisteredModelPayloadRef,
    description:
      "Gives a principal or a team a permission on a model, replacing the one it held (the one it holds changes nothing). Needs MANAGE on the model.",
    // The resolver refuses a missing or doubled grantee, or one that does not exist, as ValidationError.
    errors: commandMutationErrors("GrantModelPermission", "GrantModelPermission", [ValidationError]),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("GrantModelPermissionInput", {
          description: "The model, the grantee and the permission.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            principalId: f.id(granteeFields.principalId),
            teamId: f.id(granteeFields.teamId),
            permission: f.field({ type: ModelPermissionEnum, description: "The permission to hold." }),
            expectedRevision: f.int(EXPECTED_REVISION_FIELD),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const grantee = granteeOf(input);
      await requireGrantee(ctx, grantee);
      return runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "GrantModelPermission", data: { grantee, permission: input.permission } },
        input.expectedRevision,
      );
    },
  }),

  revokeModelPermission: t.field({
    type: RegisteredModelPayloadRef,
    description:
      "Takes away the permission a principal or team holds on a model (it keeps what its role, its teams and the default give). Without a grant to take, nothing changes. Needs MANAGE on the model.",
    errors: commandMutationErrors("RevokeModelPermission", "RevokeModelPermission", [ValidationError]),
    args: {
      input: t.arg({
        description: "The command input.",
        type: builder.inputType("RevokeModelPermissionInput", {
          description: "The model and the grantee.",
          fields: (f) => ({
            name: f.string({ description: "Model name." }),
            principalId: f.id(granteeFields.principalId),
            teamId: f.id(granteeFields.teamId),
            expectedRevision: f.int(EXPECTED_REVISION_FIELD),
          }),
        }),
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const grantee = granteeOf(input);
      // Revoking what is not held changes nothing, so a mistyped id would pass unnoticed.
      await requireGrantee(ctx, grantee);
      return runCommand(
        ctx,
        { kind: "live", name: input.name },
        { type: "RevokeModelPermission", data: { grantee } },
        input.expectedRevision,
      );
    },
  }),
}));
