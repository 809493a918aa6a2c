// Heads for the PostgreSQL stream state cache's unit tests (src/application/streamStateCache.ts).
import type { CachedHead } from "../../src/application/streamStateCache.ts";

/** A head at `revision` (its position the same) with `hash`, appended by a test actor. */
export const headAt = (revision: number, hash = "0".repeat(64)): CachedHead => ({
  revision,
  position: revision,
  hash,
  appended: {
    previousHash: null,
    type: "ModelVersionCreated",
    schemaVersion: 1,
    data: "{}",
    actorRef: 1,
    actor: { actor: "tester", actorId: "user-tester", actorKind: "USER", actorCredential: null },
    occurredAt: new Date(0),
    correlationId: null,
    causationId: null,
  },
});
