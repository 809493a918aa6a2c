// The baseline the core benchmark compares against: a bare graphql-yoga server whose only mutation
// performs one raw SQLite insert, with the same durability settings as Registro (WAL, synchronous
// FULL). Whatever Registro does beyond that (validation, decision, event append, projections,
// typed payloads) is the overhead the ratio shows.
import http from "node:http";
import path from "node:path";
import Database from "better-sqlite3";
import { createSchema, createYoga } from "graphql-yoga";

const file = path.join(process.env.DATA_DIR ?? ".", "baseline.db");
const db = new Database(file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.exec(
  "CREATE TABLE IF NOT EXISTS versions (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, source TEXT NOT NULL, created_at TEXT NOT NULL)",
);
const insert = db.prepare("INSERT INTO versions (name, source, created_at) VALUES (?, ?, ?)");

const yoga = createYoga({
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      type Query {
        ok: Boolean!
      }
      input CreateInput {
        name: String!
        source: String!
      }
      type Version {
        version: Int!
      }
      type Mutation {
        createModelVersion(input: CreateInput!): Version!
      }
    `,
    resolvers: {
      Query: { ok: () => true },
      Mutation: {
        createModelVersion: (_: unknown, { input }: { input: { name: string; source: string } }) => ({
          version: Number(insert.run(input.name, input.source, new Date().toISOString()).lastInsertRowid),
        }),
      },
    },
  }),
  logging: false,
  landingPage: false,
});

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") return void res.end("ok");
  return void yoga(req, res);
});
server.listen(Number(process.env.PORT ?? 4001), process.env.HOST ?? "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
