// What the client tests observe besides results: the requests a client sends, and what it warns.
import { format } from "node:util";
import { vi } from "vitest";

export interface Exchange {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  /** The parsed JSON body of a POST, else null. */
  readonly body: any;
  readonly status: number;
  readonly answer: any;
}

/** A fetch that records what it sends and what it is answered, for assertions on the wire. */
export function recordingFetch() {
  const exchanges: Exchange[] = [];
  const recorder: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    exchanges.push({
      method: init?.method ?? "GET",
      url: input instanceof Request ? input.url : String(input),
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? JSON.parse(init.body) : null,
      status: response.status,
      answer: await response.clone().json(),
    });
    return response;
  };
  return { fetch: recorder, exchanges };
}

/** Runs `action`, returning what was logged through console.warn meanwhile (kept out of the test output). */
export async function warningsDuring<T>(action: () => Promise<T>): Promise<[T, string[]]> {
  const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
  try {
    const result = await action();
    return [result, warn.mock.calls.map((args) => format(...args))];
  } finally {
    warn.mockRestore();
  }
}
