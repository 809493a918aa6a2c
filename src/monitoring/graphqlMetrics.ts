// GraphQL operation metrics through Yoga's Prometheus plugin, on the app's own registry, with
// Registro's names and label sets. The plugin's defaults are all off: several carry unbounded
// labels (the request URL, an error's field path) or duplicate what the HTTP layer measures.
import { createCounter, createHistogram, usePrometheus } from "@graphql-yoga/plugin-prometheus";
import { getOperationAST } from "graphql";
import type { DocumentNode, ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";
import { DURATION_BUCKETS, labelSet } from "./registryMetrics.ts";
import type { RegistryMetrics } from "./registryMetrics.ts";
import { observeErrors, observeOperation } from "./requestObserver.ts";

type Outcome = "ok" | "error";

/** Each execution's outcome, by its context: set before the plugin's handlers read it (plugin order). */
const outcomes = new WeakMap<object, Outcome>();

const hasErrors = (result: unknown) =>
  typeof result === "object" &&
  result !== null &&
  Array.isArray((result as ExecutionResult).errors) &&
  (result as ExecutionResult).errors!.length > 0;

/**
 * Records each operation's outcome (for the metric's label), and on the HTTP request it came with
 * its operation name and whether its answer carried errors (for the request's log line).
 */
function outcomePlugin(): Plugin<{ req?: unknown }> {
  return {
    onExecute({ args }) {
      const context = args.contextValue as { req?: unknown };
      const name = getOperationAST(
        args.document as DocumentNode,
        args.operationName as string | null | undefined,
      )?.name?.value;
      observeOperation(context.req, name ?? null);
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in Object(result)) return;
          outcomes.set(context, hasErrors(result) ? "error" : "ok");
        },
      };
    },
    // Every answer, including those of documents that never reached execution (parse, validation).
    onResultProcess({ result, serverContext }) {
      const results = Array.isArray(result) ? result : [result];
      if (results.some(hasErrors)) observeErrors((serverContext as { req?: unknown }).req);
    },
  };
}

export function graphqlMetricsPlugins(metrics: RegistryMetrics): Plugin[] {
  const { registry, operationNames } = metrics;
  return [
    outcomePlugin(),
    usePrometheus({
      registry,
      endpoint: false,
      metrics: {
        graphql_envelop_deprecated_field: false,
        graphql_envelop_request: false,
        graphql_envelop_request_time_summary: false,
        graphql_envelop_phase_parse: false,
        graphql_envelop_phase_validate: false,
        graphql_envelop_phase_context: false,
        graphql_envelop_phase_execute: false,
        graphql_envelop_phase_subscribe: false,
        graphql_envelop_schema_change: false,
        graphql_envelop_execute_resolver: false,
        graphql_yoga_http_duration: false,
        graphql_envelop_request_duration: createHistogram({
          registry,
          histogram: {
            name: "registro_graphql_operation_duration_seconds",
            help: "GraphQL operations executed (the _count) and their execution time, by operation name (bounded: see docs/monitoring.md), type and outcome (ok, or error when the result carries errors; typed mutation errors are results, so ok). A subscription is timed from its start to its end.",
            labelNames: ["operation", "type", "outcome"],
            buckets: DURATION_BUCKETS,
          },
          fillLabelsFn: (params, context: object) =>
            labelSet({
              operation: operationNames.label(params.operationName),
              type: params.operationType ?? "unknown",
              outcome: outcomes.get(context) ?? "ok",
            }),
        }),
        graphql_envelop_error_result: createCounter({
          registry,
          counter: {
            name: "registro_graphql_errors_total",
            help: "Errors in GraphQL results, by phase (parse, validate, context, execute, subscribe) and operation name (bounded).",
            labelNames: ["phase", "operation"],
          },
          fillLabelsFn: (params) =>
            labelSet({
              phase: params.errorPhase ?? "execute",
              operation: operationNames.label(params.operationName),
            }),
        }),
      },
    }),
  ];
}
