import { describe, it } from "vitest";
import { InvalidStateError, NotFoundError, ValidationError } from "../../src/domain/errors.ts";
import { LIMITS } from "../../src/domain/validation.ts";
import { given } from "../support/decider.ts";
import { aliasSet, modelCreated, versionCreated, versionDeleted } from "../support/events.ts";

const setAlias = (alias: string, version: number) => ({
  type: "SetRegisteredModelAlias" as const,
  data: { alias, version },
});

describe("SetRegisteredModelAlias", () => {
  const twoVersions = [modelCreated(), versionCreated(1), versionCreated(2)];

  it("sets a new alias with no previous version", () => {
    given(twoVersions)
      .when(setAlias("champion", 1))
      .then([aliasSet("champion", 1, null)]);
  });

  it("moves an alias in one event that records the previous version", () => {
    given([...twoVersions, aliasSet("champion", 1)])
      .when(setAlias("champion", 2))
      .then([aliasSet("champion", 2, 1)]);
  });

  it("changes nothing to point an alias where it already points, override or not", () => {
    given([...twoVersions, aliasSet("champion", 1)])
      .when(setAlias("champion", 1))
      .then([]);
    given([...twoVersions, aliasSet("champion", 1)])
      .when({
        type: "SetRegisteredModelAlias",
        data: { alias: "champion", version: 1, overrideReason: "reviewed" },
      })
      .then([]);
  });

  it(`holds at most ${LIMITS.maxAliasesPerModel} aliases: a new one past them is refused, a held one still moves`, () => {
    const held = Array.from({ length: LIMITS.maxAliasesPerModel }, (_, i) => aliasSet(`a${i}`, 1));
    given([...twoVersions, ...held])
      .when(setAlias("one_more", 1))
      .then(ValidationError, { field: "alias" });
    given([...twoVersions, ...held])
      .when(setAlias("a7", 2))
      .then([aliasSet("a7", 2, 1)]);
  });

  it("refuses reserved names: latest and v<number>, in any case", () => {
    for (const alias of ["latest", "LATEST", "v1", "V42"]) {
      given(twoVersions).when(setAlias(alias, 1)).then(ValidationError, { field: "alias" });
    }
    given(twoVersions)
      .when(setAlias("v1a", 1))
      .then([aliasSet("v1a", 1)]);
    given(twoVersions)
      .when(setAlias("latest_good", 1))
      .then([aliasSet("latest_good", 1)]);
  });

  it("enforces ^[A-Za-z_][A-Za-z0-9_-]{0,254}$", () => {
    for (const alias of ["", "1st", "-x", "with space", "dot.ted", "é", "a".repeat(256)]) {
      given(twoVersions).when(setAlias(alias, 1)).then(ValidationError, { field: "alias" });
    }
    for (const alias of ["_", "a", "Prod-2_b", "a".repeat(255)]) {
      given(twoVersions)
        .when(setAlias(alias, 1))
        .then([aliasSet(alias, 1)]);
    }
  });

  it("refuses deleted, unknown and non-READY versions", () => {
    given([...twoVersions, versionDeleted(2)])
      .when(setAlias("champion", 2))
      .then(InvalidStateError);
    given(twoVersions).when(setAlias("champion", 3)).then(NotFoundError, { resource: "ModelVersion" });
    given([modelCreated(), versionCreated(1, { status: "PENDING_REGISTRATION" })])
      .when(setAlias("champion", 1))
      .then(InvalidStateError, {
        message: "version 1 is PENDING_REGISTRATION; only READY versions get aliases",
      });
  });
});

describe("DeleteRegisteredModelAlias", () => {
  it("deletes an alias, recording the version it pointed at", () => {
    given([modelCreated(), versionCreated(1), aliasSet("champion", 1)])
      .when({ type: "DeleteRegisteredModelAlias", data: { alias: "champion" } })
      .then([{ type: "RegisteredModelAliasDeleted", data: { alias: "champion", version: 1 } }]);
  });

  it("changes nothing to delete a missing alias, including one removed with its version", () => {
    given([modelCreated()])
      .when({ type: "DeleteRegisteredModelAlias", data: { alias: "champion" } })
      .then([]);
    given([modelCreated(), versionCreated(1), aliasSet("champion", 1), versionDeleted(1, ["champion"])])
      .when({ type: "DeleteRegisteredModelAlias", data: { alias: "champion" } })
      .then([]);
  });
});
