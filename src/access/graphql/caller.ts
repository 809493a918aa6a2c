// Who a GraphQL operation acts as, and the registry-role checks of the access operations. The edge
// (authentication) puts the caller in the context; in local mode it is the local administrator,
// named after the OS user.
import { GraphQLError } from "graphql";
import { PermissionDeniedError } from "../../domain/errors.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import type { Caller } from "../principal.ts";

/** For mutations: a PermissionDeniedError, which the result union carries. */
export function requireAdmin(ctx: GraphQLContext, operation: string): Caller {
  const caller = ctx.caller;
  if (caller.principal.role !== "ADMIN") throw new PermissionDeniedError(operation, "registry role ADMIN");
  return caller;
}

/** For query fields (which have no result union): a GraphQL error with code PERMISSION_DENIED. */
export function deniedQuery(operation: string, needed: string): GraphQLError {
  const error = new PermissionDeniedError(operation, needed);
  return new GraphQLError(error.message, { extensions: { code: error.code, operation, needed } });
}

export function requireAdminQuery(ctx: GraphQLContext, operation: string): Caller {
  const caller = ctx.caller;
  if (caller.principal.role !== "ADMIN") throw deniedQuery(operation, "registry role ADMIN");
  return caller;
}
