// Prisma reports unique violations as P2002 on both providers. Through driver adapters the violated
// columns are not in `meta.target` but under `meta.driverAdapterError.cause.constraint` (quoted on
// PostgreSQL, bare on SQLite), and the table name is not reported at all, so we match columns.
import { Prisma } from "../db/generated/sqlite/client.ts";

const TABLE_COLUMNS: Record<string, readonly string[]> = {
  events: ["stream_id", "revision"],
  registered_models: ["name"],
};

function violatedColumns(error: Prisma.PrismaClientKnownRequestError): string[] {
  const meta = error.meta as
    | { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: unknown; index?: unknown } } } }
    | undefined;
  const constraint = meta?.driverAdapterError?.cause?.constraint;
  const raw = constraint?.fields ?? meta?.target ?? [];
  const fields = Array.isArray(raw) ? raw : [raw];
  const names = fields.map((f) => String(f).replaceAll('"', "").replace(/^.*\./, ""));
  if (typeof constraint?.index === "string") names.push(constraint.index);
  return names;
}

export function isUniqueViolation(error: unknown, table: keyof typeof TABLE_COLUMNS): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== "P2002") return false;
  const columns = violatedColumns(error);
  const expected = TABLE_COLUMNS[table] ?? [];
  return (
    expected.every((c) => columns.includes(c)) ||
    columns.some((c) => c === `${table}_live_name_key` || c.startsWith(`${table}_`))
  );
}
