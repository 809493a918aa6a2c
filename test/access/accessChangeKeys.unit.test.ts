// Which running subscriptions an access event sends to check their access again: the keys of the
// event (accessChangeKeys) meet the keys a subscription is watched under (subscriberAccessKeys).
import { describe, expect, it } from "vitest";
import type { Caller } from "../../src/access/principal.ts";
import { accessChangeKeys, subscriberAccessKeys } from "../../src/access/subscriberAccess.ts";

const withToken: Caller = {
  principal: {
    id: "p1",
    kind: "SERVICE_ACCOUNT",
    displayName: "p1",
    email: null,
    role: "MEMBER",
    teamIds: ["t1"],
  },
  credential: { kind: "token", tokenId: "k1", scopes: ["read"] },
};
const withJwt: Caller = {
  principal: { ...withToken.principal, teamIds: [] },
  credential: { kind: "jwt", jti: null, issuer: "https://idp" },
};

describe("subscriberAccessKeys", () => {
  it("names the principal, its teams and its token", () => {
    expect(subscriberAccessKeys(withToken)).toEqual(["principal:p1", "team:t1", "token:k1"]);
    expect(subscriberAccessKeys(withJwt)).toEqual(["principal:p1"]);
  });
});

describe("accessChangeKeys", () => {
  it.each([
    ["a role set", "principal:p1", "PrincipalRoleSet", { from: "AUDITOR", to: "VIEWER" }, ["principal:p1"]],
    ["a principal disabled", "principal:p1", "PrincipalDisabled", {}, ["principal:p1"]],
    ["a token revoked", "token:k1", "ApiTokenRevoked", {}, ["token:k1"]],
    ["a member removed: the member", "team:t1", "TeamMemberRemoved", { principalId: "p2" }, ["principal:p2"]],
    ["a member added", "team:t1", "TeamMemberAdded", { principalId: "p2", source: "admin" }, []],
    ["a team renamed", "team:t1", "TeamRenamed", { from: "a", to: "b" }, []],
    ["a principal enabled", "principal:p1", "PrincipalEnabled", {}, []],
    ["a profile updated", "principal:p1", "PrincipalProfileUpdated", { displayName: "x", email: null }, []],
  ] as const)("%s", (_name, streamId, type, data, expected) => {
    expect(accessChangeKeys(streamId, type, 1, JSON.stringify(data))).toEqual(expected);
    // The PostgreSQL driver hands JSON columns over parsed.
    expect(accessChangeKeys(streamId, type, 1, data)).toEqual(expected);
  });

  it("sends everyone watched under the stream to look again when the event cannot be read", () => {
    expect(accessChangeKeys("team:t1", "TeamDissolved", 1, "{}")).toEqual(["team:t1"]);
    expect(accessChangeKeys("principal:p1", "PrincipalRoleSet", 99, "{}")).toEqual(["principal:p1"]);
    expect(accessChangeKeys("token:k1", "ApiTokenRevoked", 1, "{not json")).toEqual(["token:k1"]);
  });
});
