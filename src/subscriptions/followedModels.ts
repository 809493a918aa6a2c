// Which model streams a name filter means. Names change (rename, delete and restore, a new model
// taking a freed name), stream ids do not, so a subscription filters events by stream id:
// - a name is resolved to the live model holding it when the subscription starts;
// - from then on the subscription follows that model by id, so its rename (and everything after)
//   is still delivered under the old subscription;
// - a model that takes one of the names later (created, renamed to it, restored under it) is
//   followed from that event on, so subscribing to a name before the model exists works.
// Models are never dropped from the set: once followed, a stream stays followed.
import type { RecordedEvent } from "../store/recordedEvent.ts";

export class FollowedModels {
  readonly #names: ReadonlySet<string>;
  readonly #ids: Set<string>;

  constructor(names: Iterable<string>, ids: Iterable<string>) {
    this.#names = new Set(names);
    this.#ids = new Set(ids);
  }

  /** Call for every event, in position order: true when the event belongs to a followed model. */
  observe(event: RecordedEvent): boolean {
    if (this.#names.size > 0 && this.#takesName(event)) this.#ids.add(event.streamId);
    return this.#ids.has(event.streamId);
  }

  #takesName(event: RecordedEvent): boolean {
    switch (event.type) {
      case "RegisteredModelCreated":
      case "RegisteredModelRestored":
        return this.#names.has(event.data.name);
      case "RegisteredModelRenamed":
        return this.#names.has(event.data.to);
      default:
        return false;
    }
  }
}
