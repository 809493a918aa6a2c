// As-of reads against a real database: snapshots are written by a read that folds past a snapshot
// revision, used by the next one, and ignored when their fold version is not the code's or the
// event they end at no longer has the hash they were folded from. The time rule (stop at the first
// event recorded after the moment) holds when the clock steps back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asOfTarget, streamAsOf } from "../../src/application/modelAsOf.ts";
import type { AsOfTarget } from "../../src/application/modelAsOf.ts";
import type { CommandDeps } from "../../src/application/executeCommand.ts";
import { ValidationError } from "../../src/domain/errors.ts";
import { MODEL_HISTORY_FOLD_VERSION, encodeModelHistory } from "../../src/domain/registeredModel/history.ts";
import type { ModelHistory } from "../../src/domain/registeredModel/history.ts";
import { rebuildProjections } from "../../src/projections/rebuild.ts";
import { lastPosition, readStream } from "../../src/store/eventStore.ts";
import { commandDeps, createModelNamed, live, run } from "../support/application.ts";
import { openTestDatabase, providers } from "../support/databases.ts";

const INTERVAL = 10;
const T0 = Date.parse("2026-03-01T00:00:00Z");
const second = (n: number) => new Date(T0 + n * 1000);

describe.each(await providers())("as-of reads and snapshots on %s", (provider) => {
  let t: Awaited<ReturnType<typeof openTestDatabase>>;
  /** The clock the next command records; tests set it. */
  let now = second(0);
  let deps: CommandDeps;
  beforeAll(async () => {
    t = await openTestDatabase(provider);
    deps = { ...commandDeps(t.db), clock: () => now };
  });
  afterAll(async () => t?.close());

  const snapshotRows = (streamId: string) =>
    t.db.query<{ revision: number | string; fold_version: number | string; hash: string }>(
      "SELECT revision, fold_version, hash FROM model_state_snapshots WHERE stream_id = ? ORDER BY revision",
      [streamId],
    );
  const tamper = (streamId: string, revision: number, set: string, params: (string | number)[]) =>
    t.db.write((tx) =>
      tx.execute(`UPDATE model_state_snapshots SET ${set} WHERE stream_id = ? AND revision = ?`, [
        ...params,
        streamId,
        revision,
      ]),
    );
  const read = (streamId: string, target: AsOfTarget, snapshots = true) =>
    streamAsOf(t.db, streamId, target, { snapshots, interval: INTERVAL });

  /** A model with 25 events, one a second from second(1). */
  async function modelWith25Events(name: string) {
    now = second(1);
    const { modelId } = await createModelNamed(deps, `id-${name}`, name);
    for (let i = 2; i <= 25; i++) {
      now = second(i);
      await run(deps, live(name), {
        type: "SetRegisteredModelTag",
        data: { key: `k${i % 7}`, value: `v${i}` },
      });
    }
    return modelId;
  }

  it("writes snapshots while folding, then folds only the events after the latest one", async () => {
    const id = await modelWith25Events("snapshotted");
    const end = await lastPosition(t.db.reader);
    const full = await read(id, { position: end }, false);
    expect(full?.cost).toEqual({ fromRevision: 0, eventsFolded: 25, snapshotsWritten: 0 });
    expect(await snapshotRows(id)).toEqual([]);

    const first = await read(id, { position: end });
    expect(first?.cost).toEqual({ fromRevision: 0, eventsFolded: 25, snapshotsWritten: 2 });
    const rows = await snapshotRows(id);
    expect(rows.map((r) => [Number(r.revision), Number(r.fold_version)])).toEqual([
      [10, MODEL_HISTORY_FOLD_VERSION],
      [20, MODEL_HISTORY_FOLD_VERSION],
    ]);

    const second20 = await read(id, { position: end });
    expect(second20?.cost).toEqual({ fromRevision: 20, eventsFolded: 5, snapshotsWritten: 0 });
    expect(second20?.history).toStrictEqual(full?.history);
    expect(second20?.revision).toBe(25);

    // At a moment between revisions 15 and 16: starts from the snapshot at 10.
    const byTime = await read(id, { at: new Date(T0 + 15_500) });
    const byTimeFull = await read(id, { at: new Date(T0 + 15_500) }, false);
    expect(byTime?.cost).toMatchObject({ fromRevision: 10, eventsFolded: 5 });
    expect(byTime?.revision).toBe(15);
    expect(byTime?.history).toStrictEqual(byTimeFull?.history);

    // At the position of revision 12: the snapshot at 10, and two events.
    const events = await readStream(t.db.reader, id);
    const at12 = events[11]?.position ?? 0;
    const byPosition = await read(id, { position: at12 });
    expect(byPosition?.cost).toMatchObject({ fromRevision: 10, eventsFolded: 2 });
    expect(byPosition?.history).toStrictEqual((await read(id, { position: at12 }, false))?.history);
    expect(byPosition?.at).toEqual(second(12));
  });

  it("uses a snapshot only while its fold version is the code's and its end hash matches the event table", async () => {
    const id = await modelWith25Events("guarded");
    const end = await lastPosition(t.db.reader);
    const truth = await read(id, { position: end }, false);
    await read(id, { position: end });
    const forged: ModelHistory = {
      ...(truth?.history as ModelHistory),
      model: { ...(truth?.history.model as ModelHistory["model"]), name: "forged" },
    };

    // A valid row is trusted as it is: the forged state shows, which proves the snapshot is read.
    await tamper(id, 20, "state = ?", [encodeModelHistory(forged)]);
    expect((await read(id, { position: end }))?.state.name).toBe("forged");

    // Folded by other code: ignored (the fold starts at 10), and replaced by the refold.
    await tamper(id, 20, "fold_version = ?", [MODEL_HISTORY_FOLD_VERSION + 1]);
    const refolded = await read(id, { position: end });
    expect(refolded?.cost).toEqual({ fromRevision: 10, eventsFolded: 15, snapshotsWritten: 1 });
    expect(refolded?.state.name).toBe("guarded");
    expect(refolded?.history).toStrictEqual(truth?.history);
    expect((await snapshotRows(id)).map((r) => Number(r.fold_version))).toEqual([
      MODEL_HISTORY_FOLD_VERSION,
      MODEL_HISTORY_FOLD_VERSION,
    ]);
    expect((await read(id, { position: end }))?.cost.fromRevision).toBe(20);

    // Ends at a hash the event no longer has (the log below it was rewritten): ignored.
    await tamper(id, 20, "state = ?, hash = ?", [encodeModelHistory(forged), "0".repeat(64)]);
    const rehashed = await read(id, { position: end });
    expect(rehashed?.cost.fromRevision).toBe(10);
    expect(rehashed?.state.name).toBe("guarded");
    expect((await snapshotRows(id)).find((r) => Number(r.revision) === 20)?.hash).not.toBe("0".repeat(64));

    // Unreadable JSON: skipped for the one before it.
    await tamper(id, 20, "state = ?", ["{ not json"]);
    expect((await read(id, { position: end }, true))?.cost.fromRevision).toBe(10);
  });

  it("needs nothing from a projection rebuild: the snapshots stay valid and agree with the full fold", async () => {
    const id = await modelWith25Events("rebuilt");
    const end = await lastPosition(t.db.reader);
    await read(id, { position: end });
    await rebuildProjections(t.db);
    const after = await read(id, { position: end });
    expect(after?.cost.fromRevision).toBe(20);
    expect(after?.history).toStrictEqual((await read(id, { position: end }, false))?.history);
  });

  it("stops at the first event recorded after the moment when the clock steps back", async () => {
    now = second(100);
    const { modelId: id } = await createModelNamed(deps, "id-clock", "clock");
    const tag = (value: string) =>
      run(deps, live("clock"), { type: "SetRegisteredModelTag", data: { key: "k", value } });
    now = second(120);
    await tag("at-120");
    now = second(110); // the clock stepped back
    await tag("at-110");
    now = second(130);
    await tag("at-130");
    // At 115: "at-110" was stamped earlier but appended after a change stamped 120: not included.
    const at115 = await read(id, { at: second(115) });
    expect(at115?.revision).toBe(1);
    expect(at115?.state.tags).toEqual({});
    const at125 = await read(id, { at: second(125) });
    expect(at125?.revision).toBe(3);
    expect(at125?.state.tags).toEqual({ k: "at-110" });
    expect(await read(id, { at: second(99) })).toBeNull();
  });

  it("takes exactly one of a moment and a position, within the log", async () => {
    const end = await lastPosition(t.db.reader);
    await expect(asOfTarget(t.db, null, null)).rejects.toBeInstanceOf(ValidationError);
    await expect(asOfTarget(t.db, new Date(), 1)).rejects.toMatchObject({ field: "at" });
    await expect(asOfTarget(t.db, undefined, end + 1)).rejects.toMatchObject({
      code: "VALIDATION",
      field: "position",
    });
    await expect(asOfTarget(t.db, undefined, -1)).rejects.toMatchObject({ field: "position" });
    await expect(asOfTarget(t.db, undefined, end)).resolves.toEqual({ position: end });
  });
});
