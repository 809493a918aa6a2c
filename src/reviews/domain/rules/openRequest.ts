// The open request a command addresses; a closed (or unknown to the model) one is InvalidState.
import { InvalidStateError } from "../../../domain/errors.ts";
import type { ReviewState, OpenReview } from "../state.ts";

export function openRequest(state: ReviewState, requestId: string): OpenReview | InvalidStateError {
  const open = Object.hasOwn(state.openReviews, requestId) ? state.openReviews[requestId] : undefined;
  return open ?? new InvalidStateError(`review request ${requestId} is not open`);
}
