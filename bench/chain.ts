// Issue #11 benchmark: what the hash chain adds to a command. A command now reads its stream's last
// two events, re-hashes the head to check it, and hashes each new event. Measured in the same run, in
// alternating rounds on one database of each provider: a whole command (setRegisteredModelTag
// through the application layer, durable commit included) against the chain's own work for one
// command (the head read and check, on a connection of its own, and one new event's hash). The
// ratio is the chain's share of a command. On SQLite also the head check alone, twice: in full (on
// that connection of its own) and as the append path runs it in the writer's transaction, where the
// head is this process's own last append and is taken without hashing it again
// (src/store/ownHeads.ts).
import os from "node:os";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { SYSTEM_RIGHTS } from "../src/access/modelAccess.ts";
import { systemActor } from "../src/access/actor.ts";
import { eventHash } from "../src/audit/eventHash.ts";
import { executeCommand } from "../src/application/executeCommand.ts";
import type { CommandDeps } from "../src/application/executeCommand.ts";
import { openDatabase } from "../src/db/database.ts";
import type { DatabaseConfig } from "../src/config.ts";
import { PostgresTx, SqliteTx, pgTypes } from "../src/db/sql.ts";
import type { SqlTx } from "../src/db/sql.ts";
import { verifiedHead } from "../src/store/eventStore.ts";
import { createBenchDatabase } from "./benchDatabase.ts";
import { compare, figure } from "./support.ts";

const ROUNDS = 6;
const PER_ROUND = 500;

/** A connection of the bench's own, outside the server's write path, for the chain's reads. */
function headReader(config: DatabaseConfig): { tx: SqlTx; close(): Promise<void> } {
  if (config.provider === "sqlite") {
    const connection = new BetterSqlite3(config.file, { readonly: true });
    return {
      tx: new SqliteTx(connection, new Map()),
      close: () => Promise.resolve(void connection.close()),
    };
  }
  const pool = new pg.Pool({ connectionString: config.url, max: 1 });
  return { tx: new PostgresTx(pool, pgTypes(pg.types)), close: () => pool.end() };
}

export async function benchChain() {
  return { sqlite: await benchChainOn("sqlite"), postgresql: await benchChainOn("postgresql") };
}

async function benchChainOn(provider: DatabaseConfig["provider"]) {
  const bench = await createBenchDatabase(provider);
  const config = bench.config;
  const db = openDatabase(config);
  const deps: CommandDeps = { db, clock: () => new Date() };
  const metadata = { actor: systemActor("bench"), correlationId: null, rights: SYSTEM_RIGHTS };
  const modelId = "chain-bench";
  try {
    await executeCommand(
      deps,
      { kind: "new", modelId },
      { type: "CreateRegisteredModel", data: { modelId, name: modelId, description: "", tags: [] } },
      metadata,
    );
    const reader = headReader(config);
    const readTx = reader.tx;
    let commandSeconds = 0;
    let chainSeconds = 0;
    let fullCheckSeconds = 0;
    let ownCheckSeconds = 0;
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let started = performance.now();
      for (let i = 0; i < PER_ROUND; i++) {
        const outcome = await executeCommand(
          deps,
          { kind: "live", name: modelId },
          { type: "SetRegisteredModelTag", data: { key: "k", value: `v${n++}` } },
          metadata,
        );
        if (outcome instanceof Error) throw outcome;
      }
      commandSeconds += (performance.now() - started) / 1000;
      started = performance.now();
      for (let i = 0; i < PER_ROUND; i++) {
        const head = await verifiedHead(readTx, modelId);
        eventHash(
          {
            streamId: modelId,
            revision: head.revision + 1,
            type: "RegisteredModelTagSet",
            schemaVersion: 1,
            data: { key: "k", value: `v${i}` },
            actor: "bench",
            actorId: "system:bench",
            actorKind: "SERVICE_ACCOUNT",
            actorCredential: null,
            occurredAt: new Date(),
            correlationId: null,
            causationId: null,
          },
          head.hash,
        );
      }
      chainSeconds += (performance.now() - started) / 1000;
      if (provider !== "sqlite") continue;
      started = performance.now();
      for (let i = 0; i < PER_ROUND; i++) await verifiedHead(readTx, modelId);
      fullCheckSeconds += (performance.now() - started) / 1000;
      await db.write(async (tx) => {
        started = performance.now();
        for (let i = 0; i < PER_ROUND; i++) await verifiedHead(tx, modelId);
        ownCheckSeconds += (performance.now() - started) / 1000;
      });
    }
    await reader.close();
    const commands = ROUNDS * PER_ROUND;
    const command = figure((commandSeconds * 1e6) / commands, "µs per command");
    const chain = figure((chainSeconds * 1e6) / commands, "µs of chain work per command");
    const perCheck = (seconds: number, what: string) => figure((seconds * 1e6) / commands, what);
    return {
      commandsMeasured: commands,
      loadAverageAtEnd: os.loadavg()[0],
      chainShareOfCommand: compare(chain, command),
      ...(provider === "sqlite"
        ? {
            ownHeadCheckVsFull: compare(
              perCheck(ownCheckSeconds, "µs per head check of this process's own append"),
              perCheck(fullCheckSeconds, "µs per full head check"),
            ),
          }
        : {}),
    };
  } finally {
    await db.close();
    await bench.drop();
  }
}
