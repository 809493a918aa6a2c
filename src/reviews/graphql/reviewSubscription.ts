// `reviewRequestUpdates(role)`: for reviewers, the requests they may act on (opened, then each
// update until they close); for requesters, the outcome of their own requests (approvals,
// rejection, cancellation, application, staleness). Built on the shared live subscription, so
// cursors, resumption, access filtering and slow subscribers work as for `registryEvents`.
import type { Grantee } from "../../domain/modelPermissions.ts";
import { builder } from "../../graphql/builder.ts";
import { delivered, liveSubscription } from "../../graphql/liveSubscription.ts";
import type { LiveNotification } from "../../graphql/liveSubscription.ts";
import type { GraphQLContext } from "../../graphql/context.ts";
import { RegistryEventRef } from "../../graphql/types/registryEvent.ts";
import type { RecordedEvent } from "../../store/recordedEvent.ts";
import { reviewRequestOf } from "../domain/events.ts";
import { isListedReviewer } from "../domain/policy.ts";

type Role = "REVIEWER" | "REQUESTER";

const ReviewRoleEnum = builder.enumType("ReviewRole", {
  description: "Which review requests a subscriber follows.",
  values: {
    REVIEWER: {
      value: "REVIEWER",
      description:
        "Requests naming the caller (or one of its teams) as reviewer: each one opened, then its updates.",
    },
    REQUESTER: {
      value: "REQUESTER",
      description:
        "The outcome of the caller's own requests: approvals, rejection, cancellation, application, staleness.",
    },
  } as const,
});

const ReviewRequestUpdateRef = builder
  .objectRef<{ event: RecordedEvent; cursor: string }>("ReviewRequestUpdate")
  .implement({
    description: "A change to a review request the subscriber follows.",
    fields: (t) => ({
      event: t.field({
        type: RegistryEventRef,
        description: "The event (its `type` says what happened, its `data` the details).",
        resolve: (u) => u.event as unknown as typeof RegistryEventRef.$inferType,
      }),
      reviewRequest: t.prismaField({
        type: "ReviewRequest",
        nullable: true,
        description: "The request as it is now (null if the caller may no longer read its model).",
        resolve: (query, u, _args, ctx) =>
          ctx.reader.reviewRequest.findUnique({ ...query, where: { id: reviewRequestOf(u.event) ?? "" } }),
      }),
      modelId: t.string({
        description: "Id of the model the request belongs to (stable across renames).",
        resolve: (u) => u.event.streamId,
      }),
      cursor: t.exposeString("cursor", { description: "Resume after this update with `after`." }),
    }),
  });

const CLOSING = new Set([
  "ReviewRequestRejected",
  "ReviewRequestCancelled",
  "ReviewRequestApplied",
  "ReviewRequestStaled",
]);

function mayReview(
  ctx: GraphQLContext,
  opened: { reviewers: readonly Grantee[]; requesterId: string; allowSelfApproval: boolean },
): boolean {
  const me = ctx.caller.principal;
  // A listed reviewer follows with any credential (a read-only token too: watching is reading);
  // `ReviewRequest.canApprove` tells whether this credential may act.
  if (opened.requesterId === me.id && !opened.allowSelfApproval) return false;
  return isListedReviewer(opened.reviewers, me.id, me.teamIds);
}

/** The open requests the subscriber follows when it starts (later ones join as they open). */
async function followedAtStart(ctx: GraphQLContext, role: Role): Promise<Set<string>> {
  const me = ctx.caller.principal.id;
  const open = await ctx.reader.reviewRequest.findMany({
    where: { status: "OPEN", ...(role === "REQUESTER" ? { requesterId: me } : {}) },
    select: { id: true, reviewers: true, requesterId: true, allowSelfApproval: true },
  });
  return new Set(
    open
      .filter(
        (r) =>
          role === "REQUESTER" || mayReview(ctx, { ...r, reviewers: r.reviewers as unknown as Grantee[] }),
      )
      .map((r) => r.id),
  );
}

builder.subscriptionFields((t) => ({
  reviewRequestUpdates: t.field({
    type: ReviewRequestUpdateRef,
    description:
      "Review requests as they change. REVIEWER: requests naming the caller (or one of its teams) as reviewer, except its own unless the rule allows self-approval, from their opening to their close (`reviewRequest.canApprove` says whether this credential may act). REQUESTER: the outcome events of the caller's own requests. Only requests of models the caller may read.",
    args: {
      role: t.arg({ type: ReviewRoleEnum, description: "Follow as reviewer or as requester." }),
      after: t.arg.string({
        required: false,
        description: "Resume after this cursor (`ReviewRequestUpdate.cursor` of the last update received).",
      }),
    },
    subscribe: async (_root, args, ctx) => {
      const role = args.role;
      const me = ctx.caller.principal.id;
      const followed = await followedAtStart(ctx, role);
      return liveSubscription<RecordedEvent>(ctx, { after: args.after }, (event) => {
        if (event.type === "ReviewRequestOpened") {
          const follows = role === "REQUESTER" ? event.data.requesterId === me : mayReview(ctx, event.data);
          if (!follows) return [];
          followed.add(event.data.requestId);
          return role === "REVIEWER" ? [event] : [];
        }
        const id = reviewRequestOf(event);
        if (id === null || !followed.has(id)) return [];
        if (CLOSING.has(event.type)) followed.delete(id);
        return [event];
      });
    },
    resolve: (notification: LiveNotification<RecordedEvent>) => {
      const { value, cursor } = delivered(notification);
      return { event: value, cursor };
    },
  }),
}));
