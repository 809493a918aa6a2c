import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";
import possibleTypes from "../../schema/possible-types.json" with { type: "json" };

/** Hex SHA-256 with Web Crypto, present in browsers and Node alike. */
async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function createRegistroClient(options: {
  /** The GraphQL endpoint, e.g. "https://registro.example.com/graphql". */
  url: string;
  /** Where the platform has no global WebSocket (Node before 22): the `ws` package. */
  webSocketImpl?: unknown;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
}) {
  // Queries and mutations over HTTP, sending a document's hash instead of its text once the
  // server knows it; subscriptions over graphql-ws on the same path.
  const http = ApolloLink.from([
    new PersistedQueryLink({ sha256 }),
    new HttpLink({ uri: options.url, fetch: options.fetch }),
  ]);
  const ws = new GraphQLWsLink(
    createClient({ url: options.url.replace(/^http/, "ws"), webSocketImpl: options.webSocketImpl }),
  );
  return new ApolloClient({
    link: ApolloLink.split(({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION, ws, http),
    // Without possibleTypes the cache cannot tell that an AlreadyExistsError is an Error, and
    // drops the fields of `... on Error { code message }` and `... on Node { id }`.
    cache: new InMemoryCache({ possibleTypes }),
  });
}
