// One urql client per credential: GraphQL over HTTP for queries and mutations, graphql-ws for
// subscriptions (a browser cannot set headers on a WebSocket, so the token goes in connection_init,
// as docs/authentication.md says), and graphcache's normalized cache, so a subscription's payload
// (a version's new stage, an alias's new target) updates every table that shows that version.
import { cacheExchange } from "@urql/exchange-graphcache";
import { Client, fetchExchange, subscriptionExchange } from "urql";
import { createClient as createWsClient } from "graphql-ws";
import possibleTypes from "../../schema/possible-types.json";
import { authorization } from "./auth.ts";
import { EVERY_MODEL, announceLiveChange } from "./live.ts";

/**
 * Entities are normalized by their `id` (every Node, Principal, Team, ReviewRequest has one, and
 * the operations select it); objects without one (tags, metrics, payloads, connections) are values
 * embedded in their parent. Said for every type at once, instead of graphcache's default, which
 * does the same but warns for each type without an `id`.
 */
const keyOf = (data: { id?: unknown }) =>
  typeof data.id === "string" || typeof data.id === "number" ? String(data.id) : null;
const KEYS = new Proxy({}, { get: () => keyOf });

export interface Connection {
  readonly client: Client;
  close(): void;
}

/**
 * `onUnauthorized` is told when the API answers 401 to a request carrying the token (expired or
 * revoked): the interface forgets it and asks the user to sign in again.
 */
export function connect(token: string | null, onUnauthorized: () => void = () => {}): Connection {
  const ws = createWsClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`,
    connectionParams: token === null ? {} : { Authorization: `Bearer ${token}` },
    retryAttempts: 30,
    shouldRetry: () => true,
    on: {
      // Changes made while the socket was down (a server restart) were not delivered: every page
      // fetches what it shows again.
      connected: (_socket, _payload, wasRetry) => {
        if (wasRetry) announceLiveChange(EVERY_MODEL);
      },
      // The server closes with 4401 when the token stopped being accepted (expired, revoked).
      closed: (event) => {
        if (token !== null && (event as { code?: unknown }).code === 4401) onUnauthorized();
      },
    },
  });
  const client = new Client({
    url: "/graphql",
    // POST, always: a GET would need the CSRF header anyway, and keeps variables out of logs.
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { ...authorization(token), "x-registro-csrf": "1" } }),
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (response.status === 401 && token !== null) onUnauthorized();
      return response;
    },
    exchanges: [
      cacheExchange({ possibleTypes, keys: KEYS }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({
            unsubscribe: ws.subscribe({ ...request, query: request.query ?? "" }, sink),
          }),
        }),
      }),
    ],
  });
  return { client, close: () => void ws.dispose() };
}
