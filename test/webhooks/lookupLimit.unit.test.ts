// Webhook host lookups run on libuv's thread pool, which file I/O shares: at most two of them run at
// once, a lookup waiting for its turn leaves when its deadline passes, and one that outlives its
// deadline keeps its place until the system resolver answers.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  EMPTY_ALLOW_LIST,
  MAX_SYSTEM_LOOKUPS,
  limitLookups,
  resolveTarget,
} from "../../src/webhooks/delivery/targetGuard.ts";
import type { Resolver } from "../../src/webhooks/delivery/targetGuard.ts";

type Answer = { address: string; family: number }[];

/** getaddrinfo as a test drives it: every call waits until the test answers it. */
const pending: { host: string; answer: (addresses: Answer) => void }[] = [];
vi.mock("node:dns/promises", () => ({
  lookup: vi.fn((host: string) => new Promise<Answer>((answer) => pending.push({ host, answer }))),
}));

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => {
  for (const lookup of pending.splice(0)) lookup.answer([{ address: "93.184.216.34", family: 4 }]);
});

describe("the system resolver of webhooks", () => {
  it(`runs at most ${MAX_SYSTEM_LOOKUPS} lookups at once; the others wait, and give up at their deadline`, async () => {
    const outcomes = ["a", "b", "c", "d"].map((name) =>
      resolveTarget(new URL(`http://${name}.example/`), EMPTY_ALLOW_LIST, undefined, 50),
    );
    await flush();
    expect(pending.map((p) => p.host)).toEqual(["a.example", "b.example"]);
    // Past the deadline every caller is answered, the two whose lookups still run included.
    for (const outcome of await Promise.all(outcomes))
      expect(outcome).toEqual({ refused: expect.stringMatching(/did not resolve within 50 ms$/) });
    // The two waiting left the queue: answering a running lookup starts no other.
    pending.shift()!.answer([{ address: "93.184.216.34", family: 4 }]);
    await flush();
    expect(pending.map((p) => p.host)).toEqual(["b.example"]);
    // The freed place is taken by the next lookup asked for.
    const next = resolveTarget(new URL("http://e.example/"), EMPTY_ALLOW_LIST, undefined, 5_000);
    await flush();
    expect(pending.map((p) => p.host)).toEqual(["b.example", "e.example"]);
    pending.pop()!.answer([{ address: "93.184.216.34", family: 4 }]);
    expect(await next).toEqual({ address: "93.184.216.34", family: 4 });
  });
});

describe("limitLookups", () => {
  it("starts a waiting lookup when a running one settles, rejected or not, in the order asked", async () => {
    const calls: { host: string; settle: (error?: Error) => void }[] = [];
    const slow: Resolver = (host) =>
      new Promise((resolve, reject) =>
        calls.push({
          host,
          settle: (error) => (error ? reject(error) : resolve([{ address: "192.0.2.1", family: 4 }])),
        }),
      );
    const limited = limitLookups(slow, 1);
    const first = limited("one");
    const second = limited("two");
    const third = limited("three");
    await flush();
    expect(calls.map((c) => c.host)).toEqual(["one"]);
    calls[0]!.settle(new Error("ENOTFOUND"));
    await expect(first).rejects.toThrow("ENOTFOUND");
    await flush();
    expect(calls.map((c) => c.host)).toEqual(["one", "two"]);
    calls[1]!.settle();
    await second;
    await flush();
    calls[2]!.settle();
    expect(await third).toEqual([{ address: "192.0.2.1", family: 4 }]);
  });

  it("refuses a lookup whose signal has already aborted, without running it", async () => {
    const resolver = vi.fn<Resolver>(() => Promise.resolve([]));
    const limited = limitLookups(resolver, 1);
    await expect(limited("x", AbortSignal.abort(new Error("late")))).rejects.toThrow("late");
    expect(resolver).not.toHaveBeenCalled();
  });
});
