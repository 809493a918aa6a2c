// Actors for tests that record events directly (the store, projections, the application runner).
import type { EventActor } from "../../src/access/actor.ts";

/** A user who authenticated with an API token named after them. */
export const userActor = (name: string): EventActor => ({
  id: `user-${name}`,
  kind: "USER",
  displayName: name,
  credential: { kind: "token", tokenId: `token-${name}`, scopes: ["write"] },
});
