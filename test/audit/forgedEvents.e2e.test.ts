// An attacker with database access inserts an event behind the registry's back. The store must notice
// before building on it: the model's writes answer a typed IntegrityError at once (not a
// ConcurrencyError retried twenty times, and never a wedge that only a rebuild clears), other models
// stay writable, reads go on, and /readyz and /metrics say what was found.
import { hashOf, storedHash } from "../../src/store/eventCodec.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventHash } from "../../src/audit/eventHash.ts";
import type { DatabaseConfig } from "../../src/config.ts";
import { providers } from "../support/databases.ts";
import { errorSelection } from "../support/mutationResult.ts";
import { startTestServer } from "../support/server.ts";
import { ensureEventTypeSql, eventTypeCodeSql } from "../support/eventTypeSql.ts";
import { ensureEventActorSql, eventActorRefSql } from "../support/eventActorSql.ts";
import { tamper } from "./tamper.ts";
import type { TestServer } from "../support/server.ts";

type Params = (string | number | Uint8Array | null)[];

/** Runs a statement on a raw connection of the attacker's, outside the registry. */
async function raw<T>(config: DatabaseConfig, sql: string, params: Params = []): Promise<T[]> {
  let rows: T[] = [];
  await tamper(config, async (t) => {
    rows = await t.query<T>(sql, params);
  });
  return rows;
}

interface HeadRow {
  stream_id: string;
  revision: number;
  hash: string;
}

const FORGED_DATA = JSON.stringify({ key: "approved-by", value: "mallory" });

describe.each(await providers())("a forged event on %s", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => server?.close());

  async function createModel(name: string) {
    const result = await server.gql(
      `mutation($input: CreateRegisteredModelInput!) { createRegisteredModel(input: $input) { __typename ... on RegisteredModelPayload { registeredModel { modelId } } } }`,
      { input: { name } },
    );
    return result.data.createRegisteredModel.registeredModel.modelId as string;
  }

  async function setTag(name: string, value: string) {
    const started = performance.now();
    const result = await server.gql(
      `mutation($input: SetRegisteredModelTagInput!) { setRegisteredModelTag(input: $input) { ${errorSelection("setRegisteredModelTag")} } }`,
      { input: { name, key: "stage-gate", value } },
    );
    expect(result.errors).toBeUndefined();
    return { answer: result.data.setRegisteredModelTag, ms: performance.now() - started };
  }

  async function head(modelId: string): Promise<HeadRow> {
    const rows = await raw<HeadRow>(
      server.database,
      "SELECT stream_id, revision, hash FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1",
      [modelId],
    );
    return { ...rows[0]!, hash: hashOf(rows[0]!.hash) ?? "" };
  }

  async function forge(modelId: string, revision: number, hash: string) {
    // The time as Registro stores it (integer milliseconds on SQLite): only the hash is forged.
    const at = provider === "sqlite" ? Date.parse("2020-01-01T00:00:00.000Z") : "2020-01-01 00:00:00";
    await raw(server.database, ensureEventTypeSql("RegisteredModelTagSet"));
    await raw(server.database, ensureEventActorSql("mallory"));
    await raw(
      server.database,
      `INSERT INTO events (stream_id, revision, type, schema_version, data, actor_ref, occurred_at, hash)
       VALUES (?, ?, ${eventTypeCodeSql("RegisteredModelTagSet")}, 1, ?, ${eventActorRefSql("mallory")}, ?, ?)`,
      [modelId, revision, FORGED_DATA, at, storedHash(hash)],
    );
  }

  it("with a made-up hash: writes to the model answer IntegrityError, every time, and nothing is appended", async () => {
    const modelId = await createModel("forged-hash");
    const before = await head(modelId);
    await forge(modelId, before.revision + 1, "0".repeat(64));

    for (const value of ["a", "b"]) {
      const { answer } = await setTag("forged-hash", value);
      expect(answer).toMatchObject({
        __typename: "IntegrityError",
        code: "INTEGRITY_VIOLATION",
        revision: before.revision + 1,
        reason: expect.stringMatching(/does not match/),
      });
    }
    expect((await head(modelId)).revision).toBe(before.revision + 1);
  });

  it("with a correctly chained hash: the log is ahead of the registry's views, and that is refused too", async () => {
    const modelId = await createModel("forged-chain");
    const before = await head(modelId);
    // The attacker knows the encoding (it is public) and chains the forgery properly.
    const hash = eventHash(
      {
        streamId: modelId,
        revision: before.revision + 1,
        type: "RegisteredModelTagSet",
        schemaVersion: 1,
        data: JSON.parse(FORGED_DATA),
        actor: "mallory",
        actorId: null,
        actorKind: null,
        actorCredential: null,
        occurredAt: new Date("2020-01-01T00:00:00.000Z"),
        correlationId: null,
        causationId: null,
      },
      before.hash,
    );
    await forge(modelId, before.revision + 1, hash);
    const { answer } = await setTag("forged-chain", "x");
    expect(answer).toMatchObject({
      __typename: "IntegrityError",
      revision: before.revision + 1,
      reason: expect.stringMatching(/outside Registro/),
    });
  });

  it("out of order (a revision gap): refused with what is wrong", async () => {
    const modelId = await createModel("forged-gap");
    const before = await head(modelId);
    await forge(modelId, before.revision + 5, "1".repeat(64));
    const { answer } = await setTag("forged-gap", "x");
    expect(answer).toMatchObject({
      __typename: "IntegrityError",
      reason: expect.stringMatching(
        new RegExp(`revision ${before.revision + 5} follows revision ${before.revision}`),
      ),
    });
  });

  it("other models stay writable and the broken one stays readable", async () => {
    await createModel("untouched");
    expect((await setTag("untouched", "ok")).answer.__typename).toBe("RegisteredModelPayload");
    const read = await server.gql(`{ registeredModel(name: "forged-hash") { name revision } }`);
    expect(read.errors).toBeUndefined();
    expect(read.data.registeredModel.name).toBe("forged-hash");
  });

  it("/readyz reports the broken streams (degraded, still serving) and /metrics counts them", async () => {
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    const report = await ready.json();
    expect(report.status).toBe("degraded");
    expect(report.checks.database.ok).toBe(true);
    expect(report.checks.eventLog.ok).toBe(false);
    expect(report.checks.eventLog.streams).toHaveLength(3);

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^registro_event_log_broken_streams 3$/m);
    expect(metrics).toMatch(/^registro_event_log_refused_commands_total 4$/m);
  });
});

describe("/readyz on a sound registry", () => {
  it("answers ok", async () => {
    const server = await startTestServer("sqlite");
    try {
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ok", checks: { eventLog: { ok: true } } });
      expect((await fetch(`${server.url}/readyz`, { method: "POST" })).status).toBe(405);
    } finally {
      await server.close();
    }
  });
});
