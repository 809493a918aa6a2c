// Bounds on the shape of GraphQL operations, checked during validation before anything executes:
// a hostile or careless client cannot make the server walk a query nested a hundred levels deep,
// alias one expensive field a thousand times, or parse a megabyte of tokens. The limits sit far
// above what the UI and the README examples need (depth ≤ 8, a handful of aliases).
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import { GraphQLError } from "graphql";
import type { ValidationContext } from "graphql";
import type { ErrorCode } from "./errorCodes.ts";
import { itemLimitPlugin } from "./itemLimit.ts";
import { nestingLimitPlugin } from "./nestingLimit.ts";

/**
 * maxNesting bounds brackets of any kind (selections, lists, input objects) before parsing; maxItems
 * the objects an operation could return, pages multiplied (itemLimit.ts). The web interface's largest
 * page (a model with 500 versions, their metrics and artifacts, and 100 history events) is about 2,100.
 */
export const OPERATION_LIMITS = {
  maxDepth: 15,
  maxAliases: 30,
  maxTokens: 10_000,
  maxNesting: 128,
  maxItems: 10_000,
} as const;

// graphql-armor words every refusal as "Syntax Error: …" without a code; clients get a code and
// the limit instead.
const rewrite = (error: GraphQLError, code: ErrorCode, limit: number) =>
  new GraphQLError(error.message.replace(/^Syntax Error: /, ""), {
    extensions: { code, limit, http: { status: 400, spec: true } },
  });

/** A validation refusal, reported like any other validation error (the operation does not run). */
const refuseInValidation =
  (code: ErrorCode, limit: number) => (context: ValidationContext | null, error: GraphQLError) =>
    context?.reportError(rewrite(error, code, limit));

export function operationLimitPlugins() {
  const { maxDepth, maxAliases, maxTokens } = OPERATION_LIMITS;
  return [
    nestingLimitPlugin(OPERATION_LIMITS.maxNesting),
    maxDepthPlugin({
      n: maxDepth,
      exposeLimits: true,
      flattenFragments: true,
      propagateOnRejection: false,
      onReject: [refuseInValidation("MAX_DEPTH_EXCEEDED", maxDepth)],
    }),
    maxAliasesPlugin({
      n: maxAliases,
      exposeLimits: true,
      propagateOnRejection: false,
      onReject: [refuseInValidation("MAX_ALIASES_EXCEEDED", maxAliases)],
    }),
    maxTokensPlugin({
      n: maxTokens,
      exposeLimits: true,
      propagateOnRejection: false,
      // Counted by the lexer while parsing: stopping it is the point, so this throws.
      onReject: [
        (_context, error) => {
          throw rewrite(error, "MAX_TOKENS_EXCEEDED", maxTokens);
        },
      ],
    }),
    // Needs the variables (`first: $n`), so it runs when the operation is about to execute.
    itemLimitPlugin(OPERATION_LIMITS.maxItems),
  ];
}
