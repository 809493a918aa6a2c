// Open review requests the events of a decision overtake, computed in this one place after any
// rule decides: a request whose version (or model) was deleted, a stage request whose version's
// stage changed by another route, an alias request whose alias was set or removed by another
// route. The request a decision closes itself (e.g. applies) is never staled.
import type { RegisteredModelEvent } from "../../domain/registeredModel/events.ts";
import type { ReviewRequestStaled } from "./events.ts";
import { reviewRequestOf } from "./events.ts";
import type { OpenReview, ReviewState } from "./state.ts";

function overtaken(review: OpenReview, event: RegisteredModelEvent): string | null {
  const target = review.target;
  switch (event.type) {
    case "RegisteredModelDeleted":
      return "the model was deleted";
    case "ModelVersionDeleted":
      if (event.data.version === review.version) return `version ${review.version} was deleted`;
      if (target.kind === "ALIAS" && event.data.removedAliases.includes(target.alias))
        return `alias ${target.alias} was removed with version ${event.data.version}`;
      return null;
    case "ModelVersionStageTransitioned":
      if (target.kind !== "STAGE") return null;
      if (event.data.version === review.version)
        return `version ${review.version} moved to ${event.data.to} by another route`;
      if (event.data.archived.some((a) => a.version === review.version))
        return `version ${review.version} was archived by another route`;
      return null;
    case "RegisteredModelAliasSet":
      return target.kind === "ALIAS" && event.data.alias === target.alias
        ? `alias ${target.alias} was set to version ${event.data.version} by another route`
        : null;
    case "RegisteredModelAliasDeleted":
      return target.kind === "ALIAS" && event.data.alias === target.alias
        ? `alias ${target.alias} was deleted by another route`
        : null;
    default:
      return null;
  }
}

export function staleRequests(
  state: ReviewState,
  events: readonly RegisteredModelEvent[],
): ReviewRequestStaled[] {
  const open = Object.values(state.openReviews);
  if (open.length === 0) return [];
  const touched = new Set(events.map(reviewRequestOf).filter((id) => id !== null));
  const staled: ReviewRequestStaled[] = [];
  for (const review of open) {
    if (touched.has(review.requestId)) continue;
    for (const event of events) {
      const reason = overtaken(review, event);
      if (reason !== null) {
        staled.push({ type: "ReviewRequestStaled", data: { requestId: review.requestId, reason } });
        break;
      }
    }
  }
  return staled;
}
