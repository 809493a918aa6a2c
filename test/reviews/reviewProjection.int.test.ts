// The review_requests projection and the policy column, through the application on both providers:
// what the inline projection writes for every outcome of a request (open, applied, rejected,
// cancelled, stale), the causation link of an applied request, and a rebuild that reproduces it all
// from the log after the tables were damaged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { readStream } from "../../src/store/eventStore.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { ALICE, BOB, CAROL, approve, open, productionRule, reject } from "./reviewScenarios.ts";

const ALIAS = { kind: "ALIAS", alias: "champion" } as const;

describe.each(await providers())("the review_requests projection on %s", (provider) => {
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

  const on = (command: RegisteredModelCommand) => run(deps, live("reviewed"), command);

  it("projects every outcome inline, links the applied change, and rebuilds it all from the log", async () => {
    const created = await createModelNamed(deps, "model-reviewed", "reviewed");
    for (let i = 0; i < 4; i++) await on(createVersion());
    await on({
      type: "SetModelReviewPolicy",
      data: {
        rules: [
          productionRule(),
          {
            aliasPattern: "champ*",
            requiredApprovals: 1,
            reviewers: [{ kind: "PRINCIPAL", id: BOB }],
            allowSelfApproval: false,
          },
        ],
      },
    });
    await on(open("applied", 1));
    await on(approve("applied", BOB));
    await on(approve("applied", CAROL, [], "ship it"));
    await on(open("rejected", 2));
    await on(reject("rejected", CAROL, "too slow"));
    await on(open("cancelled", 3, ALIAS));
    await on({ type: "CancelReviewRequest", data: { requestId: "cancelled", reason: "not now" } });
    await on(open("stale", 4));
    await on({ type: "DeleteModelVersion", data: { version: 4 } });
    await on(open("open", 3));
    await on(approve("open", BOB));

    const inline = await dumpProjections(t.db.reader);
    const byId = Object.fromEntries(inline.reviewRequests!.map((r) => [r.id, r]));
    expect(byId.applied).toMatchObject({
      status: "APPLIED",
      version: 1,
      requesterId: ALICE,
      closedReason: null,
    });
    expect((byId.applied!.approvals as unknown[]).length).toBe(2);
    expect(byId.rejected).toMatchObject({
      status: "REJECTED",
      closedReason: "too slow",
      rejection: { reviewerId: CAROL, comment: "too slow" },
    });
    expect(byId.cancelled).toMatchObject({
      status: "CANCELLED",
      targetKind: "ALIAS",
      alias: "champion",
      closedReason: "not now",
    });
    expect(byId.stale).toMatchObject({ status: "STALE", closedReason: "version 4 was deleted" });
    expect(byId.open).toMatchObject({ status: "OPEN", closedAt: null, requiredApprovals: 2 });
    expect(inline.registeredModels!.find((m) => m.id === created.modelId)!.reviewPolicy).toHaveLength(2);

    // The change an approval applied is caused by the request.
    const events = await readStream(t.db.reader, created.modelId);
    const applied = events.findIndex((e) => e.type === "ReviewRequestApplied");
    expect(events[applied + 1]).toMatchObject({
      type: "ModelVersionStageTransitioned",
      causationId: "applied",
    });
    expect(events[applied]!.causationId).toBeNull();

    await t.db.write(async (tx) => {
      await tx.execute("DELETE FROM review_requests WHERE id = ?", ["rejected"]);
      await tx.execute("UPDATE review_requests SET status = ?, approvals = ?", ["OPEN", "[]"]);
      await tx.execute("UPDATE registered_models SET review_policy = ?", [null]);
    });
    expect(await dumpProjections(t.db.reader)).not.toEqual(inline);
    await rebuildProjections(t.db);
    expect(await dumpProjections(t.db.reader)).toEqual(inline);
  });
});
