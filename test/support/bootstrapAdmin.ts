// The first administrator of a test server and its token, made by the bootstrap command
// (`npm run bootstrap`) against the server's database, as an operator makes it under AUTH=required.
import path from "node:path";
import { runBootstrap } from "../../src/access/cli/bootstrap.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import type { TestServer } from "./server.ts";

/** The new administrator's token secret (`rgo_…`). */
export async function bootstrapAdmin(
  server: TestServer,
  database: DatabaseConfig,
  name: string,
): Promise<string> {
  const printed: string[] = [];
  const env =
    database.provider === "sqlite"
      ? { DATA_DIR: path.dirname(database.file) }
      : { DATA_DIR: server.dataDir, DATABASE_URL: database.url };
  const code = await runBootstrap(["--name", name], env, (line) => printed.push(line));
  const secret = printed.find((line) => line.startsWith("rgo_"));
  if (code !== 0 || secret === undefined) throw new Error(`bootstrap failed: ${printed.join("\n")}`);
  return secret;
}
