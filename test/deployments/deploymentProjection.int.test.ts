// The model_version_deployments projection through the application on both providers: what the
// inline projection writes for deploy, redeploy, canary, retire and deploy-again; the decision state
// it loads back (a repeated record and a retried retirement append nothing, a retired pair is
// recorded anew, deletion sees the active deployments); and a rebuild that reproduces it all from
// the log after the table was damaged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { executeCommand } from "../../src/application/executeCommand.ts";
import { ActiveDeploymentError } from "../../src/deployments/domain/errors.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { actor, commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";

const deploy = (version: number, environment: string, endpoint: string): RegisteredModelCommand => ({
  type: "RecordModelVersionDeployment",
  data: { version, environment, endpoint, description: null },
});
const retire = (
  version: number,
  environment: string,
  reason: string | null = null,
): RegisteredModelCommand => ({
  type: "RetireModelVersionDeployment",
  data: { version, environment, reason },
});

describe.each(await providers())("the model_version_deployments projection on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  let deps: CommandDeps;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
    let tick = Date.parse("2026-03-01T00:00:00Z");
    deps = { ...commandDeps(t.db), clock: () => new Date((tick += 1000)) };
  });
  afterAll(async () => {
    await t?.close();
  });

  const on = (command: RegisteredModelCommand) => run(deps, live("served"), command);

  it("projects every change inline, decides from it, and rebuilds it from the log", async () => {
    await createModelNamed(deps, "model-served", "served");
    for (let i = 0; i < 3; i++) await on(createVersion());
    await on(deploy(1, "prod-eu", "https://eu.example/a"));
    expect((await on(deploy(1, "prod-eu", "https://eu.example/a"))).events).toEqual([]);
    await on(deploy(1, "prod-eu", "https://eu.example/b"));
    await on(deploy(2, "prod-eu", "https://eu.example/canary"));
    await on(deploy(3, "staging", "https://staging.example/"));
    await on(retire(2, "prod-eu", "canary failed"));
    expect((await on(retire(2, "prod-eu"))).events).toEqual([]);
    await on(retire(3, "staging"));
    const again = await on(deploy(3, "staging", "https://staging.example/"));
    expect(again.events.map((e) => e.type)).toEqual(["ModelVersionDeployed"]);

    const refused = await executeCommand(
      deps,
      live("served"),
      { type: "DeleteModelVersion", data: { version: 1 } },
      actor,
    );
    expect(refused).toBeInstanceOf(ActiveDeploymentError);
    expect(refused).toMatchObject({ version: 1, environments: ["prod-eu"] });
    await on({ type: "DeleteModelVersion", data: { version: 2 } });

    const inline = await dumpProjections(t.db.reader);
    const rows = inline.modelVersionDeployments!.map((r) => [
      r.environment,
      r.version,
      r.endpoint,
      r.active,
      r.retireReason,
      r.retiredAt === null,
    ]);
    expect(rows).toEqual([
      ["prod-eu", 1, "https://eu.example/b", true, null, true],
      ["prod-eu", 2, "https://eu.example/canary", false, "canary failed", false],
      ["staging", 3, "https://staging.example/", true, null, true],
    ]);
    // The deployment rows keep who deployed (the actor JSON) and when: the sixth append (the repeated record appended nothing).
    expect(JSON.parse(inline.modelVersionDeployments![0]!.deployedBy as string)).toMatchObject({
      displayName: "tester",
    });
    expect(inline.modelVersionDeployments![0]!.deployedAt).toBe("2026-03-01T00:00:06.000Z");

    await t.db.write(async (tx) => {
      await tx.execute("DELETE FROM model_version_deployments WHERE environment = ?", ["staging"]);
      await tx.execute("UPDATE model_version_deployments SET active = ?, endpoint = ?", [false, "x"]);
    });
    expect(await dumpProjections(t.db.reader)).not.toEqual(inline);
    await rebuildProjections(t.db);
    expect(await dumpProjections(t.db.reader)).toEqual(inline);
  });
});
