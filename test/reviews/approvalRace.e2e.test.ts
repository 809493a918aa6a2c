// An approval that applies a request must be decided on its approvers' standing as it is at its
// commit (src/reviews/graphql/approvalTransaction.ts). These tests put an access change (erin, whose
// approval is one of the two the request needs, is disabled) into the two windows a read made before
// the commit leaves open: after the mutation has started but before its command's transaction, and
// inside the transaction between the decision and the commit. The hooks wrap the server's database
// handle, which the command runner writes through. (On SQLite the second window is closed by the one
// writer whatever the approval reads; on PostgreSQL by the lock the approval takes.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database, Tx } from "../../src/db/database.ts";
import { providers } from "../support/databases.ts";
import { errorSelection } from "../support/mutationResult.ts";
import { createServiceAccount } from "../support/serviceAccounts.ts";
import type { ServiceAccount } from "../support/serviceAccounts.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

type Json = any;

const mutation = (field: string, select: string) =>
  `mutation($input: ${field.charAt(0).toUpperCase()}${field.slice(1)}Input!) { ${field}(input: $input) { ${errorSelection(field)} ${select} } }`;
const REVIEW_PAYLOAD =
  "... on ReviewRequestPayload { reviewRequest { id status countedApprovals } events { type } }";

describe.each(await providers())("an approval against a concurrent access change (%s)", (provider) => {
  let server: TestServer;
  const admin: ServiceAccount = { id: "", headers: {} };
  let alice: ServiceAccount;
  let realWrite: Database["write"];
  let models = 0;

  async function call(who: ServiceAccount, field: string, input: object, select = ""): Promise<Json> {
    const answer = await server.gql(mutation(field, select), { input }, who.headers);
    expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
    return answer.data[field];
  }

  /** A request on a model of its own that needs two approvals; erin has given the first. */
  async function requestApprovedByErin() {
    const name = `race-${++models}`;
    const erin = await createServiceAccount((q, v, h) => server.gql(q, v, h), `erin-${models}`);
    const frank = await createServiceAccount((q, v, h) => server.gql(q, v, h), `frank-${models}`);
    await call(admin, "createRegisteredModel", { name });
    await call(admin, "createModelVersion", { name, source: `s3://race/${models}` });
    await call(admin, "grantModelPermission", { name, principalId: alice.id, permission: "EDIT" });
    await call(admin, "setModelReviewPolicy", {
      name,
      rules: [
        {
          stage: "PRODUCTION",
          requiredApprovals: 2,
          reviewers: [{ principalId: erin.id }, { principalId: frank.id }],
        },
      ],
    });
    const opened = await call(
      alice,
      "requestReview",
      { name, version: 1, stage: "PRODUCTION", reason: "ready" },
      REVIEW_PAYLOAD,
    );
    const id = opened.reviewRequest.id as string;
    expect((await call(erin, "approveReviewRequest", { id }, REVIEW_PAYLOAD)).reviewRequest.status).toBe(
      "OPEN",
    );
    const model = await server.registro.db.reader.registeredModel.findFirstOrThrow({ where: { name } });
    return { id, erin, frank, modelId: model.id };
  }

  const disable = (who: ServiceAccount) =>
    call(admin, "disablePrincipal", { principalId: who.id }, "__typename").then((r: Json) =>
      expect(r.__typename).toBe("PrincipalPayload"),
    );

  /** Runs `hook` once, around the next model command's write (the only writes that are concurrent). */
  function aroundNextCommand(hook: (work: (tx: Tx) => Promise<unknown>) => (tx: Tx) => Promise<unknown>) {
    let armed = true;
    (server.registro.db as { write: Database["write"] }).write = (work, options) => {
      if (!armed || !options?.concurrent) return realWrite(work, options);
      armed = false;
      return realWrite(hook(work as (tx: Tx) => Promise<unknown>) as typeof work, options);
    };
  }

  const lastPosition = async (streamId: string) =>
    (
      await server.registro.db.reader.event.findFirstOrThrow({
        where: { streamId },
        orderBy: { revision: "desc" },
        select: { position: true },
      })
    ).position;

  beforeAll(async () => {
    server = await startTestServer(provider);
    realWrite = server.registro.db.write.bind(server.registro.db);
    alice = await createServiceAccount((q, v, h) => server.gql(q, v, h), "alice");
  });
  afterAll(async () => {
    if (server) (server.registro.db as { write: Database["write"] }).write = realWrite;
    await server?.close();
  });

  it("does not count an approver disabled after the mutation started, before its transaction", async () => {
    const { id, erin, frank } = await requestApprovedByErin();
    // erin is disabled, to the end, once frank's approval is on its way to its transaction.
    let disabled = false;
    let armed = true;
    (server.registro.db as { write: Database["write"] }).write = async (work, options) => {
      if (armed && options?.concurrent) {
        armed = false;
        await disable(erin);
        disabled = true;
      }
      return realWrite(work, options);
    };
    const answer = await call(frank, "approveReviewRequest", { id }, REVIEW_PAYLOAD);
    expect(disabled).toBe(true);
    expect(answer.events.map((e: Json) => e.type)).toEqual(["ReviewRequestApproved"]);
    expect(answer.reviewRequest).toMatchObject({ status: "OPEN", countedApprovals: 1 });
  });

  it("holds an access change made between the decision and the commit until the approval has committed", async () => {
    const { id, erin, frank, modelId } = await requestApprovedByErin();
    const changes: Promise<void>[] = [];
    aroundNextCommand((work) => (tx) => {
      let first = true;
      const paused = new Proxy(tx, {
        get(object, property) {
          const value: unknown = Reflect.get(object, property, object);
          if (typeof value !== "function") return value;
          if (property !== "later") return value.bind(object);
          return async (...args: unknown[]) => {
            if (first) {
              // The decision is made (its events are being written): disable erin now, and give
              // that change time to commit if nothing holds it back.
              first = false;
              changes.push(disable(erin));
              await new Promise((resolve) => setTimeout(resolve, 600));
            }
            return (value as (...a: unknown[]) => unknown).apply(object, args);
          };
        },
      });
      return work(paused);
    });
    const answer = await call(frank, "approveReviewRequest", { id }, REVIEW_PAYLOAD);
    expect(changes).toHaveLength(1);
    await Promise.all(changes);
    // Decided while erin could still approve, and the change to her standing came after its commit:
    // in the log, the application precedes her being disabled.
    expect(answer.events.map((e: Json) => e.type)).toEqual([
      "ReviewRequestApproved",
      "ReviewRequestApplied",
      "ModelVersionStageTransitioned",
    ]);
    expect(await lastPosition(`principal:${erin.id}`)).toBeGreaterThan(await lastPosition(modelId));
  });
});
