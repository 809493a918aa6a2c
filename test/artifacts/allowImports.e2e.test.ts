// INSPECTION_ALLOW_IMPORTS end to end: a server started without it finds a pickle of an own class
// SUSPICIOUS and says how to accept it; the same data directory restarted with the setting
// re-inspects the same bytes to SAFE, with an INFO finding naming the entry, and the two recorded
// inspections carry different inspector versions.
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INSPECTOR_VERSION } from "../../src/inspection/version.ts";
import { startServerProcess } from "../support/serverProcess.ts";
import type { ServerProcess } from "../support/serverProcess.ts";

const PICKLE = readFileSync(
  fileURLToPath(new URL("../fixtures/inspection/files/unknown_global_p3.pkl", import.meta.url)),
);
const ARTIFACT = "path verdict metadata findings { severity message location }";

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), "registro-allow-imports-"));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function stop(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = once(server.child, "exit");
  server.child.kill("SIGTERM");
  await exited;
}

async function gql(server: ServerProcess, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, any>; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data!;
}

describe("INSPECTION_ALLOW_IMPORTS", () => {
  it("turns an own class from SUSPICIOUS into SAFE on re-inspection, recorded with the entry and the list's fingerprint", async () => {
    const settings = { DATA_DIR: dataDir, LOG_LEVEL: "warn", INSPECTION_WORKERS: "1" };
    const name = "own classes";

    const before = await startServerProcess(settings);
    try {
      await gql(
        before,
        `mutation($n: String!) { createRegisteredModel(input: { name: $n }) { __typename } }`,
        { n: name },
      );
      const created = await gql(
        before,
        `mutation($n: String!) { createModelVersion(input: { name: $n, source: "s3://b/x", pendingArtifacts: true }) { __typename } }`,
        { n: name },
      );
      expect(created.createModelVersion.__typename).toBe("ModelVersionPayload");
      const put = await fetch(`${before.url}/artifacts/${encodeURIComponent(name)}/1/model.pkl`, {
        method: "PUT",
        body: new Uint8Array(PICKLE),
      });
      expect(put.status).toBe(201);
      const v = await gql(
        before,
        `query($n: String!) { modelVersion(name: $n, version: 1) { artifacts { ${ARTIFACT} } } }`,
        {
          n: name,
        },
      );
      const artifact = v.modelVersion.artifacts[0];
      expect(artifact.verdict).toBe("SUSPICIOUS");
      expect(artifact.findings).toHaveLength(1);
      expect(artifact.findings[0].message).toContain(
        "Pickle imports mylib.helpers.Thing, which is not on the allow-list",
      );
      expect(artifact.findings[0].message).toContain(
        "add `mylib.helpers.Thing` (or `mylib.*` to accept every CamelCase class of that package) to the server setting INSPECTION_ALLOW_IMPORTS",
      );
      expect(artifact.findings[0].message).toContain("inspectModelVersionArtifacts");
    } finally {
      await stop(before);
    }

    const after = await startServerProcess({
      ...settings,
      INSPECTION_ALLOW_IMPORTS: "mylib.*, other.pkg.Model",
    });
    try {
      const again = await gql(
        after,
        `mutation($n: String!) { inspectModelVersionArtifacts(input: { name: $n, version: 1 }) {
           __typename ... on ModelVersionPayload { modelVersion { artifacts { ${ARTIFACT} } } } } }`,
        { n: name },
      );
      expect(again.inspectModelVersionArtifacts.__typename).toBe("ModelVersionPayload");
      const artifact = again.inspectModelVersionArtifacts.modelVersion.artifacts[0];
      expect(artifact.verdict).toBe("SAFE");
      expect(artifact.findings).toEqual([
        {
          severity: "INFO",
          message: expect.stringContaining(
            "Pickle imports mylib.helpers.Thing, accepted by INSPECTION_ALLOW_IMPORTS entry mylib.*",
          ),
          location: "model.pkl@offset 2",
        },
      ]);
      expect(artifact.metadata.allowImports).toEqual({
        fingerprint: expect.stringMatching(/^[0-9a-f]{12}$/),
        entriesUsed: ["mylib.*"],
      });
      // History tells the two inspections apart by the rules and list they ran under.
      const h = await gql(
        after,
        `query($n: String!) { history(name: $n, first: 50) { nodes { type data } } }`,
        { n: name },
      );
      const versions = h.history.nodes
        .filter((e: { type: string }) => e.type === "ModelVersionArtifactInspected")
        .map((e: { data: { verdict: string; inspector: { version: string } } }) => [
          e.data.verdict,
          e.data.inspector.version,
        ]);
      expect(versions).toHaveLength(2);
      expect(versions).toEqual(
        expect.arrayContaining([
          ["SUSPICIOUS", INSPECTOR_VERSION],
          ["SAFE", `${INSPECTOR_VERSION}+allow-imports.${artifact.metadata.allowImports.fingerprint}`],
        ]),
      );
    } finally {
      await stop(after);
    }
  }, 120_000);
});
