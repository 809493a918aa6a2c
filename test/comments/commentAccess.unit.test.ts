// Who may comment, and who may edit or delete a comment (src/access/modelAccess.ts): adding needs READ
// on the model and a credential that may write; editing and deleting are the author's (with such a
// credential) or a manager's of the model.
import { describe, expect, it } from "vitest";
import { accessRights, authorizeCommand } from "../../src/access/modelAccess.ts";
import type { AccessPolicy } from "../../src/access/modelAccess.ts";
import type { Caller, RegistryRole, TokenScope } from "../../src/access/principal.ts";
import { NotFoundError, PermissionDeniedError } from "../../src/domain/errors.ts";
import type { Grants } from "../../src/domain/modelPermissions.ts";
import type { RegisteredModelCommand } from "../../src/domain/registeredModel/commands.ts";

function caller(id: string, role: RegistryRole, scopes?: TokenScope[]): Caller {
  return {
    principal: { id, kind: "USER", displayName: id, email: null, role, teamIds: [] },
    credential: scopes ? { kind: "token", tokenId: `t-${id}`, scopes } : { kind: "local" },
  };
}

const open: AccessPolicy = { defaultPermission: "READ" };
const closed: AccessPolicy = { defaultPermission: null };
const missing = new NotFoundError("RegisteredModel", "m");
const model = (grants: Grants = {}) => ({ name: "m", grants });
const author = { authorId: "ada" };

const add: RegisteredModelCommand = {
  type: "AddModelVersionComment",
  data: { commentId: "c", version: 1, body: "b", authorId: "x", liveComments: 0 },
};
const edit: RegisteredModelCommand = { type: "EditModelVersionComment", data: { commentId: "c", body: "b" } };
const remove: RegisteredModelCommand = { type: "DeleteModelVersionComment", data: { commentId: "c" } };

const outcome = (
  who: Caller,
  policy: AccessPolicy,
  command: RegisteredModelCommand,
  grants: Grants = {},
  comment: { authorId: string } | null = author,
) => {
  const refusal = authorizeCommand(accessRights(who, policy), command, model(grants), missing, comment);
  return refusal === null ? "ALLOWED" : refusal instanceof PermissionDeniedError ? "DENIED" : "HIDDEN";
};

describe("adding a comment", () => {
  it.each([
    ["a MEMBER who reads the model (default READ)", caller("bob", "MEMBER"), open, {}, "ALLOWED"],
    ["a MEMBER with the write scope", caller("bob", "MEMBER", ["read", "write"]), open, {}, "ALLOWED"],
    ["a MEMBER token without the write scope", caller("bob", "MEMBER", ["read"]), open, {}, "DENIED"],
    ["a VIEWER", caller("bob", "VIEWER"), open, {}, "DENIED"],
    ["an AUDITOR", caller("bob", "AUDITOR"), closed, {}, "DENIED"],
    ["a MEMBER who cannot read the model", caller("bob", "MEMBER"), closed, {}, "HIDDEN"],
    [
      "a MEMBER with a READ grant on a private model",
      caller("bob", "MEMBER"),
      closed,
      { "PRINCIPAL:bob": "READ" },
      "ALLOWED",
    ],
  ] as const)("%s: %s", (_, who, policy, grants, expected) => {
    expect(outcome(who, policy, add, grants)).toBe(expected);
  });
});

describe.each([
  ["editing", edit],
  ["deleting", remove],
] as const)("%s a comment", (_, command) => {
  it.each([
    ["its author", caller("ada", "MEMBER"), open, {}, "ALLOWED"],
    ["its author with a read-only token", caller("ada", "MEMBER", ["read"]), open, {}, "DENIED"],
    ["its author, now a VIEWER", caller("ada", "VIEWER"), open, {}, "DENIED"],
    ["another reader", caller("bob", "MEMBER"), open, {}, "DENIED"],
    ["another editor of the model", caller("bob", "MEMBER"), open, { "PRINCIPAL:bob": "EDIT" }, "DENIED"],
    ["a manager of the model", caller("bob", "MEMBER"), open, { "PRINCIPAL:bob": "MANAGE" }, "ALLOWED"],
    ["an ADMIN", caller("bob", "ADMIN"), closed, {}, "ALLOWED"],
    ["an AUDITOR", caller("bob", "AUDITOR"), closed, {}, "DENIED"],
    ["someone who cannot read the model, even its author", caller("ada", "MEMBER"), closed, {}, "HIDDEN"],
  ] as const)("by %s: %s", (_, who, policy, grants, expected) => {
    expect(outcome(who, policy, command, grants)).toBe(expected);
  });

  it("leaves an unknown comment to the rule (NotFound), for a reader", () => {
    expect(outcome(caller("bob", "MEMBER"), open, command, {}, null)).toBe("ALLOWED");
  });

  it("names what would allow it", () => {
    const refusal = authorizeCommand(
      accessRights(caller("bob", "MEMBER"), open),
      command,
      model(),
      missing,
      author,
    );
    expect(refusal).toMatchObject({
      operation: command.type,
      needed: "being the comment's author (with a credential that may write), or MANAGE on model m",
    });
  });
});
