// Tests that write events past Registro (forged, tampered or old-format rows) store the type as
// Registro does since migration 20261214000000_event_type: the code of its name in `event_types`.
// Run ensureEventTypeSql first (the name may not have a code yet), then put eventTypeCodeSql where
// the INSERT has the type's value. Both work on SQLite and PostgreSQL.

const literal = (name: string) => `'${name.replaceAll("'", "''")}'`;

/** Gives `name` a code if it has none yet. */
export const ensureEventTypeSql = (name: string) =>
  `INSERT INTO event_types (name) VALUES (${literal(name)}) ON CONFLICT (name) DO NOTHING`;

/** The code of `name`, as a value in an INSERT. */
export const eventTypeCodeSql = (name: string) =>
  `(SELECT code FROM event_types WHERE name = ${literal(name)})`;

/** Same, for a statement that binds the name as a parameter. */
export const EVENT_TYPE_CODE_PARAM = "(SELECT code FROM event_types WHERE name = ?)";
