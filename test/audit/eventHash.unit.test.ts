// The chain's encoding is a contract with every event ever stored: a change to it would break every
// existing chain. A fixed vector pins it; the rest checks what the hash must and must not depend on.
import canonicalize from "canonicalize";
import { describe, expect, it } from "vitest";
import { ChainVerifier } from "../../src/audit/chainVerifier.ts";
import type { ChainedEvent } from "../../src/audit/chainVerifier.ts";
import { CHAIN_ENCODING, canonicalEventText, eventHash } from "../../src/audit/eventHash.ts";
import type { HashedEventFields } from "../../src/audit/eventHash.ts";

const event: HashedEventFields = {
  streamId: "0b9e4a5e-7f3c-4c1e-9a56-2d0c1f5e8a11",
  revision: 1,
  type: "RegisteredModelCreated",
  schemaVersion: 2,
  data: {
    name: "fraud-detector",
    modelId: "0b9e4a5e",
    description: "",
    tags: { team: "risk" },
    creatorId: "p-1",
  },
  actor: "alice",
  actorId: "p-1",
  actorKind: "USER",
  actorCredential: { kind: "TOKEN", tokenId: "t-1" },
  occurredAt: new Date("2026-12-02T10:00:00.123Z"),
  correlationId: "req-1",
  causationId: null,
};

describe("eventHash", () => {
  it("is pinned: the canonical text and its SHA-256 never change for the same event", () => {
    expect(canonicalEventText(event, null)).toBe(
      '{"actor":{"credential":{"kind":"TOKEN","tokenId":"t-1"},"id":"p-1","kind":"USER","name":"alice"},"causationId":null,"correlationId":"req-1","data":{"creatorId":"p-1","description":"","modelId":"0b9e4a5e","name":"fraud-detector","tags":{"team":"risk"}},"encoding":"registro.event.v1","occurredAt":"2026-12-02T10:00:00.123Z","previousHash":null,"revision":1,"schemaVersion":2,"streamId":"0b9e4a5e-7f3c-4c1e-9a56-2d0c1f5e8a11","type":"RegisteredModelCreated"}',
    );
    expect(eventHash(event, null)).toBe("0198535888a585989c40d7eacf6ada3425b9cac95219038dae10b700bcd98d3e");
    expect(eventHash(event, null)).toBe(eventHash({ ...event }, null));
  });

  it("does not depend on the order of the payload's keys (PostgreSQL's jsonb reorders them)", () => {
    const reordered = {
      ...event,
      data: {
        tags: { team: "risk" },
        creatorId: "p-1",
        description: "",
        modelId: "0b9e4a5e",
        name: "fraud-detector",
      },
    };
    expect(eventHash(reordered, null)).toBe(eventHash(event, null));
  });

  it.each([
    ["the payload", { data: { name: "other" } }],
    ["the actor", { actor: "mallory" }],
    ["the actor's credential", { actorCredential: null }],
    ["the time", { occurredAt: new Date("2026-12-02T10:00:00.124Z") }],
    ["the revision", { revision: 2 }],
    ["the stream", { streamId: "another" }],
    ["the type", { type: "RegisteredModelDeleted" }],
    ["the schema version", { schemaVersion: 1 }],
    ["the correlation id", { correlationId: null }],
  ])("changes with %s", (_what, change) => {
    expect(eventHash({ ...event, ...change }, null)).not.toBe(eventHash(event, null));
  });

  it("changes with the previous hash: each event vouches for all before it", () => {
    expect(eventHash(event, "a".repeat(64))).not.toBe(eventHash(event, null));
  });
});

describe("ChainVerifier", () => {
  function chain(streamId: string, length: number, firstPosition = 1): ChainedEvent[] {
    const events: ChainedEvent[] = [];
    let previous: string | null = null;
    for (let revision = 1; revision <= length; revision++) {
      const fields = { ...event, streamId, revision, data: { n: revision } };
      const hash = eventHash(fields, previous);
      events.push({ ...fields, position: firstPosition + revision * 2, hash });
      previous = hash;
    }
    return events;
  }

  it("accepts intact chains of several streams, one after another", () => {
    const verifier = new ChainVerifier();
    for (const e of [...chain("a", 3), ...chain("b", 4, 100)]) expect(verifier.next(e)).toBeNull();
  });

  it("reports an altered payload at the altered event", () => {
    const events = chain("a", 4);
    events[2] = { ...events[2]!, data: { n: 99 } };
    const verifier = new ChainVerifier();
    const breaks = events.map((e) => verifier.next(e));
    expect(breaks.slice(0, 2)).toEqual([null, null]);
    expect(breaks[2]).toMatchObject({
      streamId: "a",
      revision: 3,
      reason: expect.stringMatching(/does not match/),
    });
  });

  it("reports a removed event as a revision gap", () => {
    const events = chain("a", 4);
    const verifier = new ChainVerifier();
    const breaks = [events[0]!, events[2]!].map((e) => verifier.next(e));
    expect(breaks[1]).toMatchObject({ revision: 3, reason: "revision 3 follows revision 1" });
  });

  it("reports an event whose position is not after its predecessor's (inserted out of order)", () => {
    const events = chain("a", 2);
    const verifier = new ChainVerifier();
    expect(verifier.next(events[0]!)).toBeNull();
    expect(verifier.next({ ...events[1]!, position: 1 })).toMatchObject({
      reason: expect.stringMatching(/out of order/),
    });
  });

  it("reports a missing hash", () => {
    const verifier = new ChainVerifier();
    expect(verifier.next({ ...chain("a", 1)[0]!, hash: null })).toMatchObject({
      reason: expect.stringMatching(/no chain hash/),
    });
  });

  it("resumes from a trusted head", () => {
    const events = chain("a", 3);
    const verifier = new ChainVerifier();
    verifier.resume({ streamId: "a", revision: 2, position: events[1]!.position, hash: events[1]!.hash! });
    expect(verifier.next(events[2]!)).toBeNull();
  });
});

describe("canonicalEventText", () => {
  // The encoding as first written: the library over the whole object. The hand-written envelope must
  // give the same bytes for anything an event can hold, or stored chains stop verifying.
  const reference = (fields: HashedEventFields, previousHash: string | null) =>
    canonicalize({
      encoding: CHAIN_ENCODING,
      streamId: fields.streamId,
      revision: fields.revision,
      type: fields.type,
      schemaVersion: fields.schemaVersion,
      data: fields.data,
      actor: {
        name: fields.actor,
        id: fields.actorId,
        kind: fields.actorKind,
        credential: fields.actorCredential ?? null,
      },
      occurredAt: fields.occurredAt.toISOString(),
      correlationId: fields.correlationId,
      causationId: fields.causationId,
      previousHash,
    });

  function random(seed: number) {
    let a = seed;
    const next = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const int = (n: number) => Math.floor(next() * n);
    const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
    // ASCII, escapes and controls, Latin, CJK, astral pairs, U+2028/2029 and code units around sorting edges.
    const codePoint = () =>
      pick([
        () => 0x20 + int(0x5f),
        () => int(0x20),
        () => pick([0x22, 0x5c, 0x2f, 0x7f, 0x2028, 0x2029, 0xfeff, 0xffff, 0xe000]),
        () => 0xa0 + int(0x700),
        () => 0x4e00 + int(0x5000),
        () => 0x10000 + int(0xfffff),
      ])();
    const string = () => String.fromCodePoint(...Array.from({ length: int(12) }, codePoint));
    const number = () =>
      pick([
        () => int(1000) - 500,
        () => (next() - 0.5) * 10 ** (int(40) - 20),
        () => (next() - 0.5) * 10 ** (int(600) - 300),
        () => pick([0, -0, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, 0.1 + 0.2]),
        () => Math.round(next() * 1e6) / 1e3,
      ])();
    const value = (depth: number): unknown => {
      const kind = int(depth > 3 ? 5 : 9);
      if (kind === 0) return null;
      if (kind === 1) return next() < 0.5;
      if (kind === 2 || kind === 3) return number();
      if (kind === 4) return string();
      if (kind === 5) return undefined;
      if (kind === 6) return new Date(int(4e12));
      if (kind === 7) return Array.from({ length: int(5) }, () => value(depth + 1));
      const object: Record<string, unknown> = {};
      for (let i = int(7); i > 0; i--)
        Object.defineProperty(object, string(), {
          value: value(depth + 1),
          enumerable: true,
          writable: true,
        });
      return object;
    };
    const maybe = <T>(make: () => T): T | null | undefined =>
      pick([null, undefined, make(), make()] as const);
    const fields = (): HashedEventFields => ({
      streamId: string(),
      revision: pick([1, int(1e6), number()]),
      type: string(),
      schemaVersion: pick([1, 2, int(100)]),
      data: value(0),
      actor: string(),
      actorId: maybe(string) as string | null,
      actorKind: maybe(string) as string | null,
      actorCredential: maybe(() => value(1)),
      occurredAt: new Date(int(8.64e15) * (next() < 0.5 ? -1 : 1)),
      correlationId: maybe(string) as string | null,
      causationId: maybe(string) as string | null,
    });
    return { fields, previousHash: () => (next() < 0.2 ? null : next() < 0.9 ? "ab".repeat(32) : string()) };
  }

  it("writes the same bytes as canonicalize over the whole event, for 20,000 random events", () => {
    const corpus = random(8785);
    let compared = 0;
    for (let i = 0; i < 20_000; i++) {
      const fields = corpus.fields();
      const previousHash = corpus.previousHash();
      let expected: string | undefined;
      try {
        expected = reference(fields, previousHash);
      } catch (error) {
        // What the library refuses (lone surrogates, NaN, cycles) is refused alike.
        expect(() => canonicalEventText(fields, previousHash)).toThrow((error as Error).message);
        continue;
      }
      expect(canonicalEventText(fields, previousHash)).toBe(expected);
      compared += 1;
    }
    expect(compared).toBeGreaterThan(15_000);
  });

  it("refuses what the library refuses", () => {
    const loneSurrogate = { ...event, data: { note: "\ud800" } };
    expect(() => canonicalEventText(loneSurrogate, null)).toThrow("Lone surrogate");
    const notANumber = { ...event, revision: Number.NaN };
    expect(() => canonicalEventText(notANumber, null)).toThrow("NaN");
  });
});
