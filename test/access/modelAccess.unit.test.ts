// The rules of who may do what to a model: roles, token scopes, grants, teams and the default
// permission, as a table. Every command's required permission is covered.
import { describe, expect, it } from "vitest";
import {
  accessRights,
  authorizeCommand,
  permissionOn,
  requiredPermission,
} from "../../src/access/modelAccess.ts";
import type { AccessPolicy } from "../../src/access/modelAccess.ts";
import type { Caller, RegistryRole, TokenScope } from "../../src/access/principal.ts";
import { NotFoundError, PermissionDeniedError } from "../../src/domain/errors.ts";
import type { Grants } from "../../src/domain/modelPermissions.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";

function caller(role: RegistryRole, options: { scopes?: TokenScope[]; teams?: string[] } = {}): Caller {
  return {
    principal: { id: "p1", kind: "USER", displayName: "p1", email: null, role, teamIds: options.teams ?? [] },
    credential: options.scopes ? { kind: "token", tokenId: "t1", scopes: options.scopes } : { kind: "local" },
  };
}

const open: AccessPolicy = { defaultPermission: "READ" };
const closed: AccessPolicy = { defaultPermission: null };

describe("effective permission on a model", () => {
  const cases: [string, Caller, AccessPolicy, Grants, string | null][] = [
    ["MEMBER without grant, default READ", caller("MEMBER"), open, {}, "READ"],
    ["MEMBER without grant, default none", caller("MEMBER"), closed, {}, null],
    ["MEMBER with an EDIT grant", caller("MEMBER"), closed, { "PRINCIPAL:p1": "EDIT" }, "EDIT"],
    ["MEMBER through its team", caller("MEMBER", { teams: ["t"] }), closed, { "TEAM:t": "MANAGE" }, "MANAGE"],
    [
      "the best of its own and its team's grants",
      caller("MEMBER", { teams: ["t"] }),
      closed,
      { "PRINCIPAL:p1": "READ", "TEAM:t": "EDIT" },
      "EDIT",
    ],
    ["a grant to another team", caller("MEMBER", { teams: ["t"] }), closed, { "TEAM:u": "MANAGE" }, null],
    ["a grant to a team with the principal's id", caller("MEMBER"), closed, { "TEAM:p1": "MANAGE" }, null],
    ["VIEWER with a MANAGE grant reads only", caller("VIEWER"), closed, { "PRINCIPAL:p1": "MANAGE" }, "READ"],
    ["VIEWER without grant, default none", caller("VIEWER"), closed, {}, null],
    ["AUDITOR reads every model", caller("AUDITOR"), closed, {}, "READ"],
    [
      "AUDITOR with a MANAGE grant still only reads",
      caller("AUDITOR"),
      closed,
      { "PRINCIPAL:p1": "MANAGE" },
      "READ",
    ],
    ["ADMIN manages every model", caller("ADMIN"), closed, {}, "MANAGE"],
    [
      "ADMIN token without the admin scope is a member",
      caller("ADMIN", { scopes: ["read", "write"] }),
      closed,
      {},
      null,
    ],
    [
      "ADMIN token with admin but not write reads only",
      caller("ADMIN", { scopes: ["read", "admin"] }),
      closed,
      {},
      "READ",
    ],
    [
      "read-only token of a manager reads only",
      caller("MEMBER", { scopes: ["read"] }),
      closed,
      { "PRINCIPAL:p1": "MANAGE" },
      "READ",
    ],
    ["default EDIT", caller("MEMBER"), { defaultPermission: "EDIT" }, {}, "EDIT"],
    ["default EDIT for a VIEWER is READ", caller("VIEWER"), { defaultPermission: "EDIT" }, {}, "READ"],
  ];
  it.each(cases)("%s", (_name, who, policy, grants, expected) => {
    expect(permissionOn(accessRights(who, policy), grants)).toBe(expected);
  });
});

describe("who may register models, administer, and read what administrators read", () => {
  // docs/access.md, "Who may do what": a token without the write scope changes nothing (no mutation
  // at all) and administers nothing; an ADMIN's token with the admin scope still reads as an ADMIN.
  it.each([
    ["MEMBER", undefined, true, false, false],
    ["ADMIN", undefined, true, true, true],
    ["VIEWER", undefined, false, false, false],
    ["AUDITOR", undefined, false, false, false],
    ["MEMBER", ["read"], false, false, false],
    ["MEMBER", ["read", "write", "admin"], true, false, false],
    ["ADMIN", ["read", "write"], true, false, false],
    ["ADMIN", ["read", "write", "admin"], true, true, true],
    ["ADMIN", ["write", "admin"], true, true, true],
    ["ADMIN", ["admin"], false, false, true],
    ["ADMIN", ["read", "admin"], false, false, true],
  ] as const)(
    "%s with scopes %j: create %s, administer %s, read as administrator %s",
    (role, scopes, create, administer, readsAsAdministrator) => {
      const rights = accessRights(caller(role, scopes ? { scopes: [...scopes] } : {}), open);
      expect(rights.canCreateModels).toBe(create);
      expect(rights.canAdminister).toBe(administer);
      expect(rights.readsAsAdministrator).toBe(readsAsAdministrator);
    },
  );
});

describe("authorizeCommand", () => {
  const model = { name: "fraud", grants: { "PRINCIPAL:p1": "EDIT" } as Grants };
  const missing = new NotFoundError("RegisteredModel", "fraud");
  const rights = accessRights(caller("MEMBER"), closed);

  it("reports a model the caller cannot read exactly as a missing one", () => {
    const outsider = accessRights(caller("MEMBER"), closed);
    const refusal = authorizeCommand(
      outsider,
      { type: "DeleteRegisteredModelTag", data: { key: "k" } },
      { name: "fraud", grants: {} },
      missing,
    );
    expect(refusal).toBe(missing);
  });

  it("names the permission a readable model needs", () => {
    const refusal = authorizeCommand(rights, { type: "DeleteRegisteredModel", data: {} }, model, missing);
    expect(refusal).toBeInstanceOf(PermissionDeniedError);
    expect((refusal as PermissionDeniedError).needed).toBe("MANAGE on model fraud");
    expect(
      authorizeCommand(
        rights,
        { type: "SetRegisteredModelTag", data: { key: "k", value: "v" } },
        model,
        missing,
      ),
    ).toBeNull();
  });

  it("makes the safety-gate override a MANAGE decision", () => {
    const transition = (overrideReason: string | null): RegisteredModelCommand => ({
      type: "TransitionModelVersionStage",
      data: {
        version: 1,
        stage: "Production",
        comment: null,
        archiveExistingVersions: false,
        overrideReason,
      },
    });
    expect(authorizeCommand(rights, transition(null), model, missing)).toBeNull();
    const refused = authorizeCommand(rights, transition("reviewed by hand"), model, missing);
    expect(refused).toBeInstanceOf(PermissionDeniedError);
    expect((refused as PermissionDeniedError).operation).toContain("overrideReason");
  });

  it("says when the token's scope, not the grant, is what is missing", () => {
    const readToken = accessRights(caller("MEMBER", { scopes: ["read"] }), closed);
    const refused = authorizeCommand(
      readToken,
      { type: "SetRegisteredModelTag", data: { key: "k", value: "v" } },
      model,
      missing,
    );
    expect((refused as PermissionDeniedError).needed).toContain("write scope");
    const create = authorizeCommand(
      readToken,
      { type: "CreateRegisteredModel", data: { modelId: "m", name: "n", description: "", tags: [] } },
      null,
      missing,
    );
    expect((create as PermissionDeniedError).needed).toContain("write scope");
  });

  it("requires MANAGE for the model's own lifecycle and its permissions, EDIT for the rest", () => {
    const manage = [
      "RenameRegisteredModel",
      "DeleteRegisteredModel",
      "RestoreRegisteredModel",
      "GrantModelPermission",
      "RevokeModelPermission",
    ];
    for (const type of manage)
      expect(requiredPermission({ type, data: {} } as unknown as RegisteredModelCommand)).toBe("MANAGE");
    for (const type of [
      "CreateModelVersion",
      "SetModelVersionTag",
      "AddModelVersionArtifact",
      "DeleteModelVersion",
      "FinalizeModelVersion",
    ])
      expect(requiredPermission({ type, data: {} } as unknown as RegisteredModelCommand)).toBe("EDIT");
  });
});

describe("the review rules of access", () => {
  const notFound = new NotFoundError("RegisteredModel", "m");
  const model = (grants: Grants, requesterId = "someone") => ({
    name: "m",
    grants,
    reviews: new Map([["r1", { requesterId }]]),
  });
  const approve: RegisteredModelCommand = {
    type: "ApproveReviewRequest",
    data: { requestId: "r1", comment: "", reviewerId: "p1", teamIds: [], lapsedApprovers: [] },
  };
  const cancel: RegisteredModelCommand = {
    type: "CancelReviewRequest",
    data: { requestId: "r1", reason: "x" },
  };
  const bypass: RegisteredModelCommand = {
    type: "TransitionModelVersionStage",
    data: {
      version: 1,
      stage: "Production",
      comment: null,
      archiveExistingVersions: false,
      bypassReason: "incident",
    },
  };
  const decide = (c: Caller, command: RegisteredModelCommand, m = model({})) =>
    authorizeCommand(accessRights(c, open), command, m, notFound);

  it("lets a reader with a credential that may write review; not a VIEWER, an AUDITOR or a read-only token", () => {
    expect(decide(caller("MEMBER"), approve)).toBeNull();
    expect(decide(caller("VIEWER"), approve)).toBeInstanceOf(PermissionDeniedError);
    expect(decide(caller("AUDITOR"), approve)).toBeInstanceOf(PermissionDeniedError);
    expect(decide(caller("MEMBER", { scopes: ["read"] }), approve)).toBeInstanceOf(PermissionDeniedError);
  });

  it("lets the requester or a manager cancel, nobody else", () => {
    expect(decide(caller("MEMBER"), cancel, model({}, "p1"))).toBeNull();
    expect(decide(caller("MEMBER"), cancel, model({ "PRINCIPAL:p1": "MANAGE" }))).toBeNull();
    expect(decide(caller("MEMBER"), cancel, model({ "PRINCIPAL:p1": "EDIT" }))).toBeInstanceOf(
      PermissionDeniedError,
    );
    expect(decide(caller("MEMBER", { scopes: ["read"] }), cancel, model({}, "p1"))).toBeInstanceOf(
      PermissionDeniedError,
    );
  });

  it("lets only an administrator bypass a review policy", () => {
    expect(decide(caller("ADMIN"), bypass)).toBeNull();
    expect(decide(caller("MEMBER"), bypass, model({ "PRINCIPAL:p1": "MANAGE" }))).toMatchObject({
      code: "PERMISSION_DENIED",
      operation: "TransitionModelVersionStage with a bypassReason",
    });
    expect(decide(caller("ADMIN", { scopes: ["read", "write"] }), bypass)).toBeInstanceOf(
      PermissionDeniedError,
    );
  });

  it("needs MANAGE to set the review policy and EDIT to request a review", () => {
    expect(requiredPermission({ type: "SetModelReviewPolicy", data: { rules: [] } })).toBe("MANAGE");
    expect(
      requiredPermission({
        type: "OpenReviewRequest",
        data: {
          requestId: "r",
          version: 1,
          target: { kind: "ALIAS", alias: "a" },
          reason: "x",
          requesterId: "p1",
        },
      }),
    ).toBe("EDIT");
  });
});
