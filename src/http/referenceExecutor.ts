// Queries and mutations run on graphql-js's own executor instead of Yoga's default
// (@graphql-tools/executor's normalizedExecutor). That one adds what Registro's schema does not use:
// incremental delivery (@defer, @stream), cancellation of a running execution by the request's
// signal, and a deep copy of every variable value (`snapshotInputValue`) on top of graphql-js's
// coercion. Together they cost about 3 % of the server's CPU per `createModelVersion`
// (docs/performance.md, "Statement journals in memory, graphql-js's executor, one-shot hashes").
// Subscriptions keep Yoga's subscribe, which ../graphql/sharedSubscriptionExecution.ts wraps and
// whose events it already executes with graphql-js.
import { OperationTypeNode, execute, getOperationAST } from "graphql";
import type { ExecutionArgs, ExecutionResult, GraphQLError } from "graphql";
import { isPromise } from "graphql-yoga";
import type { Plugin } from "graphql-yoga";
import { boundResult } from "../graphql/responseSizeBound.ts";
import { withExtensions } from "./errorCodePlugin.ts";

/** What Yoga's executor marks a request error with: the request is refused as a whole (HTTP 400). */
const requestError = (error: GraphQLError): GraphQLError => {
  const http = (error.extensions.http ?? {}) as Record<string, unknown>;
  return withExtensions(error, { http: { ...http, status: 400 } });
};

/**
 * graphql-js's execute, with its request errors marked as Yoga's executor marks them: arguments it
 * cannot execute at all (variables their types refuse, a missing or unknown operation) come back as
 * errors without `data`, before any resolver ran.
 */
function executeOperation(args: ExecutionArgs): ReturnType<typeof execute> {
  const result = execute(args);
  const kind = (): "mutation" | "query" =>
    getOperationAST(args.document, args.operationName)?.operation === OperationTypeNode.MUTATION
      ? "mutation"
      : "query";
  const bounded = (r: ExecutionResult): ExecutionResult => boundResult(r, kind);
  if (isPromise(result)) return result.then(bounded);
  if ("data" in result) return bounded(result);
  return { ...result, errors: result.errors?.map(requestError) } satisfies ExecutionResult;
}

export function referenceExecutorPlugin(): Plugin {
  return {
    onExecute({ setExecuteFn }) {
      setExecuteFn(executeOperation);
    },
  };
}
