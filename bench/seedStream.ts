// Seeding large logs for benchmarks: commands run on one model's stream the way executeCommand runs
// them (decide on the state kept with the projections, append, fold into the views), many to a
// transaction, with the views written once per transaction by the projection writer.
import { decisionState } from "../src/application/decisionState.ts";
import type { Database } from "../src/db/database.ts";
import { DomainError } from "../src/domain/errors.ts";
import type { RegisteredModelCommand } from "../src/domain/registeredModel/commands.ts";
import { decide } from "../src/domain/registeredModel/decide.ts";
import { applyEvents, loadStreamViews, persistStreamViews } from "../src/projections/streamViews.ts";
import type { StreamViews } from "../src/projections/streamViews.ts";
import { appendToStream } from "../src/store/eventStore.ts";
import type { EventMetadata } from "../src/store/recordedEvent.ts";

/**
 * Runs `next(views, n)` for n = 0, 1, 2… until it answers null, up to `perTransaction` commands per
 * write transaction; `metadata(n)` is what the n-th command's events are recorded with. Returns n.
 */
export async function seedStream(
  db: Database,
  modelId: string,
  next: (views: StreamViews, n: number) => RegisteredModelCommand | null,
  metadata: (n: number) => EventMetadata,
  perTransaction = 500,
): Promise<number> {
  let n = 0;
  // The newest version at the end of the previous transaction: the next transaction's first command
  // may name it (a stage transition right after its creation), and only the versions a load names
  // are in the views it gives.
  let newest = 0;
  for (let done = false; !done;) {
    await db.write(async (tx) => {
      const before = await loadStreamViews(tx, modelId, newest > 0 ? [newest] : [], null);
      let views = before;
      for (let i = 0; i < perTransaction; i++, n++) {
        const command = next(views, n);
        if (command === null) {
          done = true;
          break;
        }
        const events = decide(command, decisionState(views));
        if (events instanceof DomainError) throw events;
        const recorded = await appendToStream(tx, modelId, views.model?.revision ?? 0, events, metadata(n));
        views = applyEvents(views, recorded);
      }
      await persistStreamViews(tx, before, views);
      newest = views.model?.lastVersion ?? 0;
    });
  }
  return n;
}
