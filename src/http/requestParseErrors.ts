// Yoga's request parsers call JSON.parse on client text (`variables` and `extensions` of a GET, the
// body of a POST) and let a SyntaxError escape, which Yoga then masks as a 500. Malformed input is
// the client's mistake: this plugin wraps whichever parser Yoga picked so that anything it throws
// that is not already a GraphQL error becomes a 400 with the BAD_REQUEST code.
import { createGraphQLError } from "graphql-yoga";
import type { Plugin } from "graphql-yoga";
import { GraphQLError } from "graphql";

export function requestParseErrorsPlugin(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (requestParser === undefined) return;
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (error instanceof GraphQLError) throw error;
          const reason = error instanceof Error ? error.message : String(error);
          throw createGraphQLError(`The request could not be read: ${reason}`, {
            extensions: { code: "BAD_REQUEST", http: { status: 400 } },
          });
        }
      });
    },
  };
}
