// A caller whose team holds grants on 40,000 models (more than SQLite's 32,766 bind parameters):
// its event reads (a model's history, the audit log and its count) answer as for a caller with
// three, because no read binds the list of readable models.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessRights } from "../../src/access/modelAccess.ts";
import type { Caller } from "../../src/access/principal.ts";
import { scopedReader } from "../../src/access/scopedReader.ts";
import {
  auditLogWhere,
  checkAuditLogFilter,
  countAuditLog,
  readAuditLogPage,
} from "../../src/audit/auditLogFilter.ts";
import { ValidationError } from "../../src/domain/errors.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { createVersion } from "../support/commands.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

const caller: Caller = {
  principal: { id: "p", kind: "USER", displayName: "P", email: null, role: "MEMBER", teamIds: ["team-big"] },
  credential: { kind: "token", tokenId: "t", scopes: ["read"] },
};
const MANY = 40_000;

describe.each(await providers())("a caller granted 40,000 models through its team, on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
    const deps = commandDeps(t.db);
    for (const [id, name] of [
      ["model-granted", "granted"],
      ["model-hidden", "hidden"],
    ] as const) {
      await createModelNamed(deps, id, name);
      await run(deps, live(name), createVersion());
    }
    await run(deps, live("granted"), {
      type: "GrantModelPermission",
      data: { grantee: { kind: "TEAM", id: "team-big" }, permission: "READ" },
    });
    // The other grants as rows (no events: the log above is what is read), made in SQL.
    await t.db.write(async (tx) => {
      const at = provider === "sqlite" ? String(Date.UTC(2026, 0, 1)) : "now()";
      const series =
        provider === "sqlite"
          ? `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${MANY}) SELECT 'bulk-' || i AS id FROM n`
          : `SELECT 'bulk-' || i AS id FROM generate_series(1, ${MANY}) AS i`;
      await tx.execute(
        `INSERT INTO registered_models (id, name, created_at, updated_at, created_by, revision, last_version)
         SELECT id, id, ${at}, ${at}, 'x', 1, 0 FROM (${series}) AS s`,
      );
      await tx.execute(
        `INSERT INTO model_permissions (model_id, grantee_kind, grantee_id, permission)
         SELECT id, 'TEAM', 'team-big', 'READ' FROM (${series}) AS s`,
      );
    });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  const reader = () => scopedReader(t.db.reader, accessRights(caller, { defaultPermission: null }));

  it("reads a model's history", async () => {
    const history = await reader().event.findMany({
      where: { streamId: "model-granted" },
      orderBy: { position: "desc" },
      select: { eventType: { select: { name: true } } },
    });
    expect(history.map((e) => e.eventType.name)).toEqual([
      "ModelPermissionGranted",
      "ModelVersionCreated",
      "RegisteredModelCreated",
    ]);
    expect(await reader().event.count({ where: { streamId: "model-hidden" } })).toBe(0);
  });

  it("reads and counts the audit log", async () => {
    const filter = checkAuditLogFilter({});
    if (filter instanceof ValidationError) throw filter;
    const where = await auditLogWhere(t.db, filter);
    expect(await countAuditLog(t.db, reader(), where)).toBe(3);
    const page = await readAuditLogPage(t.db, reader(), where, "NEWEST_FIRST", null, 10);
    expect(page.map((e) => e.streamId)).toEqual(["model-granted", "model-granted", "model-granted"]);
  });
});
