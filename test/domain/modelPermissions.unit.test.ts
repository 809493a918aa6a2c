// Grants and revocations on a model's stream, as given/when/then scenarios.
import { describe, expect, it } from "vitest";
import { NotFoundError, ValidationError } from "../../src/domain/errors.ts";
import type { RegisteredModelEvent } from "../../src/domain/registeredModel/events.ts";
import { fold } from "../../src/domain/registeredModel/state.ts";
import { createModel } from "../support/commands.ts";
import { given } from "../support/decider.ts";
import { modelCreated } from "../support/events.ts";

const alice = { kind: "PRINCIPAL", id: "alice" } as const;
const team = { kind: "TEAM", id: "risk" } as const;
const granted = (
  permission: "READ" | "EDIT" | "MANAGE",
  previous: "READ" | "EDIT" | "MANAGE" | null = null,
) =>
  ({
    type: "ModelPermissionGranted",
    data: { grantee: alice, permission, previous },
  }) satisfies RegisteredModelEvent;

describe("the creator of a model", () => {
  it("is recorded on the creation and manages the model", () => {
    const decision = given([]).when({
      ...createModel("fraud"),
      data: { ...createModel("fraud").data, creatorId: "bob" },
    });
    expect(decision.decision).toMatchObject([{ type: "RegisteredModelCreated", data: { creatorId: "bob" } }]);
    const state = fold(decision.decision as RegisteredModelEvent[]);
    expect(state.grants).toEqual({ "PRINCIPAL:bob": "MANAGE" });
  });

  it("is absent from models registered before authentication (no grant)", () => {
    expect(fold([modelCreated()]).grants).toEqual({});
  });
});

describe("GrantModelPermission", () => {
  it("grants a permission, and replaces a held one saying what it was", () => {
    given([modelCreated()])
      .when({ type: "GrantModelPermission", data: { grantee: alice, permission: "READ" } })
      .then([granted("READ")]);
    given([modelCreated(), granted("READ")])
      .when({ type: "GrantModelPermission", data: { grantee: alice, permission: "MANAGE" } })
      .then([granted("MANAGE", "READ")]);
  });

  it("changes nothing to grant what is already held; refuses a bad grantee id and a deleted model", () => {
    given([modelCreated(), granted("EDIT")])
      .when({ type: "GrantModelPermission", data: { grantee: alice, permission: "EDIT" } })
      .then([]);
    given([modelCreated()])
      .when({
        type: "GrantModelPermission",
        data: { grantee: { kind: "TEAM", id: "a\u0000" }, permission: "READ" },
      })
      .then(ValidationError, { field: "grantee.id" });
    given([modelCreated(), { type: "RegisteredModelDeleted", data: { name: "fraud-detector" } }])
      .when({ type: "GrantModelPermission", data: { grantee: team, permission: "READ" } })
      .then(NotFoundError);
  });

  it("keeps grants to a principal and to a team of the same id apart", () => {
    const state = fold([
      modelCreated(),
      {
        type: "ModelPermissionGranted",
        data: { grantee: { kind: "TEAM", id: "alice" }, permission: "EDIT", previous: null },
      },
      granted("READ"),
    ]);
    expect(state.grants).toEqual({ "TEAM:alice": "EDIT", "PRINCIPAL:alice": "READ" });
  });
});

describe("RevokeModelPermission", () => {
  it("revokes a held grant, recording what it was", () => {
    given([modelCreated(), granted("EDIT")])
      .when({ type: "RevokeModelPermission", data: { grantee: alice } })
      .then([{ type: "ModelPermissionRevoked", data: { grantee: alice, permission: "EDIT" } }]);
    const state = fold([
      modelCreated(),
      granted("EDIT"),
      { type: "ModelPermissionRevoked", data: { grantee: alice, permission: "EDIT" } },
    ]);
    expect(state.grants).toEqual({});
  });

  it("changes nothing to revoke a grant that is not held", () => {
    given([modelCreated()])
      .when({ type: "RevokeModelPermission", data: { grantee: team } })
      .then([]);
    given([
      modelCreated(),
      granted("EDIT"),
      { type: "ModelPermissionRevoked", data: { grantee: alice, permission: "EDIT" } },
    ])
      .when({ type: "RevokeModelPermission", data: { grantee: alice } })
      .then([]);
  });
});
