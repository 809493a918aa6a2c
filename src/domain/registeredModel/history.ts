// A model as history sees it: the decision state (./state.ts) plus what the rules never need but an
// audit asks about (a version's params, source and run, each artifact's role, size and media type).
// Kept apart from the decision state because that one is loaded from projections for every command
// (../../application/decisionState.ts) and must stay as small as the rules need.
//
// Its JSON form is what model snapshots store (src/store/modelSnapshots.ts): plain records only (no
// Map, Set, Date or undefined), so that `decodeModelHistory(encodeModelHistory(h))` equals `h`.
import type { ArtifactRole } from "../artifacts.ts";
import type { Params, RegisteredModelEvent } from "./events.ts";
import { evolve, initialState } from "./state.ts";
import type { RegisteredModelState } from "./state.ts";

/**
 * The version of `evolve` and `evolveHistory` that a stored snapshot was folded with. Bump it whenever
 * either changes what it produces for some event: older snapshots are then ignored and refolded. A
 * unit test fingerprints both functions so that a change cannot land without the bump.
 */
export const MODEL_HISTORY_FOLD_VERSION = 5;

export interface ArtifactRecord {
  readonly role: ArtifactRole;
  readonly size: number;
  readonly mediaType: string;
}

export interface VersionRecord {
  readonly source: string;
  readonly runId: string | null;
  readonly params: Params;
  /** By artifact path; the order and the verdicts are in the decision state's `artifacts`. */
  readonly artifacts: Readonly<Record<string, ArtifactRecord>>;
}

export interface ModelHistory {
  readonly model: RegisteredModelState;
  /** By version number, for every version ever created. */
  readonly records: Readonly<Record<number, VersionRecord>>;
}

export const initialModelHistory: ModelHistory = { model: initialState, records: {} };

function evolveRecords(
  records: Readonly<Record<number, VersionRecord>>,
  event: RegisteredModelEvent,
): Readonly<Record<number, VersionRecord>> {
  switch (event.type) {
    case "RegisteredModelCreated":
      return {};
    case "ModelVersionCreated":
      return {
        ...records,
        [event.data.version]: {
          source: event.data.source,
          runId: event.data.runId,
          params: event.data.params,
          artifacts: {},
        },
      };
    case "ModelVersionArtifactAdded": {
      const record = records[event.data.version];
      if (!record) return records;
      const { role, size, mediaType } = event.data;
      return {
        ...records,
        [event.data.version]: {
          ...record,
          artifacts: { ...record.artifacts, [event.data.path]: { role, size, mediaType } },
        },
      };
    }
    default:
      return records;
  }
}

export function evolveHistory(history: ModelHistory, event: RegisteredModelEvent): ModelHistory {
  const records = evolveRecords(history.records, event);
  return { model: evolve(history.model, event), records };
}

export function foldHistory(
  events: readonly RegisteredModelEvent[],
  from: ModelHistory = initialModelHistory,
): ModelHistory {
  return events.reduce(evolveHistory, from);
}

export const encodeModelHistory = (history: ModelHistory): string => JSON.stringify(history);

/**
 * The history a snapshot stored. Snapshots are written only by encodeModelHistory and are trusted
 * as far as their fold version and end hash vouch (see src/store/modelSnapshots.ts); this checks the
 * outline so that a damaged row is refused instead of answering with a malformed model.
 */
export function decodeModelHistory(text: string): ModelHistory | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(parsed) || !isRecord(parsed.model) || !isRecord(parsed.records)) return null;
  const model = parsed.model;
  if (
    !["absent", "live", "deleted"].includes(String(model.status)) ||
    !isRecord(model.versions) ||
    !isRecord(model.aliases) ||
    !isRecord(model.grants) ||
    !isRecord(model.tags) ||
    typeof model.lastVersion !== "number"
  )
    return null;
  return parsed as unknown as ModelHistory;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
