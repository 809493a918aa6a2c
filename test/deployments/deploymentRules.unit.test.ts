// The rules of deployments, as given / when / then scenarios (no database).
import { describe, expect, it } from "vitest";
import type {
  RecordModelVersionDeployment,
  RetireModelVersionDeployment,
} from "../../src/deployments/domain/commands.ts";
import { ActiveDeploymentError } from "../../src/deployments/domain/errors.ts";
import type { ModelVersionDeploymentEvent } from "../../src/deployments/domain/events.ts";
import { DEPLOYMENT_LIMITS } from "../../src/deployments/domain/rules.ts";
import { InvalidStateError, NotFoundError, ValidationError } from "../../src/domain/errors.ts";
import { decisionErrors, stateNeeds } from "../../src/domain/registeredModel/decide.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { given } from "../support/decider.ts";
import { modelCreated, transitioned, versionCreated, versionDeleted } from "../support/events.ts";

const URL_EU = "https://serve.example/eu/fraud";

const record = (data: Partial<RecordModelVersionDeployment["data"]> = {}): RecordModelVersionDeployment => ({
  type: "RecordModelVersionDeployment",
  data: { version: 1, environment: "prod-eu", endpoint: URL_EU, description: null, ...data },
});
const retire = (data: Partial<RetireModelVersionDeployment["data"]> = {}): RetireModelVersionDeployment => ({
  type: "RetireModelVersionDeployment",
  data: { version: 1, environment: "prod-eu", reason: null, ...data },
});
const deployed = (
  version = 1,
  environment = "prod-eu",
  endpoint = URL_EU,
  description: string | null = null,
): ModelVersionDeploymentEvent => ({
  type: "ModelVersionDeployed",
  data: { version, environment, endpoint, description },
});
const retired = (
  version = 1,
  environment = "prod-eu",
  reason: string | null = null,
): ModelVersionDeploymentEvent => ({
  type: "ModelVersionDeploymentRetired",
  data: { version, environment, reason },
});

const withVersions: RegisteredModelEvent[] = [modelCreated(), versionCreated(1), versionCreated(2)];

describe("RecordModelVersionDeployment", () => {
  it("records the deployment with its endpoint and description", () => {
    given(withVersions)
      .when(record({ description: "canary 5%" }))
      .then([deployed(1, "prod-eu", URL_EU, "canary 5%")]);
  });

  it("lets one environment serve several versions at once (a canary)", () => {
    given([...withVersions, deployed(1)])
      .when(record({ version: 2, endpoint: "https://serve.example/eu/fraud-canary" }))
      .then([deployed(2, "prod-eu", "https://serve.example/eu/fraud-canary")]);
  });

  it("records nothing when the same deployment is recorded again (a retry, or a heartbeat)", () => {
    given([...withVersions, deployed(1)])
      .when(record())
      .then([]);
  });

  it("records a changed endpoint or description as a new event", () => {
    given([...withVersions, deployed(1)])
      .when(record({ endpoint: "https://serve.example/eu/fraud-v2" }))
      .then([deployed(1, "prod-eu", "https://serve.example/eu/fraud-v2")]);
    given([...withVersions, deployed(1)])
      .when(record({ description: "moved to GPU" }))
      .then([deployed(1, "prod-eu", URL_EU, "moved to GPU")]);
  });

  it("records a retired deployment deployed again", () => {
    given([...withVersions, deployed(1), retired(1)])
      .when(record())
      .then([deployed(1)]);
  });

  it("deploys archived versions too (archiving changes the stage, not what serves traffic)", () => {
    given([...withVersions, transitioned(1, "None", "Archived")])
      .when(record())
      .then([deployed(1)]);
  });

  it.each([
    ["", "must be 1 to 64 characters"],
    ["x".repeat(65), "must be 1 to 64 characters"],
    ["Prod-EU", "lowercase"],
    ["prod eu", "lowercase"],
    ["-prod", "lowercase"],
    ["prod@eu", "lowercase"],
    ["prod-eu\n", "lowercase"],
    // Refused by decide before the rule, like any text no database can store.
    ["prod\u0000eu", "NUL"],
  ])("refuses the environment %j", (environment, message) => {
    given(withVersions)
      .when(record({ environment }))
      .then(ValidationError, { field: "environment", message: expect.stringContaining(message) });
  });

  it("accepts environment names of digits, dots, underscores and dashes, up to 64 characters", () => {
    for (const environment of ["prod-eu", "eu.west-1_blue", "0", "a".repeat(64)])
      given(withVersions)
        .when(record({ environment }))
        .then([deployed(1, environment)]);
  });

  it.each([
    ["", "must not be empty"],
    ["serve.example/fraud", "absolute"],
    ["ftp://serve.example/fraud", "http:// or https://"],
    ["javascript:alert(1)", "http:// or https://"],
    ["https:serve.example/fraud", "absolute"],
    ["https://serve.example:0/fraud", "port 0"],
    ["https://user:secret@serve.example/fraud", "credentials"],
    ["https://serve.example/a b", "whitespace"],
    ["https://serve.example/\u0007", "control characters"],
    ["https://serve.example/\u202Egnp.exe", "invisible formatting characters"],
    ["https://serve\u200B.example/fraud", "invisible formatting characters"],
    ["https://serve.example/fr\u2066aud", "invisible formatting characters"],
    [`https://serve.example/${"a".repeat(2100)}`, "at most 2048"],
  ])("refuses the endpoint %j", (endpoint, message) => {
    given(withVersions)
      .when(record({ endpoint }))
      .then(ValidationError, { field: "endpoint", message: expect.stringContaining(message) });
  });

  it("refuses a description longer than 5,000 characters", () => {
    given(withVersions)
      .when(record({ description: "x".repeat(5001) }))
      .then(ValidationError, { field: "description" });
  });

  it("refuses a version that does not exist, or is deleted", () => {
    given(withVersions)
      .when(record({ version: 9 }))
      .then(NotFoundError, { resource: "ModelVersion" });
    given(withVersions)
      .when(record({ version: 0 }))
      .then(ValidationError, { field: "version" });
    given([...withVersions, versionDeleted(1)])
      .when(record())
      .then(InvalidStateError, { message: expect.stringContaining("deleted") });
  });

  it("refuses versions that are not READY: pending ones are incomplete, failed ones have nothing to serve", () => {
    for (const status of ["PENDING_REGISTRATION", "FAILED_REGISTRATION"] as const)
      given([modelCreated(), versionCreated(1, { status })])
        .when(record())
        .then(InvalidStateError, { message: expect.stringContaining(status) });
  });

  it("refuses on a deleted model", () => {
    given([...withVersions, { type: "RegisteredModelDeleted", data: { name: "fraud-detector" } }])
      .when(record())
      .then(NotFoundError, { resource: "RegisteredModel" });
  });

  it(`refuses a new deployment beyond ${DEPLOYMENT_LIMITS.maxActivePerModel} active ones per model, but not a change to one`, () => {
    const full = Array.from({ length: DEPLOYMENT_LIMITS.maxActivePerModel }, (_, i) =>
      deployed(1, `env-${i}`),
    );
    given([...withVersions, ...full])
      .when(record({ environment: "one-more" }))
      .then(InvalidStateError, { message: expect.stringContaining("retire one first") });
    given([...withVersions, ...full])
      .when(record({ environment: "env-7", endpoint: "https://serve.example/moved" }))
      .then([deployed(1, "env-7", "https://serve.example/moved")]);
    // Retired deployments do not count.
    given([...withVersions, ...full, retired(1, "env-0")])
      .when(record({ environment: "one-more" }))
      .then([deployed(1, "one-more")]);
  });
});

describe("RetireModelVersionDeployment", () => {
  it("retires an active deployment, with the reason", () => {
    given([...withVersions, deployed(1), deployed(2)])
      .when(retire({ reason: "rolled back" }))
      .then([retired(1, "prod-eu", "rolled back")]);
  });

  it("refuses a deployment never recorded (NotFound), but takes a retirement run again as a retry", () => {
    given(withVersions)
      .when(retire())
      .then(NotFoundError, { resource: "Deployment", key: "fraud-detector v1 in prod-eu" });
    given([...withVersions, deployed(1, "prod-us")])
      .when(retire())
      .then(NotFoundError, { resource: "Deployment" });
    given([...withVersions, deployed(1), retired(1)])
      .when(retire())
      .then([]);
  });

  it("refuses malformed input", () => {
    given(withVersions)
      .when(retire({ environment: "PROD" }))
      .then(ValidationError, { field: "environment" });
    given(withVersions)
      .when(retire({ version: -1 }))
      .then(ValidationError, { field: "version" });
    given([...withVersions, deployed(1)])
      .when(retire({ reason: "x".repeat(5001) }))
      .then(ValidationError, { field: "reason" });
  });
});

describe("deleting what is deployed", () => {
  it("refuses to delete a version environments serve, naming them", () => {
    given([...withVersions, deployed(1, "prod-us"), deployed(1, "prod-eu"), deployed(2, "staging")])
      .when({ type: "DeleteModelVersion", data: { version: 1 } })
      .then(ActiveDeploymentError, {
        version: 1,
        environments: ["prod-eu", "prod-us"],
        code: "ACTIVE_DEPLOYMENT",
      });
  });

  it("deletes a version whose deployments are all retired", () => {
    given([...withVersions, deployed(1), retired(1), deployed(2)])
      .when({ type: "DeleteModelVersion", data: { version: 1 } })
      .then([versionDeleted(1)]);
  });

  it("refuses to delete a model while any of its versions is deployed", () => {
    given([...withVersions, deployed(2, "staging")])
      .when({ type: "DeleteRegisteredModel", data: {} })
      .then(ActiveDeploymentError, { version: null, environments: ["staging"] });
    given([...withVersions, deployed(2, "staging"), retired(2, "staging")])
      .when({ type: "DeleteRegisteredModel", data: {} })
      .then([{ type: "RegisteredModelDeleted", data: { name: "fraud-detector" } }]);
  });

  it("declares the refusal on both deletions", () => {
    expect(decisionErrors("DeleteModelVersion")).toContain(ActiveDeploymentError);
    expect(decisionErrors("DeleteRegisteredModel")).toContain(ActiveDeploymentError);
  });
});

describe("what a deployment command loads", () => {
  it("loads every active deployment and the named pair", () => {
    expect(stateNeeds(record())).toEqual({
      versions: [1],
      versionsInStage: null,
      openReviews: false,
      deployments: true,
      deployment: { environment: "prod-eu", version: 1 },
    });
    expect(stateNeeds({ type: "DeleteModelVersion", data: { version: 3 } })).toMatchObject({
      versions: [3],
      deployments: true,
    });
  });

  it("names no pair whose environment the rules refuse (it must not reach a query)", () => {
    expect(stateNeeds(record({ environment: "nul\u0000" })).deployment).toBeUndefined();
    expect(stateNeeds(retire({ environment: "x".repeat(100_000) })).deployment).toBeUndefined();
  });
});
