// A running server keeps answering queries and mutations while `projections:rebuild` replays into
// shadow tables and swaps them in, and answers from the new tables afterwards: on SQLite its
// prepared statements recompile after the schema change, on PostgreSQL it addresses tables by name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { providers } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const CREATE = `mutation($name: String!) {
  createRegisteredModel(input: { name: $name }) { __typename }
}`;
const SET_TAG = `mutation($name: String!, $key: String!) {
  setRegisteredModelTag(input: { name: $name, key: $key, value: "v" }) { __typename }
}`;
const READ = `query($name: String!) { registeredModel(name: $name) { name tags { key value } } }`;

describe.each(await providers())("a server during an online rebuild on %s", (provider) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(provider);
  });
  afterAll(async () => {
    await server?.close();
  });

  it("answers queries and mutations before, during and after the swap", { timeout: 120_000 }, async () => {
    for (let i = 0; i < 30; i += 1) {
      const created = await server.gql(CREATE, { name: `live-${i}` });
      expect(created.data?.createRegisteredModel.__typename).toBe("RegisteredModelPayload");
    }
    let running = true;
    let tags = 0;
    const failures: unknown[] = [];
    const client = (async () => {
      while (running) {
        const name = `live-${tags % 30}`;
        const set = await server.gql(SET_TAG, { name, key: `k${tags}` });
        if (set.data?.setRegisteredModelTag.__typename !== "RegisteredModelPayload") failures.push(set);
        tags += 1;
        const read = await server.gql(READ, { name });
        if (
          read.errors ||
          !read.data?.registeredModel.tags.some((t: { key: string }) => t.key === `k${tags - 1}`)
        )
          failures.push(read);
      }
    })();
    const summary = await rebuildProjections(server.registro.db, {
      onFilled: async () => {
        const at = tags;
        while (tags < at + 3) await new Promise((resolve) => setTimeout(resolve, 5));
      },
    });
    const atSwap = tags;
    while (tags < atSwap + 3) await new Promise((resolve) => setTimeout(resolve, 5));
    running = false;
    await client;

    expect(failures).toEqual([]);
    expect(summary.breaks).toEqual([]);
    const after = await server.gql(READ, { name: "live-0" });
    expect(after.data?.registeredModel.tags.length).toBe(Math.ceil(tags / 30));
    const dump = await dumpProjections(server.registro.db.reader);
    expect(dump.registeredModelTags).toHaveLength(tags);
    await rebuildProjections(server.registro.db);
    expect(await dumpProjections(server.registro.db.reader)).toEqual(dump);
  });
});
