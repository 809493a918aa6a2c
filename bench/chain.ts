// Issue #11 benchmark: what the hash chain adds to a command. A command now reads its stream's last
// two events, re-hashes the head to check it, and hashes each new event. Measured in the same run, in
// alternating rounds on one SQLite database: a whole command (setRegisteredModelTag through the
// application layer, durable commit included) against the chain's own work for one command (the head
// read and check on a read connection, and one new event's hash). The ratio is the chain's share.
import { mkdtempSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { SYSTEM_RIGHTS } from "../src/access/modelAccess.ts";
import { systemActor } from "../src/access/actor.ts";
import { eventHash } from "../src/audit/eventHash.ts";
import { executeCommand } from "../src/application/executeCommand.ts";
import type { CommandDeps } from "../src/application/executeCommand.ts";
import { openDatabase } from "../src/db/database.ts";
import { migrate } from "../src/db/migrate.ts";
import { SqliteTx } from "../src/db/sql.ts";
import { verifiedHead } from "../src/store/eventStore.ts";
import { compare, figure } from "./support.ts";

const ROUNDS = 6;
const PER_ROUND = 500;

export async function benchChain() {
  const dir = mkdtempSync(path.join(tmpdir(), "registro-bench-chain-"));
  const config = { provider: "sqlite" as const, file: path.join(dir, "registro.db") };
  await migrate(config);
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
    const reader = new BetterSqlite3(config.file, { readonly: true });
    const readTx = new SqliteTx(reader, new Map());
    let commandSeconds = 0;
    let chainSeconds = 0;
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
    }
    reader.close();
    const commands = ROUNDS * PER_ROUND;
    const command = figure((commandSeconds * 1e6) / commands, "µs per command");
    const chain = figure((chainSeconds * 1e6) / commands, "µs of chain work per command");
    return {
      commandsMeasured: commands,
      loadAverageAtEnd: os.loadavg()[0],
      chainShareOfCommand: compare(chain, command),
    };
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
