// The deployment read model (model_version_deployments) folded from recorded events, and how the
// model stream's views carry it (inline projection and rebuild share applyEvents).
import { describe, expect, it } from "vitest";
import { deploymentTouchedBy, evolveDeploymentView } from "../../src/deployments/projection/evolve.ts";
import type { DeploymentView } from "../../src/deployments/projection/evolve.ts";
import { actorJson, actorOfJson } from "../../src/deployments/projection/deploymentRows.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { addStreamRows, emptyStreamRows } from "../../src/projections/rebuild/streamRows.ts";
import { applyEvents, emptyStreamViews } from "../../src/projections/streamViews.ts";
import { userActor } from "../support/actors.ts";
import { modelCreated, versionCreated } from "../support/events.ts";
import { minutesAfterT0, recorded } from "../support/recorded.ts";

const deployed = (version: number, environment: string, endpoint: string): RegisteredModelEvent => ({
  type: "ModelVersionDeployed",
  data: { version, environment, endpoint, description: null },
});
const retired = (
  version: number,
  environment: string,
  reason: string | null = null,
): RegisteredModelEvent => ({
  type: "ModelVersionDeploymentRetired",
  data: { version, environment, reason },
});

const fold = (events: { event: RegisteredModelEvent; actor?: string }[], first = 3) =>
  events.reduce<DeploymentView | null>(
    (view, { event, actor }, i) => evolveDeploymentView(view, recorded(event, first + i, "model-1", actor)),
    null,
  );

describe("evolveDeploymentView", () => {
  it("records who deployed what where, and when", () => {
    expect(fold([{ event: deployed(1, "prod-eu", "https://a.example/") }])).toEqual({
      modelId: "model-1",
      environment: "prod-eu",
      version: 1,
      endpoint: "https://a.example/",
      description: null,
      active: true,
      deployedAt: minutesAfterT0(2),
      deployedBy: userActor("alice"),
      retiredAt: null,
      retiredBy: null,
      retireReason: null,
      revision: 3,
    });
  });

  it("retires it with who, when and why; deploying again starts afresh", () => {
    const events = [
      { event: deployed(1, "prod-eu", "https://a.example/") },
      { event: retired(1, "prod-eu", "rolled back"), actor: "bob" },
    ];
    expect(fold(events)).toMatchObject({
      active: false,
      deployedBy: userActor("alice"),
      retiredAt: minutesAfterT0(3),
      retiredBy: userActor("bob"),
      retireReason: "rolled back",
      revision: 4,
    });
    expect(
      fold([...events, { event: deployed(1, "prod-eu", "https://b.example/"), actor: "carol" }]),
    ).toMatchObject({
      active: true,
      endpoint: "https://b.example/",
      deployedAt: minutesAfterT0(4),
      deployedBy: userActor("carol"),
      retiredAt: null,
      retiredBy: null,
      retireReason: null,
    });
  });

  it("never throws: a retirement of a pair it has not seen leaves the view alone", () => {
    expect(fold([{ event: retired(1, "prod-eu") }])).toBeNull();
    const view = fold([{ event: deployed(1, "prod-eu", "https://a.example/") }]);
    expect(evolveDeploymentView(view, recorded(retired(2, "prod-eu"), 9))).toBe(view);
  });

  it("names the (environment, version) an event is about, and only for deployment events", () => {
    expect(deploymentTouchedBy(recorded(deployed(2, "prod-eu", "https://a.example/"), 1))).toBe("prod-eu@2");
    expect(deploymentTouchedBy(recorded(retired(3, "staging"), 1))).toBe("staging@3");
    expect(deploymentTouchedBy(recorded(versionCreated(1), 1))).toBeNull();
  });

  it("reads a stored actor back, and damaged JSON as an anonymous actor instead of throwing", () => {
    expect(actorOfJson(actorJson(userActor("alice")))).toEqual(userActor("alice"));
    expect(actorOfJson("{not json")).toMatchObject({ id: null, kind: "ANONYMOUS" });
  });
});

describe("deployments in a model stream's views", () => {
  const stream = [
    modelCreated(),
    versionCreated(1),
    versionCreated(2),
    deployed(1, "prod-eu", "https://a.example/"),
    deployed(2, "prod-eu", "https://canary.example/"),
    retired(1, "prod-eu"),
  ].map((e, i) => recorded(e, i + 1));

  it("folds one view per (environment, version), and bumps the model's revision", () => {
    const views = applyEvents(emptyStreamViews("model-1"), stream);
    expect(views.model?.revision).toBe(6);
    expect([...views.deployments.values()].map((d) => [d?.environment, d?.version, d?.active])).toEqual([
      ["prod-eu", 1, false],
      ["prod-eu", 2, true],
    ]);
  });

  it("gives the rebuild one row per pair, in the table's column order", () => {
    const rows = emptyStreamRows();
    addStreamRows(rows, applyEvents(emptyStreamViews("model-1"), stream));
    expect(rows.model_version_deployments).toEqual([
      [
        "model-1",
        "prod-eu",
        1,
        "https://a.example/",
        null,
        false,
        minutesAfterT0(3),
        actorJson(userActor("alice")),
        minutesAfterT0(5),
        actorJson(userActor("alice")),
        null,
        6,
      ],
      [
        "model-1",
        "prod-eu",
        2,
        "https://canary.example/",
        null,
        true,
        minutesAfterT0(4),
        actorJson(userActor("alice")),
        null,
        null,
        null,
        5,
      ],
    ]);
  });
});
