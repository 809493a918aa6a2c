// Who a GraphQL operation acts as, and the registry-role checks of the access operations. The edge
// (authentication) puts the caller in the context; in local mode it is the local administrator,
// named after the OS user.
import { GraphQLError } from "graphql";
import { PermissionDeniedError } from "../../domain/errors.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import type { Caller } from "../principal.ts";

/** The caller authentication at the edge established (in local mode, the local administrator). */
export function callerOf(ctx: GraphQLContext): Promise<Caller> {
  return Promise.resolve(ctx.caller);
}

/** For mutations: a PermissionDeniedError, which the result union carries. */
export async function requireAdmin(ctx: GraphQLContext, operation: string): Promise<Caller> {
  const caller = await callerOf(ctx);
  if (caller.principal.role !== "ADMIN") throw new PermissionDeniedError(operation, "registry role ADMIN");
  return caller;
}

/** For query fields (which have no result union): a GraphQL error with code PERMISSION_DENIED. */
export function deniedQuery(operation: string, needed: string): GraphQLError {
  const error = new PermissionDeniedError(operation, needed);
  return new GraphQLError(error.message, { extensions: { code: error.code, operation, needed } });
}

export async function requireAdminQuery(ctx: GraphQLContext, operation: string): Promise<Caller> {
  const caller = await callerOf(ctx);
  if (caller.principal.role !== "ADMIN") throw deniedQuery(operation, "registry role ADMIN");
  return caller;
}
