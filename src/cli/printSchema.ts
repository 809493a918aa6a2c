// Prints the GraphQL SDL to schema/schema.graphql and the possible types of every interface and
// union to schema/possible-types.json (or checks both with --check). The checked-in SDL is the API
// documentation frontend teams read; normalized caches (Apollo Client's `possibleTypes`, urql's
// graphcache) need the possible types to match fragments on `Error`, `Node` and the result unions.
// A test fails when either is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { isInterfaceType, isUnionType, printSchema } from "graphql";
import { schema } from "../graphql/schema.ts";

export const SDL_PATH = fileURLToPath(new URL("../../schema/schema.graphql", import.meta.url));
export const POSSIBLE_TYPES_PATH = fileURLToPath(
  new URL("../../schema/possible-types.json", import.meta.url),
);

export const printedSchema = () => `${printSchema(schema)}\n`;

/** `{ "<interface or union>": ["<object type>", …] }`, sorted: Apollo Client's `possibleTypes` shape. */
export function possibleTypes(): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const type of Object.values(schema.getTypeMap()).sort((a, b) => a.name.localeCompare(b.name))) {
    if (type.name.startsWith("__") || !(isInterfaceType(type) || isUnionType(type))) continue;
    result[type.name] = schema
      .getPossibleTypes(type)
      .map((t) => t.name)
      .sort();
  }
  return result;
}

export const printedPossibleTypes = () => `${JSON.stringify(possibleTypes(), null, 2)}\n`;

const program = new Command("schema:print")
  .description("Write (or check) schema/schema.graphql from the code")
  .option("--check", "exit non-zero when the checked-in SDL differs from the code")
  .action((options: { check?: boolean }) => {
    const files = [
      [SDL_PATH, printedSchema()],
      [POSSIBLE_TYPES_PATH, printedPossibleTypes()],
    ] as const;
    if (options.check) {
      const stale = files.filter(([file, text]) => readFileSync(file, "utf8") !== text);
      for (const [file] of stale) console.error(`${file} is out of date: run \`npm run schema:print\``);
      if (stale.length > 0) process.exit(1);
      console.log("schema/schema.graphql and schema/possible-types.json are up to date");
      return;
    }
    for (const [file, text] of files) {
      writeFileSync(file, text);
      console.log(`wrote ${file}`);
    }
  });

if (process.argv[1] === fileURLToPath(import.meta.url)) program.parse();
