// The baseline the core benchmark compares against: a bare graphql-yoga server whose only mutation
// performs one raw SQLite insert, with the same durability settings as Registro (WAL, synchronous
// FULL). Whatever Registro does beyond that (validation, decision, event append, projections,
// typed payloads) is the overhead the ratio shows. Like Registro's writer (src/db/database.ts), it
// commits the inserts that arrive in the same event-loop turn together (group commit), so the
// ratio with several clients measures Registro's own work, not who shares an fsync. It runs its
// libraries in production mode, as Registro's server does when NODE_ENV is unset (imported first).
import "../src/productionMode.ts";
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
const begin = db.prepare("BEGIN IMMEDIATE");
const commit = db.prepare("COMMIT");

interface Pending {
  readonly name: string;
  readonly source: string;
  readonly resolve: (version: number) => void;
  readonly reject: (error: unknown) => void;
}
let queue: Pending[] = [];

function commitQueued() {
  const group = queue;
  queue = [];
  const versions: number[] = [];
  try {
    begin.run();
    for (const { name, source } of group)
      versions.push(Number(insert.run(name, source, new Date().toISOString()).lastInsertRowid));
    commit.run();
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK");
    for (const pending of group) pending.reject(error);
    return;
  }
  group.forEach((pending, i) => pending.resolve(versions[i] ?? 0));
}

/** Inserts in the next group commit; resolves with the new row's id once it is durable. */
const insertVersion = (name: string, source: string) =>
  new Promise<number>((resolve, reject) => {
    if (queue.length === 0) setImmediate(commitQueued);
    queue.push({ name, source, resolve, reject });
  });

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
        createModelVersion: async (_: unknown, { input }: { input: { name: string; source: string } }) => ({
          version: await insertVersion(input.name, input.source),
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
