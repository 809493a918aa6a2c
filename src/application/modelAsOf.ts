// Audits ask what a model looked like at a moment in the past ("what was in Production on 3 March?").
// The answer is the domain's own fold over the model's events up to that moment: the same evolve
// that decides commands, so history and current state can never disagree.
import type { Db } from "../db/database.ts";
import { fold } from "../domain/registeredModel/state.ts";
import type { RegisteredModelState } from "../domain/registeredModel/state.ts";
import { toRecordedEvent } from "../store/eventStore.ts";

export interface ModelAsOf {
  readonly at: Date;
  readonly modelId: string;
  /** Revision of the last event at or before `at`. */
  readonly revision: number;
  readonly state: RegisteredModelState;
}

/**
 * The model whose current name (live, else most recently deleted) is `name`, as it was at `at`;
 * null when no such model exists or it had not been registered yet.
 */
export async function modelAsOf(db: Db, name: string, at: Date): Promise<ModelAsOf | null> {
  const model = await db.registeredModel.findFirst({
    where: { name },
    orderBy: [{ deleted: "asc" }, { deletedAt: "desc" }],
    select: { id: true },
  });
  if (!model) return null;
  const rows = await db.event.findMany({
    where: { streamId: model.id, occurredAt: { lte: at } },
    orderBy: { revision: "asc" },
  });
  const events = rows.map(toRecordedEvent);
  const last = events.at(-1);
  if (!last) return null;
  return { at, modelId: model.id, revision: last.revision, state: fold(events) };
}
