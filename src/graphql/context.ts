import type { CommandDeps, RequestMetadata } from "../application/executeCommand.ts";
import type { Database } from "../db/database.ts";

/** Per-request context: the database for reads, the command dependencies, and who is asking. */
export interface GraphQLContext extends RequestMetadata {
  readonly db: Database;
  readonly commands: CommandDeps;
}
