// Bounds on the shape of GraphQL operations, checked during validation before anything executes:
// a hostile or careless client cannot make the server walk a query nested a hundred levels deep,
// alias one expensive field a thousand times, or parse a megabyte of tokens. The limits sit far
// above what the UI and the README examples need (depth ≤ 8, a handful of aliases).
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import { nestingLimitPlugin } from "./nestingLimit.ts";

/** maxNesting bounds brackets of any kind (selections, lists, input objects) before parsing. */
export const OPERATION_LIMITS = { maxDepth: 15, maxAliases: 30, maxTokens: 10_000, maxNesting: 128 } as const;

export function operationLimitPlugins() {
  return [
    nestingLimitPlugin(OPERATION_LIMITS.maxNesting),
    maxDepthPlugin({ n: OPERATION_LIMITS.maxDepth, exposeLimits: true, flattenFragments: true }),
    maxAliasesPlugin({ n: OPERATION_LIMITS.maxAliases, exposeLimits: true }),
    maxTokensPlugin({ n: OPERATION_LIMITS.maxTokens, exposeLimits: true }),
  ];
}
