// Who a GraphQL operation acts as, and the registry-role checks of the access operations. The edge
// (authentication) puts the caller in the context; in local mode it is the local administrator,
// named after the OS user.
import { GraphQLError } from "graphql";
import { PermissionDeniedError } from "../../domain/errors.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import type { Caller } from "../principal.ts";

/**
 * For administration mutations: a PermissionDeniedError, which the result union carries. An ADMIN
 * needs a credential with the `admin` and the `write` scope: a token without `write` changes nothing.
 */
export function requireAdmin(ctx: GraphQLContext, operation: string): Caller {
  if (!ctx.rights.canAdminister)
    throw new PermissionDeniedError(
      operation,
      isAdmin(ctx) ? "a token with the admin and write scopes" : "registry role ADMIN",
    );
  return ctx.caller;
}

const isAdmin = (ctx: GraphQLContext) => ctx.caller.principal.role === "ADMIN";

/** For the caller's own changes (its tokens, its webhooks): a credential that may write. */
export function requireWriteScope(ctx: GraphQLContext, operation: string): void {
  if (!ctx.rights.scopes.has("write"))
    throw new PermissionDeniedError(operation, "a token with the write scope");
}

/** For query fields (which have no result union): a GraphQL error with code PERMISSION_DENIED. */
export function deniedQuery(operation: string, needed: string): GraphQLError {
  const error = new PermissionDeniedError(operation, needed);
  return new GraphQLError(error.message, { extensions: { code: error.code, operation, needed } });
}

/**
 * For administrators' read-only queries (lists of principals and teams, others' tokens): ADMIN with
 * the `admin` scope; reading needs no `write` scope (SSO and local mode hold every scope).
 */
export function requireAdminQuery(ctx: GraphQLContext, operation: string): Caller {
  if (!ctx.rights.readsAsAdministrator)
    throw deniedQuery(operation, isAdmin(ctx) ? "a token with the admin scope" : "registry role ADMIN");
  return ctx.caller;
}
