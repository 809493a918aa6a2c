// The models: searched, filtered and sorted by the API (registeredModels' filter and orderBy), one
// page at a time (Relay cursors), so a registry of thousands of models loads as fast as one of ten.
import { useEffect, useRef, useState } from "react";
import { useQuery } from "urql";
import { AliasChip, ErrorNote, StageBadge } from "../components.tsx";
import { STAGES, formatTime, stageLabel } from "../format.ts";
import { ModelsDocument } from "../generated/graphql.ts";
import type {
  ModelsQuery,
  OrderDirection,
  RegisteredModelFilter,
  RegisteredModelSortField,
  Stage,
} from "../generated/graphql.ts";
import { Link, modelPath, navigate } from "../router.tsx";

type Row = ModelsQuery["registeredModels"]["nodes"][number];

const PAGE_SIZES = [25, 50, 100] as const;
const SORTS: readonly { field: RegisteredModelSortField; label: string }[] = [
  { field: "NAME", label: "Name" },
  { field: "UPDATED_AT", label: "Last change" },
  { field: "CREATED_AT", label: "Registered" },
];

interface Search {
  readonly q: string;
  readonly stage: Stage | "";
  readonly alias: string;
  readonly tag: string;
  readonly deleted: boolean;
  readonly sort: RegisteredModelSortField;
  readonly dir: OrderDirection;
  readonly size: number;
}

function readSearch(): Search {
  const p = new URLSearchParams(location.search);
  const stage = p.get("stage") ?? "";
  const sort = p.get("sort") ?? "NAME";
  const size = Number(p.get("size"));
  return {
    q: p.get("q") ?? "",
    stage: (STAGES as readonly string[]).includes(stage) ? (stage as Stage) : "",
    alias: p.get("alias") ?? "",
    tag: p.get("tag") ?? "",
    deleted: p.get("deleted") === "1",
    sort: SORTS.some((s) => s.field === sort) ? (sort as RegisteredModelSortField) : "NAME",
    dir: p.get("dir") === "DESC" ? "DESC" : "ASC",
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : 50,
  };
}

function writeSearch(search: Search) {
  const p = new URLSearchParams();
  if (search.q) p.set("q", search.q);
  if (search.stage) p.set("stage", search.stage);
  if (search.alias) p.set("alias", search.alias);
  if (search.tag) p.set("tag", search.tag);
  if (search.deleted) p.set("deleted", "1");
  if (search.sort !== "NAME") p.set("sort", search.sort);
  if (search.dir !== "ASC") p.set("dir", search.dir);
  if (search.size !== 50) p.set("size", String(search.size));
  const query = p.toString();
  navigate(query ? `/?${query}` : "/", true);
}

/** The API filter for the form's fields (empty fields are left out: the API refuses blank text). */
function filterOf(search: Search): RegisteredModelFilter {
  const filter: RegisteredModelFilter = {};
  if (search.q.trim()) filter.text = search.q.trim().slice(0, 256);
  if (search.stage) filter.stage = search.stage;
  if (search.alias.trim()) filter.alias = search.alias.trim();
  if (search.deleted) filter.includeDeleted = true;
  const tag = search.tag.trim();
  if (tag) {
    const at = tag.indexOf("=");
    filter.tag = at < 0 ? { key: tag } : { key: tag.slice(0, at), value: tag.slice(at + 1) };
  }
  return filter;
}

/** Debounced copy of `value`: the API is asked once typing pauses. */
function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export function ModelsPage() {
  const [search, setSearch] = useState(readSearch);
  const [cursors, setCursors] = useState<readonly (string | null)[]>([null]);
  const settled = useDebounced(search, 250);
  useEffect(() => {
    writeSearch(settled);
    setCursors([null]);
  }, [settled]);
  const after = cursors[cursors.length - 1] ?? null;
  const [{ data, fetching, error }] = useQuery({
    query: ModelsDocument,
    variables: {
      first: settled.size,
      after,
      filter: filterOf(settled),
      orderBy: { field: settled.sort, direction: settled.dir },
    },
    // Shown from the cache at once, then refreshed: a list field (latestVersions) is not updated
    // by the live events the way a version's own fields are.
    requestPolicy: "cache-and-network",
  });
  const models = data?.registeredModels;
  const marked = useRef(false);
  useEffect(() => {
    // The browser test reads this mark: from navigation start to the first page of rows on screen.
    if (models && !marked.current) {
      marked.current = true;
      performance.mark("registro:models-interactive");
    }
  }, [models]);
  const set = (change: Partial<Search>) => setSearch((s) => ({ ...s, ...change }));
  const firstIndex = (cursors.length - 1) * settled.size;

  return (
    <>
      <h1>Models</h1>
      <form
        className="filters card"
        role="search"
        onSubmit={(e) => e.preventDefault()}
        aria-label="Find models"
      >
        <div className="field grow">
          <label htmlFor="q">Search</label>
          <input
            id="q"
            type="search"
            value={search.q}
            placeholder="Name or description"
            onChange={(e) => set({ q: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="stage">Stage</label>
          <select
            id="stage"
            value={search.stage}
            onChange={(e) => set({ stage: e.target.value as Stage | "" })}
          >
            <option value="">Any</option>
            {STAGES.map((stage) => (
              <option key={stage} value={stage}>
                {stageLabel(stage)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="alias">Alias</label>
          <input
            id="alias"
            value={search.alias}
            placeholder="champion"
            onChange={(e) => set({ alias: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="tag">Tag</label>
          <input
            id="tag"
            value={search.tag}
            placeholder="team=fraud"
            onChange={(e) => set({ tag: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="sort">Sort by</label>
          <select
            id="sort"
            value={search.sort}
            onChange={(e) => set({ sort: e.target.value as RegisteredModelSortField })}
          >
            {SORTS.map((s) => (
              <option key={s.field} value={s.field}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="dir">Order</label>
          <select
            id="dir"
            value={search.dir}
            onChange={(e) => set({ dir: e.target.value as OrderDirection })}
          >
            <option value="ASC">Ascending</option>
            <option value="DESC">Descending</option>
          </select>
        </div>
        <label className="inline deleted-toggle">
          <input
            type="checkbox"
            checked={search.deleted}
            onChange={(e) => set({ deleted: e.target.checked })}
          />{" "}
          Include deleted
        </label>
      </form>
      {error && <ErrorNote message={error.message} />}
      <div className="card">
        <p className="muted" role="status" aria-live="polite">
          {models
            ? models.totalCount === 0
              ? "No models match."
              : `Models ${firstIndex + 1}–${firstIndex + models.nodes.length} of ${models.totalCount.toLocaleString()}`
            : fetching
              ? "Loading models…"
              : ""}
        </p>
        <div className="table-wrap">
          <table className="models" aria-busy={fetching}>
            <thead>
              <tr>
                <SortHeader label="Name" field="NAME" search={search} set={set} />
                <th scope="col">Latest version</th>
                <th scope="col">Owner</th>
                <th scope="col">Stages</th>
                <th scope="col">Aliases</th>
                <SortHeader label="Last change" field="UPDATED_AT" search={search} set={set} />
              </tr>
            </thead>
            <tbody>
              {models?.nodes.map((model) => (
                <ModelRow key={model.id} model={model} />
              ))}
            </tbody>
          </table>
        </div>
        <div className="pager">
          <button
            type="button"
            className="secondary"
            disabled={cursors.length === 1}
            onClick={() => setCursors((c) => c.slice(0, -1))}
          >
            ← Previous
          </button>
          <div className="field inline">
            <label htmlFor="size">Per page</label>
            <select id="size" value={search.size} onChange={(e) => set({ size: Number(e.target.value) })}>
              {PAGE_SIZES.map((size) => (
                <option key={size}>{size}</option>
              ))}
            </select>
          </div>
          <button
            type="button"
            className="secondary"
            disabled={!models?.pageInfo.hasNextPage}
            onClick={() => models?.pageInfo.endCursor && setCursors((c) => [...c, models.pageInfo.endCursor])}
          >
            Next →
          </button>
        </div>
      </div>
    </>
  );
}

function SortHeader(props: {
  label: string;
  field: RegisteredModelSortField;
  search: Search;
  set: (change: Partial<Search>) => void;
}) {
  const active = props.search.sort === props.field;
  const sort = active ? (props.search.dir === "ASC" ? "ascending" : "descending") : "none";
  return (
    <th scope="col" aria-sort={sort}>
      <button
        type="button"
        className="sort"
        onClick={() =>
          props.set({ sort: props.field, dir: active && props.search.dir === "ASC" ? "DESC" : "ASC" })
        }
      >
        {props.label} {active ? (props.search.dir === "ASC" ? "▲" : "▼") : ""}
      </button>
    </th>
  );
}

function ModelRow({ model }: { model: Row }) {
  const latest = model.latestVersions.reduce((max, v) => Math.max(max, v.version), 0);
  const stages = STAGES.filter(
    (stage) => stage !== "NONE" && model.latestVersions.some((v) => v.stage === stage),
  );
  return (
    <tr>
      <th scope="row">
        <Link href={modelPath(model.name)}>{model.name}</Link>
        {model.deleted && <span className="badge verdict-dangerous">deleted</span>}
      </th>
      <td>{latest > 0 ? `v${latest}` : <span className="muted">none</span>}</td>
      <td>{model.createdBy}</td>
      <td>
        {stages.map((stage) => (
          <StageBadge key={stage} stage={stage} />
        ))}
      </td>
      <td>
        {model.aliases.map((a) => (
          <AliasChip key={a.alias} alias={`${a.alias} → v${a.version}`} />
        ))}
      </td>
      <td>
        <time dateTime={model.updatedAt}>{formatTime(model.updatedAt)}</time>
      </td>
    </tr>
  );
}
