// When a running subscription's caller may read fewer models than when it subscribed (readsLess):
// the re-check that then ends it (src/graphql/liveSubscription.ts) relies on this.
import { describe, expect, it } from "vitest";
import { accessRights } from "../../src/access/modelAccess.ts";
import type { AccessPolicy } from "../../src/access/modelAccess.ts";
import type { Caller, RegistryRole } from "../../src/access/principal.ts";
import { readsLess } from "../../src/access/subscriberAccess.ts";

const caller = (role: RegistryRole, teams: string[] = []): Caller => ({
  principal: { id: "p1", kind: "USER", displayName: "p1", email: null, role, teamIds: teams },
  credential: { kind: "token", tokenId: "t1", scopes: ["read", "write", "admin"] },
});
const closed: AccessPolicy = { defaultPermission: null };
const open: AccessPolicy = { defaultPermission: "READ" };

describe("readsLess", () => {
  it.each([
    ["a team left", caller("MEMBER", ["a", "b"]), caller("MEMBER", ["b"]), closed, true],
    ["a team joined", caller("MEMBER", ["a"]), caller("MEMBER", ["a", "b"]), closed, false],
    ["AUDITOR to VIEWER", caller("AUDITOR"), caller("VIEWER"), closed, true],
    ["ADMIN to MEMBER", caller("ADMIN"), caller("MEMBER"), closed, true],
    [
      "MEMBER to VIEWER (grants read the same)",
      caller("MEMBER", ["a"]),
      caller("VIEWER", ["a"]),
      closed,
      false,
    ],
    ["VIEWER to AUDITOR", caller("VIEWER"), caller("AUDITOR"), closed, false],
    ["a team left while every model is readable", caller("MEMBER", ["a"]), caller("VIEWER"), open, false],
    ["AUDITOR leaving a team", caller("AUDITOR", ["a"]), caller("AUDITOR"), closed, false],
  ] as const)("%s: %s", (_name, before, now, policy, expected) => {
    expect(readsLess(accessRights(before, policy), accessRights(now, policy))).toBe(expected);
  });
});
