// The chain's encoding is a contract with every event ever stored: a change to it would break every
// existing chain. A fixed vector pins it; the rest checks what the hash must and must not depend on.
import { describe, expect, it } from "vitest";
import { ChainVerifier } from "../../src/audit/chainVerifier.ts";
import type { ChainedEvent } from "../../src/audit/chainVerifier.ts";
import { canonicalEventText, eventHash } from "../../src/audit/eventHash.ts";
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
