import { Client, fetchExchange, subscriptionExchange } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import { createClient } from "graphql-ws";
import possibleTypes from "../../schema/possible-types.json" with { type: "json" };

export function createRegistroClient(options: {
  /** The GraphQL endpoint, e.g. "https://registro.example.com/graphql". */
  url: string;
  /** Where the platform has no global WebSocket (Node before 22): the `ws` package. */
  webSocketImpl?: unknown;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
}) {
  const ws = createClient({ url: options.url.replace(/^http/, "ws"), webSocketImpl: options.webSocketImpl });
  return new Client({
    url: options.url,
    fetch: options.fetch,
    // urql sends queries as GET when they fit in a URL; Registro wants this header on every GET.
    fetchOptions: { headers: { "x-registro-csrf": "1" } },
    exchanges: [
      cacheExchange({ possibleTypes }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const operation = { ...request, query: request.query ?? "" };
          return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(operation, sink) }) };
        },
      }),
    ],
  });
}
