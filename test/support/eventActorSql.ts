// Tests that write events past Registro (forged, tampered or old-format rows) store the actor as
// Registro does since migration 20261215000000_event_actor: the id of its row in `event_actors`.
// Run ensureEventActorSql first (the actor may have no row yet), then put eventActorRefSql where
// the INSERT has the actor's value (column actor_ref). Both work on SQLite and PostgreSQL. The actor
// is a bare display name (no principal id, kind or credential), as events before authentication.

const literal = (name: string) => `'${name.replaceAll("'", "''")}'`;

/** Gives the actor named `name` (no id, kind or credential) a row if it has none yet. */
export const ensureEventActorSql = (name: string) =>
  `INSERT INTO event_actors (actor, actor_id, actor_kind, actor_credential) VALUES (${literal(name)}, NULL, NULL, NULL)
   ON CONFLICT DO NOTHING`;

/** The id of that actor, as a value in an INSERT. */
export const eventActorRefSql = (name: string) =>
  `(SELECT id FROM event_actors WHERE actor = ${literal(name)} AND actor_id IS NULL AND actor_kind IS NULL
     AND actor_credential IS NULL)`;
