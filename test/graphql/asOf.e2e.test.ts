// Audit questions answered from history: what a model looked like at a past moment.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

const pause = () => new Promise((resolve) => setTimeout(resolve, 15));

const AS_OF = `query($name: String!, $at: DateTime!) {
  registeredModelAsOf(name: $name, at: $at) {
    name deleted revision tags { key value }
    production: versions(stage: PRODUCTION) { version aliases modelVersion { stage } }
    versions { version stage aliases }
  }
}`;

describe.each(await providers())("registeredModelAsOf on %s", (provider) => {
  let server: TestServer;
  const moments: Record<string, string> = {};
  const mark = async (label: string) => {
    await pause();
    moments[label] = new Date().toISOString();
    await pause();
  };
  const run = async (query: string) => {
    const result = await server.gql(query);
    expect(result.errors).toBeUndefined();
  };

  beforeAll(async () => {
    server = await startTestServer(provider);
    await mark("beforeCreation");
    await run(
      `mutation { createRegisteredModel(input: { name: "audited", tags: [{ key: "team", value: "risk" }] }) { __typename } }`,
    );
    await run(`mutation { createModelVersion(input: { name: "audited", source: "s3://1" }) { __typename } }`);
    await run(`mutation { createModelVersion(input: { name: "audited", source: "s3://2" }) { __typename } }`);
    await run(
      `mutation { transitionModelVersionStage(input: { name: "audited", version: 1, stage: PRODUCTION }) { __typename } }`,
    );
    await run(
      `mutation { setRegisteredModelAlias(input: { name: "audited", version: 1, alias: "champion" }) { __typename } }`,
    );
    await mark("v1InProduction");
    await run(
      `mutation { transitionModelVersionStage(input: { name: "audited", version: 2, stage: PRODUCTION, archiveExistingVersions: true }) { __typename } }`,
    );
    await run(
      `mutation { setRegisteredModelAlias(input: { name: "audited", version: 2, alias: "champion" }) { __typename } }`,
    );
    await run(
      `mutation { renameRegisteredModel(input: { name: "audited", newName: "audited-v2" }) { __typename } }`,
    );
    await mark("afterRename");
  });
  afterAll(async () => server?.close());

  it("answers which version was in Production at a past moment, under the name it had then", async () => {
    const then = await server.gql(AS_OF, { name: "audited-v2", at: moments.v1InProduction });
    expect(then.data.registeredModelAsOf).toEqual({
      name: "audited",
      deleted: false,
      revision: 5,
      tags: [{ key: "team", value: "risk" }],
      production: [{ version: 1, aliases: ["champion"], modelVersion: { stage: "ARCHIVED" } }],
      versions: [
        { version: 2, stage: "NONE", aliases: [] },
        { version: 1, stage: "PRODUCTION", aliases: ["champion"] },
      ],
    });
    const now = await server.gql(AS_OF, { name: "audited-v2", at: moments.afterRename });
    expect(now.data.registeredModelAsOf).toMatchObject({
      name: "audited-v2",
      revision: 8,
      production: [{ version: 2, aliases: ["champion"] }],
    });
  });

  it("is null before the model existed, and for unknown names", async () => {
    const before = await server.gql(AS_OF, { name: "audited-v2", at: moments.beforeCreation });
    expect(before.data.registeredModelAsOf).toBeNull();
    const unknown = await server.gql(AS_OF, { name: "nope", at: moments.afterRename });
    expect(unknown.data.registeredModelAsOf).toBeNull();
    const invalid = await server.gql(AS_OF, { name: "audited-v2", at: "not a date" });
    expect(invalid.errors?.[0]?.message).toMatch(/DateTime/);
  });
});
