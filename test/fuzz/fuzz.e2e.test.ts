// A bounded fuzz run on every `npm test`, on both providers: hostile HTTP requests of every class
// issue #8 names (malformed JSON, wrong content types, megabyte strings, deep nesting, many aliases,
// NUL and control characters, invalid cursors and ranges, path tricks, bogus digests, oversized
// headers, cross-site forms) and garbage WebSocket sessions. The server must answer every one
// below 500, never hang, never let a cross-site form write, and afterwards still be whole: the
// process's Object.prototype untouched, the seeded artifact served with its digest, writes working.
// `npm run fuzz` runs the same generators 20,000 times against a child-process server.
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { parse, validate } from "graphql";
import { schema } from "../../src/graphql/schema.ts";
import { seededRandom } from "../support/random.ts";
import { MUTATIONS, QUERIES } from "./hostileRequests.ts";
import { seedFuzzTarget } from "./fuzzTarget.ts";
import { runFuzz } from "./runFuzz.ts";

const COUNT = Number(process.env.FUZZ_COUNT ?? 800);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_202);

describe("the fuzz generators", () => {
  it("aim their GraphQL operations at the schema as it is (an invalid one only tests the validator)", () => {
    const r = seededRandom(1);
    const targets = { model: "m", version: 1, artifactPath: "a.bin", artifactSize: 1 };
    for (const make of [...MUTATIONS, ...QUERIES]) {
      const { query } = make(r, targets);
      expect(validate(schema, parse(query)), query).toEqual([]);
    }
  });
});

describe.each(await providers())("fuzzing the server on %s", (provider) => {
  let server: TestServer;
  let target: Awaited<ReturnType<typeof seedFuzzTarget>>;
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  beforeAll(async () => {
    server = await startTestServer(provider, { artifacts: { maxArtifactBytes: 8 * 1024 * 1024 } });
    target = await seedFuzzTarget(server.url);
  });
  afterAll(async () => server?.close());
  // The console spy goes even when an assertion fails before its own restore: the next test file in
  // this worker shares the console.
  afterEach(() => vi.restoreAllMocks());

  it(
    `answers ${COUNT} hostile requests and WebSocket sessions without a 5xx, a hang or a leak`,
    { timeout: 240_000 },
    async () => {
      // Garbage frames are the client's error: nothing may report them as the server's own.
      const consoleError = vi.spyOn(console, "error");
      const report = await runFuzz({
        port: Number(new URL(server.url).port),
        targets: target,
        count: COUNT,
        seed: SEED + (provider === "postgresql" ? 1 : 0),
        requireErrorCodes: true,
        onBatch: () => {
          // Checked between batches, so a pollution is caught near the request that caused it.
          expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      });
      expect(report.failures).toEqual([]);
      expect(consoleError.mock.calls.map((args) => String(args[0]))).toEqual([]);
      consoleError.mockRestore();
      expect(report.requests).toBe(COUNT);
      expect(report.webSocketSessions).toBeGreaterThan(0);
      // Every class was exercised.
      expect(Object.keys(report.byKind).length).toBeGreaterThanOrEqual(10);
    },
  );

  it("holds nothing for finished requests: no subscriber, body watch or upload slot outlives its connection", async () => {
    const { registro } = server;
    const settled = () =>
      registro.liveEvents.hub.subscriberCount === 0 &&
      registro.bodyDeadline.watching === 0 &&
      registro.uploads.active === 0;
    for (let i = 0; i < 100 && !settled(); i++) await new Promise((r) => setTimeout(r, 100));
    expect({
      subscribers: registro.liveEvents.hub.subscriberCount,
      bodyWatches: registro.bodyDeadline.watching,
      uploadSlots: registro.uploads.active,
    }).toEqual({ subscribers: 0, bodyWatches: 0, uploadSlots: 0 });
  });

  it("is still whole afterwards: the artifact downloads intact, writes work, no upload left a temp file", async () => {
    const download = await fetch(
      `${server.url}/artifacts/${encodeURIComponent(target.model)}/1/${target.artifactPath}`,
    );
    expect(download.status).toBe(200);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(target.sha256);

    const created = await server.gql(
      `mutation { createRegisteredModel(input: { name: "after-fuzz" }) { __typename } }`,
    );
    expect(created.data?.createRegisteredModel).toEqual({ __typename: "RegisteredModelPayload" });

    const tmp = path.join(server.dataDir, "blobs", "tmp");
    const leftovers = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory()
          ? leftovers(path.join(dir, entry.name))
          : entry.name.endsWith(".part")
            ? [entry.name]
            : [],
      );
    // Uploads cut short finish their cleanup asynchronously; give them a moment.
    for (let i = 0; i < 50 && leftovers(tmp).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(leftovers(tmp)).toEqual([]);
  });
});
