// `npm run access:bootstrap -- --name "Ada" [--email ada@example.com]`: creates the first ADMIN
// user and an API token for it, and prints the token once. Refuses (exit 2) when an enabled ADMIN
// exists already: from then on, administrators create users and tokens through the API.
import { Command } from "commander";
import { parseArguments, runAsMain } from "../../cli/runAsMain.ts";
import { loadConfig } from "../../config.ts";
import { openDatabase } from "../../db/database.ts";
import { prepareSchema } from "../../db/migrate.ts";
import { DomainError, InvalidStateError } from "../../domain/errors.ts";
import { createApiToken, createFirstAdmin } from "../accessCommands.ts";
import { systemActor } from "../actor.ts";

export async function runBootstrap(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
): Promise<number> {
  const program = new Command("access:bootstrap")
    .description(
      "Create the first ADMIN user and an API token for it (printed once). Configured by the environment like the server (DATA_DIR, DATABASE_URL).",
    )
    .requiredOption("--name <name>", "display name of the administrator")
    .option("--email <email>", "email address of the administrator")
    .option("--token-name <name>", "name of the token", "bootstrap")
    .exitOverride();
  const usage = parseArguments(program, argv);
  if (usage !== null) return usage;
  const options = program.opts<{ name: string; email?: string; tokenName: string }>();
  const config = loadConfig(env);
  await prepareSchema(config.database);
  const db = openDatabase(config.database);
  try {
    const deps = { db, clock: () => new Date() };
    const metadata = { actor: systemActor("bootstrap"), correlationId: null };
    const admin = await createFirstAdmin(
      deps,
      { displayName: options.name, email: options.email ?? null },
      metadata,
    );
    if (admin instanceof InvalidStateError) {
      print(
        "access:bootstrap refused: an administrator exists already. Ask an ADMIN to create your user and token (mutations createUser and createApiToken).",
      );
      return 2;
    }
    if (admin instanceof DomainError) {
      print(`access:bootstrap refused: ${admin.message}`);
      return 2;
    }
    const token = await createApiToken(
      deps,
      { principalId: admin.id, name: options.tokenName, scopes: ["read", "write", "admin"], expiresAt: null },
      metadata,
    );
    if (token instanceof DomainError) {
      print(`access:bootstrap refused: ${token.message}`);
      return 2;
    }
    print(`Created ADMIN ${options.name} (principal ${admin.id}) and token ${token.id}.`);
    print("Token (shown once; it is stored only as a hash):");
    print(token.secret);
    return 0;
  } finally {
    await db.close();
  }
}

runAsMain(import.meta.url, runBootstrap);
