// Comments on model versions over GraphQL (issue 12): added by a reader who may write, listed on the
// version oldest first, edited with the history kept (revisions, model history, audit log), deleted
// as tombstones; only the author or a manager may change one; hostile input gets typed errors; and a
// projection rebuild reproduces the comments from the log.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { providers } from "../support/databases.ts";
import { dumpProjections } from "../support/dumpProjections.ts";
import { errorSelection } from "../support/mutationResult.ts";
import { createServiceAccount } from "../support/serviceAccounts.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

type Json = any;

const MODEL = "commented-model";
const COMMENT_FIELDS = `id body authorId author { id displayName kind } createdAt updatedAt edited editCount
  deleted deletedAt modelVersion { version }
  revisions { totalCount nodes { action body actor { id } occurredAt position } }`;

const mutation = (field: string) =>
  `mutation($input: ${field.charAt(0).toUpperCase()}${field.slice(1)}Input!) { ${field}(input: $input) {
    ${errorSelection(field)} ... on ModelVersionCommentPayload { comment { ${COMMENT_FIELDS} } events { type data } } } }`;

const COMMENTS = `query($name: String!, $version: Int!, $includeDeleted: Boolean, $first: Int, $after: String) {
  modelVersion(name: $name, version: $version) {
    comments(includeDeleted: $includeDeleted, first: $first, after: $after) {
      totalCount nodes { ${COMMENT_FIELDS} } pageInfo { hasNextPage endCursor } } } }`;

describe.each(await providers())("comments on model versions (%s)", (provider) => {
  let server: TestServer;
  const who: Record<"admin" | "bob" | "carol", Record<string, string>> = { admin: {}, bob: {}, carol: {} };
  const ids = { admin: "", bob: "", carol: "" };
  let commentId = "";

  async function gql(as: keyof typeof who, query: string, variables: Record<string, unknown> = {}) {
    const answer = await server.gql<Json>(query, variables, who[as]);
    expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
    return answer.data;
  }
  const run = async (as: keyof typeof who, field: string, input: Record<string, unknown>) =>
    (await gql(as, mutation(field), { input }))[field];

  async function member(displayName: string): Promise<[string, Record<string, string>]> {
    const account = await createServiceAccount((q, v, h) => server.gql(q, v, h), displayName, who.admin);
    return [account.id, account.headers];
  }

  beforeAll(async () => {
    server = await startTestServer(provider);
    ids.admin = (await gql("admin", `{ viewer { id } }`)).viewer.id;
    [ids.bob, who.bob] = await member("bob");
    [ids.carol, who.carol] = await member("carol");
    await gql("admin", `mutation { createRegisteredModel(input: { name: "${MODEL}" }) { __typename } }`);
    for (const source of ["s3://b/1", "s3://b/2"])
      await gql(
        "admin",
        `mutation($s: String!) { createModelVersion(input: { name: "${MODEL}", source: $s }) { __typename } }`,
        { s: source },
      );
    await gql(
      "admin",
      `mutation { deleteModelVersion(input: { name: "${MODEL}", version: 2 }) { __typename } }`,
    );
  });
  afterAll(async () => server?.close());

  it("adds a comment as any reader who may write: markdown stored as written, author from the credential", async () => {
    const body = "LGTM, but see <script>alert('x')</script> and **this**.\n\n```py\nprint(1)\n```";
    const result = await run("bob", "addModelVersionComment", { name: MODEL, version: 1, body });
    expect(result.__typename).toBe("ModelVersionCommentPayload");
    const comment = result.comment;
    commentId = comment.id;
    expect(comment.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(comment).toMatchObject({
      body,
      authorId: ids.bob,
      author: { id: ids.bob, displayName: "bob", kind: "SERVICE_ACCOUNT" },
      edited: false,
      editCount: 0,
      deleted: false,
      deletedAt: null,
      modelVersion: { version: 1 },
      revisions: { totalCount: 1, nodes: [{ action: "ADDED", body, actor: { id: ids.bob } }] },
    });
    expect(result.events).toEqual([
      {
        type: "ModelVersionCommentAdded",
        data: { commentId: comment.id, version: 1, body, authorId: ids.bob },
      },
    ]);
  });

  it("lists a version's comments oldest first, page by page", async () => {
    const second = await run("carol", "addModelVersionComment", { name: MODEL, version: 1, body: "second" });
    const third = await run("admin", "addModelVersionComment", { name: MODEL, version: 1, body: "third" });
    const first = await gql("admin", COMMENTS, { name: MODEL, version: 1, first: 2 });
    const page = first.modelVersion.comments;
    expect(page.totalCount).toBe(3);
    expect(page.nodes.map((c: Json) => c.id)).toEqual([commentId, second.comment.id]);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const rest = await gql("admin", COMMENTS, {
      name: MODEL,
      version: 1,
      first: 2,
      after: page.pageInfo.endCursor,
    });
    expect(rest.modelVersion.comments.nodes.map((c: Json) => c.body)).toEqual(["third"]);
    expect(third.comment.author.id).toBe(ids.admin);
  });

  it("keeps the history of edits: revisions, model history and the audit log", async () => {
    const edited = await run("bob", "editModelVersionComment", { id: commentId, body: "LGTM." });
    expect(edited.comment).toMatchObject({ body: "LGTM.", edited: true, editCount: 1, deleted: false });
    expect(edited.comment.revisions.nodes.map((r: Json) => [r.action, r.body])).toEqual([
      ["ADDED", expect.stringContaining("LGTM, but see")],
      ["EDITED", "LGTM."],
    ]);
    // The body it has already records nothing.
    const again = await run("bob", "editModelVersionComment", { id: commentId, body: "LGTM." });
    expect(again.__typename).toBe("ModelVersionCommentPayload");
    expect(again.events).toEqual([]);
    expect(again.comment.editCount).toBe(1);

    const history = await gql(
      "admin",
      `query($n: String!) { registeredModel(name: $n) { history(first: 100) { nodes { type data actor { id } } } } }`,
      { n: MODEL },
    );
    const commentEvents = history.registeredModel.history.nodes.filter(
      (e: Json) => e.type.startsWith("ModelVersionComment") && e.data.commentId === commentId,
    );
    expect(commentEvents.map((e: Json) => [e.type, e.data.body, e.actor.id])).toEqual([
      ["ModelVersionCommentAdded", expect.stringContaining("LGTM, but see"), ids.bob],
      ["ModelVersionCommentEdited", "LGTM.", ids.bob],
    ]);
    const audit = await gql(
      "admin",
      `query($n: String!) { auditLog(filter: { models: [$n], eventTypes: [ModelVersionCommentEdited] }) {
        ... on RegistryEventConnection { nodes { type data } } } }`,
      { n: MODEL },
    );
    expect(audit.auditLog.nodes).toEqual([
      { type: "ModelVersionCommentEdited", data: { commentId, version: 1, body: "LGTM." } },
    ]);
  });

  it("lets no one but the author, or a manager of the model, edit or delete a comment", async () => {
    const edit = await run("carol", "editModelVersionComment", { id: commentId, body: "hijacked" });
    expect(edit).toMatchObject({
      __typename: "PermissionDeniedError",
      code: "PERMISSION_DENIED",
      operation: "EditModelVersionComment",
    });
    const remove = await run("carol", "deleteModelVersionComment", { id: commentId });
    expect(remove).toMatchObject({
      __typename: "PermissionDeniedError",
      operation: "DeleteModelVersionComment",
    });
    const still = await gql("admin", COMMENTS, { name: MODEL, version: 1 });
    expect(still.modelVersion.comments.nodes[0]).toMatchObject({
      id: commentId,
      body: "LGTM.",
      editCount: 1,
    });
  });

  it("deletes as a manager: a tombstone without a body, listed only on request, its bodies kept in the log", async () => {
    const granted = await gql(
      "admin",
      `mutation($p: ID!) { grantModelPermission(input: { name: "${MODEL}", principalId: $p, permission: MANAGE }) { __typename } }`,
      { p: ids.carol },
    );
    expect(granted.grantModelPermission.__typename).toBe("RegisteredModelPayload");
    const removed = await run("carol", "deleteModelVersionComment", { id: commentId });
    expect(removed.comment).toMatchObject({ id: commentId, body: null, deleted: true, editCount: 1 });
    expect(removed.comment.deletedAt).not.toBeNull();
    expect(removed.comment.revisions.totalCount).toBe(3);
    expect(removed.comment.revisions.nodes.map((r: Json) => [r.action, r.body, r.actor.id])).toEqual([
      ["ADDED", expect.stringContaining("LGTM, but see"), ids.bob],
      ["EDITED", "LGTM.", ids.bob],
      ["DELETED", null, ids.carol],
    ]);
    expect(removed.events).toEqual([{ type: "ModelVersionCommentDeleted", data: { commentId, version: 1 } }]);

    const live = await gql("admin", COMMENTS, { name: MODEL, version: 1 });
    expect(live.modelVersion.comments.totalCount).toBe(2);
    expect(live.modelVersion.comments.nodes.map((c: Json) => c.id)).not.toContain(commentId);
    const all = await gql("admin", COMMENTS, { name: MODEL, version: 1, includeDeleted: true });
    expect(all.modelVersion.comments.totalCount).toBe(3);
    expect(all.modelVersion.comments.nodes[0]).toMatchObject({ id: commentId, deleted: true, body: null });

    // Deleting again records nothing; editing a deleted comment is refused, even for its author.
    const again = await run("bob", "deleteModelVersionComment", { id: commentId });
    expect(again.__typename).toBe("ModelVersionCommentPayload");
    expect(again.events).toEqual([]);
    const edit = await run("bob", "editModelVersionComment", { id: commentId, body: "back" });
    expect(edit).toMatchObject({ __typename: "InvalidStateError", code: "INVALID_STATE" });
  });

  it("answers hostile input with typed errors", async () => {
    const add = (body: string, version = 1, name = MODEL) =>
      run("bob", "addModelVersionComment", { name, version, body });
    for (const body of ["", "  \n\t", "x".repeat(65_537), "nul\u0000", "half \ud800 a pair", "\udfff"])
      expect(await add(body), JSON.stringify(body.slice(0, 20))).toMatchObject({
        __typename: "ValidationError",
        field: "body",
      });
    expect((await add("x".repeat(65_536))).__typename).toBe("ModelVersionCommentPayload");
    expect(await add("on a deleted version", 2)).toMatchObject({
      __typename: "NotFoundError",
      resource: "ModelVersion",
    });
    expect(await add("nowhere", 9)).toMatchObject({ __typename: "NotFoundError", resource: "ModelVersion" });
    expect(await add("x", 0)).toMatchObject({ __typename: "ValidationError", field: "version" });
    expect(await add("x", 1, "no-such-model")).toMatchObject({
      __typename: "NotFoundError",
      resource: "RegisteredModel",
    });

    for (const id of ["00000000-0000-4000-8000-000000000000", "nope", "", "y".repeat(10_000)]) {
      expect(await run("bob", "editModelVersionComment", { id, body: "x" })).toMatchObject({
        __typename: "NotFoundError",
        resource: "Comment",
      });
      expect(await run("bob", "deleteModelVersionComment", { id })).toMatchObject({
        __typename: "NotFoundError",
        resource: "Comment",
      });
    }
    for (const id of ["nul\u0000", "\ud800"])
      expect(await run("bob", "deleteModelVersionComment", { id })).toMatchObject({
        __typename: "ValidationError",
        field: "id",
      });
  });

  it("shows each mutation of an operation the comment's events as that mutation left them", async () => {
    const added = await run("bob", "addModelVersionComment", { name: MODEL, version: 1, body: "draft" });
    const edits = await gql(
      "bob",
      `mutation($id: ID!) {
        first: editModelVersionComment(input: { id: $id, body: "one" }) {
          ... on ModelVersionCommentPayload { comment { revisions { nodes { body } } } } }
        second: editModelVersionComment(input: { id: $id, body: "two" }) {
          ... on ModelVersionCommentPayload { comment { revisions { nodes { body } } } } } }`,
      { id: added.comment.id },
    );
    expect(edits.first.comment.revisions.nodes.map((r: Json) => r.body)).toEqual(["draft", "one"]);
    expect(edits.second.comment.revisions.nodes.map((r: Json) => r.body)).toEqual(["draft", "one", "two"]);
  });

  it("reads the authors of a page of comments without the bodies of their edits", async () => {
    // An author may edit a comment up to 100 times, each edit a whole body of up to 65,536
    // characters: answering `author` read every body the comments ever had (here 30 x 60,000).
    const added = await run("bob", "addModelVersionComment", { name: MODEL, version: 1, body: "v0" });
    for (let i = 1; i <= 30; i++)
      await run("bob", "editModelVersionComment", {
        id: added.comment.id,
        body: `${i} ${"x".repeat(60_000)}`,
      });
    const query = vi.spyOn(server.registro.db, "query");
    try {
      const page = await gql(
        "admin",
        `query($name: String!) { modelVersion(name: $name, version: 1) { comments(first: 100) { nodes { id author { id } } } } }`,
        { name: MODEL },
      );
      const nodes = page.modelVersion.comments.nodes;
      expect(nodes.find((c: Json) => c.id === added.comment.id).author.id).toBe(ids.bob);
      // The comment's events read (other readers of the log, such as subscriptions, run meanwhile).
      const read: unknown[] = [];
      for (const [i, [sql]] of query.mock.calls.entries())
        if (sql.includes("commentId"))
          for (const row of (await query.mock.results[i]!.value) as { data: unknown }[]) {
            const data: Json = typeof row.data === "string" ? JSON.parse(row.data) : row.data;
            if (data.commentId === added.comment.id) read.push(data.body);
          }
      expect(read).toEqual(["v0"]);
      // Revisions, asked for with the author, are read in the same query.
      query.mockClear();
      const both = await gql(
        "admin",
        `query($name: String!) { modelVersion(name: $name, version: 1) { comments(first: 100) { nodes { id author { id } revisions(first: 40) { nodes { body } } } } } }`,
        { name: MODEL },
      );
      const mine = both.modelVersion.comments.nodes.find((c: Json) => c.id === added.comment.id);
      expect(mine.author.id).toBe(ids.bob);
      expect(mine.revisions.nodes).toHaveLength(31);
      expect(query.mock.calls.filter(([sql]) => sql.includes("commentId"))).toHaveLength(1);
    } finally {
      query.mockRestore();
    }
  });

  it("reads the events of a page of comments with one query", async () => {
    const query = vi.spyOn(server.registro.db, "query");
    try {
      const page = await gql("admin", COMMENTS, { name: MODEL, version: 1, includeDeleted: true });
      const comments = page.modelVersion.comments.nodes;
      expect(comments.length).toBeGreaterThanOrEqual(5);
      for (const comment of comments) expect(comment.author.id).toBe(comment.revisions.nodes[0].actor.id);
      expect(query.mock.calls.filter(([sql]) => sql.includes("commentId"))).toHaveLength(1);
    } finally {
      query.mockRestore();
    }
  });

  it("is rebuilt from the log exactly as the commands wrote it", async () => {
    const before = await dumpProjections(server.registro.db.reader);
    expect(before.modelVersionComments!.length).toBe(6);
    await rebuildProjections(server.registro.db);
    expect(await dumpProjections(server.registro.db.reader)).toEqual(before);
  });
});
