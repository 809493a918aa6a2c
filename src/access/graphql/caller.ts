// Who a GraphQL operation acts as, and the registry-role checks of the access operations. The edge
// (authentication) puts the caller in the context; without one the registry runs in local mode and
// the caller is the local administrator, named after the OS user.
import os from "node:os";
import { GraphQLError } from "graphql";
import { PermissionDeniedError } from "../../domain/errors.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import type { Caller } from "../principal.ts";

export function localUserName(): string {
  try {
    return os.userInfo().username || "local";
  } catch {
    // No passwd entry for the uid (some containers).
    return process.env.USER ?? "local";
  }
}

// One lookup of the local administrator per operation, however many fields ask.
const localCallers = new WeakMap<GraphQLContext, Promise<Caller>>();

export function callerOf(ctx: GraphQLContext): Promise<Caller> {
  if (ctx.caller) return Promise.resolve(ctx.caller);
  let caller = localCallers.get(ctx);
  if (!caller) {
    caller = ctx.directory
      .localAdministrator(localUserName(), ctx.commands.clock())
      .then((principal): Caller => ({ principal, credential: { kind: "local" } }));
    localCallers.set(ctx, caller);
  }
  return caller;
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
