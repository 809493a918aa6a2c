// Where a command ran, without the credentials a PostgreSQL URL may carry.
import type { DatabaseConfig } from "../config.ts";

export function describeDatabase(config: DatabaseConfig): string {
  if (config.provider === "sqlite") return `SQLite ${config.file}`;
  const url = new URL(config.url);
  return `PostgreSQL ${url.host}${url.pathname}`;
}
