// Issue 12 end to end, with three users: alice (EDIT on the model) requests, bob and carol review;
// Production needs two approvals. A direct promotion is refused, alice cannot approve her own
// request, bob's approval leaves it open, carol's applies it (one decision, linked by causation
// id). Then staleness, cancellation, rejection, an admin's bypass, the query and the subscriptions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providers } from "../support/databases.ts";
import { errorSelection } from "../support/mutationResult.ts";
import { createServiceAccount } from "../support/serviceAccounts.ts";
import type { ServiceAccount } from "../support/serviceAccounts.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";
import { record, wsClient } from "../subscriptions/support.ts";

type Json = any;

type Persona = ServiceAccount;

const MODEL = "fraud-detector";
const REQUEST =
  "id status version reason requiredApprovals countedApprovals canApprove closedReason target { kind stage alias } requestedBy { id } approvals { reviewer { id } comment }";
const REVIEW_PAYLOAD = `... on ReviewRequestPayload { reviewRequest { ${REQUEST} } events { type causationId data } }`;

const mutation = (field: string, select: string) =>
  `mutation($input: ${field.charAt(0).toUpperCase()}${field.slice(1)}Input!) { ${field}(input: $input) { ${errorSelection(field)} ${select} } }`;

describe.each(await providers())("protected promotions and review requests (%s)", (provider) => {
  let server: TestServer;
  const admin: Persona = { id: "", headers: {} };
  let alice: Persona;
  let bob: Persona;
  let carol: Persona;

  async function gql(who: Persona, query: string, variables: Record<string, unknown> = {}): Promise<Json> {
    const answer = await server.gql(query, variables, who.headers);
    expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
    return answer.data;
  }

  async function call(
    who: Persona,
    field: string,
    input: Record<string, unknown>,
    select = "",
  ): Promise<Json> {
    const data = await gql(who, mutation(field, select), { input });
    return data[field];
  }

  const persona = (displayName: string): Promise<Persona> =>
    createServiceAccount((q, v, h) => server.gql(q, v, h), displayName, admin.headers);

  const requestReview = (
    who: Persona,
    version: number,
    extra: Record<string, unknown> = { stage: "PRODUCTION" },
  ) => call(who, "requestReview", { name: MODEL, version, reason: "recall +4%", ...extra }, REVIEW_PAYLOAD);
  const approve = (who: Persona, id: string, comment = "looks good") =>
    call(who, "approveReviewRequest", { id, comment }, REVIEW_PAYLOAD);
  const stageOf = async (version: number) =>
    (await gql(admin, `{ modelVersion(name: "${MODEL}", version: ${version}) { stage } }`)).modelVersion
      .stage;

  beforeAll(async () => {
    server = await startTestServer(provider);
    alice = await persona("alice");
    bob = await persona("bob");
    carol = await persona("carol");
    await call(admin, "createRegisteredModel", { name: MODEL });
    for (let i = 0; i < 4; i++)
      await call(admin, "createModelVersion", { name: MODEL, source: `s3://m/${i}` });
    await call(admin, "grantModelPermission", { name: MODEL, principalId: alice.id, permission: "EDIT" });
  });
  afterAll(async () => server?.close());

  it("walks a request from refusal to a promotion by two approvals", async () => {
    // Only a manager sets the policy.
    const policy = {
      name: MODEL,
      rules: [
        {
          stage: "PRODUCTION",
          requiredApprovals: 2,
          reviewers: [{ principalId: bob.id }, { principalId: carol.id }],
        },
      ],
    };
    expect(await call(alice, "setModelReviewPolicy", policy)).toMatchObject({
      __typename: "PermissionDeniedError",
    });
    expect(
      await call(
        admin,
        "setModelReviewPolicy",
        policy,
        "... on RegisteredModelPayload { registeredModel { reviewPolicy { stage requiredApprovals allowSelfApproval reviewers { kind id } } } }",
      ),
    ).toMatchObject({
      registeredModel: {
        reviewPolicy: [
          {
            stage: "PRODUCTION",
            requiredApprovals: 2,
            allowSelfApproval: false,
            reviewers: [
              { kind: "PRINCIPAL", id: bob.id },
              { kind: "PRINCIPAL", id: carol.id },
            ],
          },
        ],
      },
    });

    const wsUrl = server.graphqlUrl.replace(/^http/, "ws");
    const bobWs = wsClient(wsUrl, { connectionParams: { authorization: bob.headers.authorization } });
    const aliceWs = wsClient(wsUrl, { connectionParams: { authorization: alice.headers.authorization } });
    const UPDATES = `subscription($role: ReviewRole!) { reviewRequestUpdates(role: $role) { cursor event { type causationId } reviewRequest { id status } } }`;
    const reviewerFeed = record(bobWs, UPDATES, { role: "REVIEWER" });
    const requesterFeed = record(aliceWs, UPDATES, { role: "REQUESTER" });
    try {
      // Give both subscriptions time to start before the first event.
      await new Promise((resolve) => setTimeout(resolve, 300));

      // A direct promotion is refused with a typed error.
      const direct = await call(alice, "transitionModelVersionStage", {
        name: MODEL,
        version: 1,
        stage: "PRODUCTION",
      });
      expect(direct).toMatchObject({
        __typename: "ApprovalRequiredError",
        code: "APPROVAL_REQUIRED",
        requiredApprovals: 2,
        target: { kind: "STAGE", stage: "PRODUCTION" },
      });
      expect(direct.message).toMatch(/requestReview/);

      const opened = await requestReview(alice, 1);
      expect(opened.reviewRequest).toMatchObject({
        status: "OPEN",
        version: 1,
        requiredApprovals: 2,
        requestedBy: { id: alice.id },
        canApprove: false,
      });
      const id = opened.reviewRequest.id as string;

      const actionable = await gql(
        bob,
        `{ reviewRequests(filter: { actionableByMe: true }) { totalCount nodes { id canApprove } } }`,
      );
      expect(actionable.reviewRequests).toEqual({ totalCount: 1, nodes: [{ id, canApprove: true }] });

      expect(await approve(alice, id)).toMatchObject({
        __typename: "ReviewerNotEligibleError",
        code: "REVIEWER_NOT_ELIGIBLE",
        ineligibility: "SELF_APPROVAL",
      });

      const first = await approve(bob, id);
      expect(first.reviewRequest).toMatchObject({
        status: "OPEN",
        approvals: [{ reviewer: { id: bob.id }, comment: "looks good" }],
      });
      expect(await stageOf(1)).toBe("NONE");
      expect(await approve(bob, id)).toMatchObject({
        __typename: "ReviewerNotEligibleError",
        ineligibility: "ALREADY_REVIEWED",
      });

      const second = await approve(carol, id, "ship it");
      expect(second.reviewRequest.status).toBe("APPLIED");
      expect(second.events.map((e: Json) => e.type)).toEqual([
        "ReviewRequestApproved",
        "ReviewRequestApplied",
        "ModelVersionStageTransitioned",
      ]);
      expect(second.events[2].causationId).toBe(id);
      expect(second.events[1].causationId).not.toBe(id);
      expect(await stageOf(1)).toBe("PRODUCTION");

      // The story in history and in the audit log.
      const history = await gql(admin, `{ history(name: "${MODEL}") { nodes { type causationId } } }`);
      const types = history.history.nodes.map((n: Json) => n.type);
      expect(types).toEqual(
        expect.arrayContaining([
          "ModelReviewPolicySet",
          "ReviewRequestOpened",
          "ReviewRequestApproved",
          "ReviewRequestApplied",
        ]),
      );
      const audit = await gql(
        admin,
        `{ auditLog(filter: { models: ["${MODEL}"], eventTypes: [ReviewRequestOpened, ReviewRequestApproved, ReviewRequestApplied, ModelVersionStageTransitioned] }) { ... on RegistryEventConnection { nodes { type causationId data } } } }`,
      );
      expect(audit.auditLog.nodes.map((n: Json) => n.type)).toEqual([
        "ReviewRequestOpened",
        "ReviewRequestApproved",
        "ReviewRequestApproved",
        "ReviewRequestApplied",
        "ModelVersionStageTransitioned",
      ]);
      expect(audit.auditLog.nodes[0].data).toMatchObject({
        requestId: id,
        version: 1,
        requesterId: alice.id,
        reason: "recall +4%",
      });

      // The reviewer saw the request open and each update; the requester saw its outcome.
      const seen = await reviewerFeed.waitFor(4);
      expect(seen.map((d: Json) => d.reviewRequestUpdates.event.type)).toEqual([
        "ReviewRequestOpened",
        "ReviewRequestApproved",
        "ReviewRequestApproved",
        "ReviewRequestApplied",
      ]);
      const outcome = await requesterFeed.waitFor(3);
      expect(outcome.map((d: Json) => d.reviewRequestUpdates.event.type)).toEqual([
        "ReviewRequestApproved",
        "ReviewRequestApproved",
        "ReviewRequestApplied",
      ]);
      expect(outcome[2].reviewRequestUpdates.reviewRequest).toEqual({ id, status: "APPLIED" });

      const onVersion = await gql(
        alice,
        `{ modelVersion(name: "${MODEL}", version: 1) { reviewRequests { id status } } }`,
      );
      expect(onVersion.modelVersion.reviewRequests).toEqual([{ id, status: "APPLIED" }]);
    } finally {
      reviewerFeed.dispose();
      requesterFeed.dispose();
      await bobWs.dispose();
      await aliceWs.dispose();
    }
  });

  it("names the first reviewer that does not exist, and a missing model before any reviewer", async () => {
    const nobody = "00000000-0000-4000-8000-000000000000";
    const rules = (reviewers: Record<string, string>[]) => [
      { stage: "STAGING", requiredApprovals: 1, reviewers: [{ principalId: bob.id }] },
      { stage: "PRODUCTION", requiredApprovals: 1, reviewers },
    ];
    // Repeated reviewers are one lookup; the first missing one, in order, is named.
    expect(
      await call(admin, "setModelReviewPolicy", {
        name: MODEL,
        rules: rules([
          { principalId: bob.id },
          { principalId: bob.id },
          { teamId: nobody },
          { principalId: nobody },
        ]),
      }),
    ).toMatchObject({
      __typename: "ValidationError",
      message: expect.stringContaining(`rules.1.reviewers.2: no team has the id ${nobody}`),
    });
    // A model that does not exist is missing whatever its reviewers: none is looked up for it.
    expect(
      await call(alice, "setModelReviewPolicy", {
        name: `${MODEL}-missing`,
        rules: rules([{ principalId: nobody }]),
      }),
    ).toMatchObject({ __typename: "NotFoundError" });
  });

  it("counts an approval only while its reviewer could still give it", async () => {
    const model = "lapsing-approvals";
    const dave = await persona("dave");
    const erin = await persona("erin");
    const frank = await persona("frank");
    const gina = await persona("gina");
    const team = (
      await call(admin, "createTeam", { name: "risk-lapse" }, "... on TeamPayload { team { id } }")
    ).team.id as string;
    const membership = { teamId: team, principalId: dave.id };
    await call(admin, "addTeamMember", membership);
    await call(admin, "createRegisteredModel", { name: model });
    await call(admin, "createModelVersion", { name: model, source: "s3://lapse/1" });
    await call(admin, "grantModelPermission", { name: model, principalId: alice.id, permission: "EDIT" });
    const reviewers = [{ teamId: team }, ...[erin, frank, gina].map((p) => ({ principalId: p.id }))];
    await call(admin, "setModelReviewPolicy", {
      name: model,
      rules: [{ stage: "PRODUCTION", requiredApprovals: 2, reviewers }],
    });
    const opened = await call(
      alice,
      "requestReview",
      { name: model, version: 1, stage: "PRODUCTION", reason: "ready" },
      REVIEW_PAYLOAD,
    );
    const id = opened.reviewRequest.id as string;
    const typesOf = (payload: Json) => (payload.events as { type: string }[]).map((e) => e.type);

    // dave approves as a member of the listed team, then leaves it: erin's approval is the only
    // one standing, and the request stays open.
    expect((await approve(dave, id)).reviewRequest.status).toBe("OPEN");
    await call(admin, "removeTeamMember", membership);
    const second = await approve(erin, id);
    expect(second.reviewRequest.status).toBe("OPEN");
    expect(second.reviewRequest.approvals).toHaveLength(2);
    expect(second.reviewRequest.countedApprovals).toBe(1);
    expect(typesOf(second)).toEqual(["ReviewRequestApproved"]);

    // erin is disabled: frank's approval stands alone too.
    await call(admin, "disablePrincipal", { principalId: erin.id });
    const third = await approve(frank, id);
    expect(typesOf(third)).toEqual(["ReviewRequestApproved"]);
    expect(third.reviewRequest).toMatchObject({ status: "OPEN", countedApprovals: 1 });

    // frank becomes a VIEWER (who may not approve) and dave rejoins the team: at gina's approval
    // dave's counts again, frank's does not, and two standing approvals apply the request.
    await call(admin, "setPrincipalRole", { principalId: frank.id, role: "VIEWER" });
    await call(admin, "addTeamMember", membership);
    const last = await approve(gina, id);
    expect(last.reviewRequest.status).toBe("APPLIED");
    expect(last.reviewRequest.countedApprovals).toBeNull();
    expect(typesOf(last)).toEqual([
      "ReviewRequestApproved",
      "ReviewRequestApplied",
      "ModelVersionStageTransitioned",
    ]);
    expect(last.reviewRequest.approvals.map((a: Json) => a.reviewer.id)).toEqual(
      [dave, erin, frank, gina].map((p) => p.id),
    );
  });

  it("makes a request stale when its version is deleted", async () => {
    const opened = await requestReview(alice, 2);
    const id = opened.reviewRequest.id as string;
    await call(admin, "deleteModelVersion", { name: MODEL, version: 2 });
    const after = await gql(
      alice,
      `{ reviewRequests(filter: { requestedBy: "${alice.id}", status: STALE }) { nodes { id status closedReason } } }`,
    );
    expect(after.reviewRequests.nodes).toEqual([
      { id, status: "STALE", closedReason: "version 2 was deleted" },
    ]);
    expect(await approve(bob, id)).toMatchObject({ __typename: "InvalidStateError" });
  });

  it("lets the requester cancel, not another reviewer; a rejection closes a request", async () => {
    const opened = await requestReview(alice, 3);
    const id = opened.reviewRequest.id as string;
    expect(await call(bob, "cancelReviewRequest", { id, reason: "mine now" }, REVIEW_PAYLOAD)).toMatchObject({
      __typename: "PermissionDeniedError",
    });
    const cancelled = await call(
      alice,
      "cancelReviewRequest",
      { id, reason: "wrong version" },
      REVIEW_PAYLOAD,
    );
    expect(cancelled.reviewRequest).toMatchObject({ status: "CANCELLED", closedReason: "wrong version" });

    const again = await requestReview(alice, 3);
    const rejected = await call(
      carol,
      "rejectReviewRequest",
      { id: again.reviewRequest.id, comment: "latency regressed" },
      REVIEW_PAYLOAD,
    );
    expect(rejected.reviewRequest).toMatchObject({ status: "REJECTED", closedReason: "latency regressed" });
    expect(await stageOf(3)).toBe("NONE");

    expect(await call(bob, "approveReviewRequest", { id: "no-such-request" }, REVIEW_PAYLOAD)).toMatchObject({
      __typename: "NotFoundError",
      resource: "ReviewRequest",
    });
  });

  it("lets only an admin bypass the policy, with the reason recorded", async () => {
    const input = {
      name: MODEL,
      version: 4,
      stage: "PRODUCTION",
      bypassReason: "incident 1234: roll forward",
    };
    expect(await call(alice, "transitionModelVersionStage", input)).toMatchObject({
      __typename: "PermissionDeniedError",
    });
    const done = await call(
      admin,
      "transitionModelVersionStage",
      input,
      "... on ModelVersionPayload { modelVersion { stage } events { type data } }",
    );
    expect(done.modelVersion.stage).toBe("PRODUCTION");
    expect(done.events.map((e: Json) => e.type)).toEqual([
      "ReviewPolicyBypassed",
      "ModelVersionStageTransitioned",
    ]);
    expect(done.events[0].data).toEqual({
      version: 4,
      target: { kind: "STAGE", stage: "Production", archiveExistingVersions: false },
      reason: "incident 1234: roll forward",
    });
  });
});
