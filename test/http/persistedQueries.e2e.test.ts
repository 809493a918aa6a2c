// Automatic persisted queries over HTTP (POST and GET): a hash alone is answered
// PERSISTED_QUERY_NOT_FOUND until the document has been sent with it once; a hash that is not the
// document's is refused and stores nothing; the store keeps documents only within its text bound.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PersistedQueryStore } from "../../src/http/persistedQueries.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

describe("automatic persisted queries", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("sqlite");
  });
  afterAll(async () => server?.close());

  async function post(body: Record<string, unknown>) {
    const response = await fetch(server.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  it("asks for the document once, then answers the hash alone, over POST and GET", async () => {
    const query = "{ registeredModels(first: 1) { nodes { name } } }";
    const hash = sha256(query);
    const first = await post({ extensions: persisted(hash) });
    expect(first.status).toBe(404);
    expect(first.body.errors[0].extensions.code).toBe("PERSISTED_QUERY_NOT_FOUND");

    const registered = await post({ query, extensions: persisted(hash) });
    expect(registered).toEqual({ status: 200, body: { data: { registeredModels: { nodes: [] } } } });

    const byHash = await post({ extensions: persisted(hash) });
    expect(byHash).toEqual({ status: 200, body: { data: { registeredModels: { nodes: [] } } } });
    const url = `${server.graphqlUrl}?extensions=${encodeURIComponent(JSON.stringify(persisted(hash)))}`;
    // GET, like every GET of /graphql, carries the CSRF header (docs/security.md).
    const get = await fetch(url, {
      headers: { accept: "application/graphql-response+json", "x-registro-csrf": "1" },
    });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { registeredModels: { nodes: [] } } });
  });

  it("refuses a hash that is not the document's, and keeps nothing under it", async () => {
    const query = "{ viewer { displayName } }";
    const wrong = sha256("{ __typename }");
    const mismatch = await post({ query, extensions: persisted(wrong) });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.errors[0].extensions.code).toBe("PERSISTED_QUERY_MISMATCH");
    const planted = await post({ extensions: persisted(wrong) });
    expect(planted.body.errors[0].extensions.code).toBe("PERSISTED_QUERY_NOT_FOUND");
  });
});

describe("PersistedQueryStore", () => {
  it("bounds the text it keeps, evicting the least recently used, and skips oversized documents", () => {
    const store = new PersistedQueryStore({ maxDocumentLength: 10, maxTotalLength: 20 });
    store.set("a", "aaaaaaaaa"); // 9
    store.set("b", "bbbbbbbbb"); // 18
    expect(store.get("a")).toBe("aaaaaaaaa"); // a is now the most recent
    store.set("c", "ccccccccc"); // 27 > 20: evicts b
    expect(store.get("b")).toBeNull();
    expect(store.get("a")).toBe("aaaaaaaaa");
    expect(store.get("c")).toBe("ccccccccc");
    store.set("d", "x".repeat(11));
    expect(store.get("d")).toBeNull();
    expect(store.size).toBe(2);
  });
});
