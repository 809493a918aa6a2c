// Prints the GraphQL SDL to schema/schema.graphql (or checks it with --check). The checked-in SDL is
// the API documentation frontend teams read; a test fails when it is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { printSchema } from "graphql";
import { schema } from "../graphql/schema.ts";

export const SDL_PATH = fileURLToPath(new URL("../../schema/schema.graphql", import.meta.url));

export const printedSchema = () => `${printSchema(schema)}\n`;

const program = new Command("schema:print")
  .description("Write (or check) schema/schema.graphql from the code")
  .option("--check", "exit non-zero when the checked-in SDL differs from the code")
  .action((options: { check?: boolean }) => {
    const sdl = printedSchema();
    if (options.check) {
      const current = readFileSync(SDL_PATH, "utf8");
      if (current !== sdl) {
        console.error("schema/schema.graphql is out of date: run `npm run schema:print`");
        process.exit(1);
      }
      console.log("schema/schema.graphql is up to date");
      return;
    }
    writeFileSync(SDL_PATH, sdl);
    console.log(`wrote ${SDL_PATH}`);
  });

if (process.argv[1] === fileURLToPath(import.meta.url)) program.parse();
