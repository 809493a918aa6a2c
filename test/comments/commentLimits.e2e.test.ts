// The bounds of comments over GraphQL: a comment's revisions come page by page (a Relay connection
// the item bound counts), a comment takes at most LIMITS.maxEditsPerComment edits, and a version holds
// at most LIMITS.maxCommentsPerVersion live comments; a comment already past a lowered limit stays
// readable and deletable.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "../../src/domain/validation.ts";
import { providers } from "../support/databases.ts";
import { errorSelection } from "../support/mutationResult.ts";
import { startTestServer } from "../support/server.ts";
import type { TestServer } from "../support/server.ts";

type Json = any;

const MODEL = "bounded-comments";
const b64 = (text: string) => Buffer.from(text).toString("base64");

/** The revisions of the version's comments (all of them, deleted too) with the given page arguments. */
const PAGE = `query($version: Int!, $first: Int, $after: String, $last: Int, $before: String) {
  modelVersion(name: "${MODEL}", version: $version) {
    comments(first: 20, includeDeleted: true) { nodes { id
      revisions(first: $first, after: $after, last: $last, before: $before) {
        totalCount edges { cursor node { action body } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } } } }`;

/** Sets a limit for the length of `body`, as a registry whose limit changed between releases. */
async function withLimit(
  key: "maxEditsPerComment" | "maxCommentsPerVersion",
  value: number,
  body: () => Promise<void>,
) {
  const limits = LIMITS as unknown as Record<typeof key, number>;
  const before = limits[key];
  limits[key] = value;
  try {
    await body();
  } finally {
    limits[key] = before;
  }
}

describe.each(await providers())("bounded comments (%s)", (provider) => {
  let server: TestServer;

  async function gql(query: string, variables: Record<string, unknown> = {}) {
    const answer = await server.gql<Json>(query, variables);
    expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
    return answer.data;
  }
  const add = async (body: string, version = 1) =>
    (
      await gql(
        `mutation($input: AddModelVersionCommentInput!) { addModelVersionComment(input: $input) {
          ${errorSelection("addModelVersionComment")} ... on ModelVersionCommentPayload { comment { id } } } }`,
        { input: { name: MODEL, version, body } },
      )
    ).addModelVersionComment;
  const edit = async (id: string, body: string) =>
    (
      await gql(
        `mutation($input: EditModelVersionCommentInput!) { editModelVersionComment(input: $input) {
          ${errorSelection("editModelVersionComment")}
          ... on ModelVersionCommentPayload { comment { editCount revisions { totalCount } } events { type } } } }`,
        { input: { id, body } },
      )
    ).editModelVersionComment;
  const remove = async (id: string) =>
    (
      await gql(
        `mutation($id: ID!) { deleteModelVersionComment(input: { id: $id }) { __typename
          ... on ModelVersionCommentPayload { comment { deleted revisions { totalCount } } events { type } } } }`,
        { id },
      )
    ).deleteModelVersionComment;
  /** `count` edits of a comment, 25 to an operation (the alias limit is 30), bodies `<prefix>1`, `<prefix>2`… */
  async function editMany(id: string, count: number, prefix = "edit ") {
    for (let from = 1; from <= count; from += 25) {
      const fields = [];
      for (let i = from; i < Math.min(from + 25, count + 1); i++)
        fields.push(
          `e${i}: editModelVersionComment(input: { id: $id, body: "${prefix}${i}" }) { __typename }`,
        );
      const data = await gql(`mutation($id: ID!) { ${fields.join("\n")} }`, { id });
      expect(new Set(Object.values(data).map((r: Json) => r.__typename))).toEqual(
        new Set(["ModelVersionCommentPayload"]),
      );
    }
  }
  /** The revisions page of one comment of `version`. */
  async function page(id: string, args: Record<string, unknown>, version = 1) {
    const data = await gql(PAGE, { version, ...args });
    return data.modelVersion.comments.nodes.find((c: Json) => c.id === id).revisions;
  }

  beforeAll(async () => {
    server = await startTestServer(provider);
    await gql(`mutation { createRegisteredModel(input: { name: "${MODEL}" }) { __typename } }`);
    for (const source of ["s3://b/1", "s3://b/2", "s3://b/3"])
      await gql(
        `mutation($s: String!) { createModelVersion(input: { name: "${MODEL}", source: $s }) { __typename } }`,
        { s: source },
      );
  });
  afterAll(async () => server?.close());

  it("pages a comment's revisions oldest first: first/after, last/before, totalCount", async () => {
    const id = (await add("v0")).comment.id;
    await editMany(id, 5);
    expect((await remove(id)).comment.revisions.totalCount).toBe(7);
    const bodies = (p: Json) => p.edges.map((e: Json) => e.node.body);

    const all = await page(id, {});
    expect(all.totalCount).toBe(7);
    expect(all.edges.map((e: Json) => e.node.action)).toEqual([
      "ADDED",
      ...Array<string>(5).fill("EDITED"),
      "DELETED",
    ]);
    expect(all.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });

    const first = await page(id, { first: 3 });
    expect(bodies(first)).toEqual(["v0", "edit 1", "edit 2"]);
    expect(first.totalCount).toBe(7);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await page(id, { first: 3, after: first.pageInfo.endCursor });
    expect(bodies(second)).toEqual(["edit 3", "edit 4", "edit 5"]);
    expect(second.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const third = await page(id, { first: 3, after: second.pageInfo.endCursor });
    expect(bodies(third)).toEqual([null]);
    expect(third.pageInfo.hasNextPage).toBe(false);

    const last = await page(id, { last: 2 });
    expect(bodies(last)).toEqual(["edit 5", null]);
    expect(last.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const before = await page(id, { last: 2, before: last.pageInfo.startCursor });
    expect(bodies(before)).toEqual(["edit 3", "edit 4"]);
    expect((await page(id, { first: 0 })).edges).toEqual([]);
    // Past the end: an empty page.
    expect((await page(id, { after: b64("OffsetConnection:1000") })).edges).toEqual([]);
  });

  it("reads different pages of different comments in one operation", async () => {
    const a = (await add("a0", 2)).comment.id;
    const b = (await add("b0", 2)).comment.id;
    await editMany(a, 3, "a");
    await editMany(b, 4, "b");
    const data = await gql(
      `{ modelVersion(name: "${MODEL}", version: 2) { comments(first: 10) { nodes { id author { displayName }
          head: revisions(first: 2) { nodes { body } } tail: revisions(last: 2) { nodes { body } } } } } }`,
    );
    const byId = new Map<string, Json>(data.modelVersion.comments.nodes.map((c: Json) => [c.id, c]));
    const bodies = (c: Json, which: "head" | "tail") => c[which].nodes.map((r: Json) => r.body);
    expect(bodies(byId.get(a), "head")).toEqual(["a0", "a1"]);
    expect(bodies(byId.get(a), "tail")).toEqual(["a2", "a3"]);
    expect(bodies(byId.get(b), "head")).toEqual(["b0", "b1"]);
    expect(bodies(byId.get(b), "tail")).toEqual(["b3", "b4"]);
    expect(byId.get(a).author.displayName).toBe(byId.get(b).author.displayName);
  });

  it("refuses a revisions cursor it did not issue with INVALID_CURSOR, never an internal error", async () => {
    const id = (await add("cursors")).comment.id;
    const listCursor = (
      await gql(
        `{ modelVersion(name: "${MODEL}", version: 1) { comments(first: 1) { pageInfo { endCursor } } } }`,
      )
    ).modelVersion.comments.pageInfo.endCursor;
    const cursors = [
      b64("OffsetConnection:-1"),
      b64("OffsetConnection:1.5"),
      b64("OffsetConnection:1x"),
      b64("OffsetConnection:01"),
      b64("OffsetConnection:99999999999999999999"),
      b64("OffsetConnection:"),
      b64("GPC:N:1"),
      "not base64 at all!",
      "",
      listCursor,
    ];
    for (const cursor of cursors)
      for (const args of [{ after: cursor }, { last: 1, before: cursor }]) {
        const answer = await server.gql<Json>(PAGE, { version: 1, ...args });
        expect(
          answer.errors?.map((e: Json) => e.extensions?.code),
          `${JSON.stringify(args)}: ${JSON.stringify(answer.errors)}`,
        ).toEqual(["INVALID_CURSOR"]);
      }
    // A cursor it issued still pages.
    const first = await page(id, { first: 1 });
    expect((await page(id, { after: first.pageInfo.endCursor })).edges).toEqual([]);
  });

  it("counts revisions pages in the item bound: ordinary pages pass, pages of pages that multiply past it do not", async () => {
    const ordinary = await server.gql<Json>(
      `{ modelVersion(name: "${MODEL}", version: 1) { comments(first: 50) { totalCount nodes { id body author { displayName }
          revisions { totalCount nodes { action body occurredAt actor { displayName } } pageInfo { hasNextPage endCursor } } } } } }`,
    );
    expect(ordinary.errors).toBeUndefined();
    // 500 comments of 500 revisions each: a quarter of a million objects.
    const multiplied = await server.gql<Json>(
      `{ modelVersion(name: "${MODEL}", version: 1) { comments(first: 500) { nodes { revisions(first: 500) { nodes { body } } } } } }`,
    );
    expect(multiplied.errors?.map((e: Json) => e.extensions?.code)).toEqual(["MAX_ITEMS_EXCEEDED"]);
    expect(multiplied.data ?? null).toBeNull();
  });

  it(`takes at most ${LIMITS.maxEditsPerComment} edits of a comment, then stays readable and deletable`, async () => {
    const max = LIMITS.maxEditsPerComment;
    const id = (await add("v0", 3)).comment.id;
    await editMany(id, max);
    const refused = await edit(id, "one more");
    expect(refused).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", field: "id" });
    expect(refused.message).toContain(`at most ${max}`);
    // The body it has still records nothing (a retry of the last edit succeeds).
    expect(await edit(id, `edit ${max}`)).toMatchObject({
      __typename: "ModelVersionCommentPayload",
      events: [],
      comment: { editCount: max, revisions: { totalCount: max + 1 } },
    });
    // Every revision, page by page.
    const bodies: (string | null)[] = [];
    let after: string | null = null;
    for (;;) {
      const revisions: Json = await page(id, { first: 50, after }, 3);
      bodies.push(...revisions.edges.map((e: Json) => e.node.body));
      if (!revisions.pageInfo.hasNextPage) break;
      after = revisions.pageInfo.endCursor;
    }
    expect(bodies).toEqual(["v0", ...Array.from({ length: max }, (_, i) => `edit ${i + 1}`)]);
    const removed = await remove(id);
    expect(removed).toMatchObject({ comment: { deleted: true, revisions: { totalCount: max + 2 } } });
  });

  it("keeps a comment edited past a lowered limit readable and deletable, and refuses it further edits", async () => {
    const id = (await add("old", 3)).comment.id;
    await withLimit("maxEditsPerComment", 10, () => editMany(id, 6, "old "));
    await withLimit("maxEditsPerComment", 4, async () => {
      expect(await edit(id, "newer")).toMatchObject({ __typename: "ValidationError", field: "id" });
      const revisions = await page(id, { last: 2 }, 3);
      expect(revisions.totalCount).toBe(7);
      expect(revisions.edges.map((e: Json) => e.node.body)).toEqual(["old 5", "old 6"]);
      expect((await remove(id)).comment).toEqual({ deleted: true, revisions: { totalCount: 8 } });
    });
  });

  it("holds at most the limit of live comments on a version: deleted ones and other versions do not count", async () => {
    await withLimit("maxCommentsPerVersion", 3, async () => {
      const version = 4;
      await gql(
        `mutation { createModelVersion(input: { name: "${MODEL}", source: "s3://b/4" }) { __typename } }`,
      );
      const ids = [];
      for (let i = 1; i <= 3; i++) ids.push((await add(`c${i}`, version)).comment.id);
      const full = await add("c4", version);
      expect(full).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", field: "version" });
      expect(full.message).toContain("already holds 3 live comments (at most 3)");
      // Another version has room of its own.
      expect((await add("elsewhere", 1)).__typename).toBe("ModelVersionCommentPayload");
      // Deleting one makes room; the tombstone does not count.
      expect((await remove(ids[0])).comment.deleted).toBe(true);
      expect((await add("c4", version)).__typename).toBe("ModelVersionCommentPayload");
      expect((await add("c5", version)).__typename).toBe("ValidationError");
      // Every comment stays editable and deletable at the limit.
      expect((await edit(ids[1], "c2 edited")).__typename).toBe("ModelVersionCommentPayload");
      const listed = await gql(
        `{ modelVersion(name: "${MODEL}", version: ${version}) { comments(includeDeleted: true) { totalCount } } }`,
      );
      expect(listed.modelVersion.comments.totalCount).toBe(4);
      // Input the command refuses is still answered by it, not by the count.
      expect(await add("x", 0)).toMatchObject({ __typename: "ValidationError", field: "version" });
      expect(await add("x", 99)).toMatchObject({ __typename: "NotFoundError", resource: "ModelVersion" });
      // A full version that was deleted is not there to comment on.
      await gql(
        `mutation { deleteModelVersion(input: { name: "${MODEL}", version: ${version} }) { __typename } }`,
      );
      expect(await add("x", version)).toMatchObject({
        __typename: "NotFoundError",
        resource: "ModelVersion",
      });
    });
  });

  it("holds the limit exactly when adds race each other", async () => {
    await withLimit("maxCommentsPerVersion", 3, async () => {
      const created = await gql(
        `mutation { createModelVersion(input: { name: "${MODEL}", source: "s3://b/race" }) {
           ... on ModelVersionPayload { modelVersion { version } } } }`,
      );
      const version = created.createModelVersion.modelVersion.version as number;
      // Twelve adds at once: counted before their commands ran they all saw room; counted in each
      // command's transaction after the stream's lock, three are added.
      const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => add(`race ${i}`, version)));
      expect(outcomes.filter((o) => o.__typename === "ModelVersionCommentPayload")).toHaveLength(3);
      expect(outcomes.filter((o) => o.__typename === "ValidationError")).toHaveLength(9);
      const listed = await gql(
        `{ modelVersion(name: "${MODEL}", version: ${version}) { comments { totalCount } } }`,
      );
      expect(listed.modelVersion.comments.totalCount).toBe(3);
    });
  });
});
