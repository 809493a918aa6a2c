// One model: description, tags and aliases (editable with EDIT), its versions with their metrics as
// columns, a chart of chosen metrics, the history timeline, permissions (MANAGE, AUDITOR, ADMIN),
// and the same model "as of" an earlier moment (registeredModelAsOf).
import { Suspense, lazy, useState } from "react";
import type { FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import {
  AliasChip,
  ColumnHeads,
  ErrorNote,
  Loading,
  Section,
  StageBadge,
  StatusText,
  VerdictBadge,
} from "../components.tsx";
import { eventLabel, formatMetric, formatTime, metricKeys, metricOf, worstVerdict } from "../format.ts";
import {
  DeleteModelTagDocument,
  ModelAsOfDocument,
  ModelDocument,
  ModelPermissionsDocument,
  SetModelTagDocument,
  UpdateDescriptionDocument,
} from "../generated/graphql.ts";
import type { ModelQuery, ModelVersionStatus, Stage } from "../generated/graphql.ts";
import { useLiveRefresh } from "../live.ts";
import { problemOf } from "../mutations.ts";
import { Link, comparePath, modelPath, navigate, useLocation, versionPath } from "../router.tsx";
import { useToast } from "../toasts.tsx";
import { allows, useViewer } from "../viewer.ts";
// Chart.js is most of the bundle's weight and only this page draws it: loaded when first needed.
const MetricsChart = lazy(() => import("./MetricsChart.tsx").then((m) => ({ default: m.MetricsChart })));

type Model = NonNullable<ModelQuery["registeredModel"]>;

/** Versions shown at first, and added by each "Show older versions" (the API gives at most 500). */
const VERSIONS_PAGE = 100;
const MAX_VERSIONS = 500;

/** At most this many metric columns (the chart and the version page show them all). */
const METRIC_COLUMNS = 8;

export function ModelPage({ name }: { name: string }) {
  const { search } = useLocation();
  const asOf = new URLSearchParams(search).get("asOf");
  const [versions, setVersions] = useState(VERSIONS_PAGE);
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: ModelDocument,
    variables: { name, versions },
    requestPolicy: "cache-and-network",
  });
  const refresh = () => reexecute({ requestPolicy: "network-only" });
  useLiveRefresh(name, refresh);
  const model = data?.registeredModel;
  if (fetching && !data) return <Loading what={name} />;
  if (error) return <ErrorNote message={error.message} />;
  if (!model)
    return (
      <div className="card">
        <h1>
          <bdi>{name}</bdi>
        </h1>
        <p>
          No model of this name (or you may not read it). <Link href="/">Back to the models</Link>.
        </p>
      </div>
    );
  return (
    <>
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link href="/">Models</Link> / <bdi aria-current="page">{model.name}</bdi>
      </nav>
      <div className="title-row">
        <h1>
          <bdi>{model.name}</bdi>
        </h1>
        {model.deleted && <span className="badge verdict-dangerous">deleted</span>}
        <span className="muted">
          registered by <bdi>{model.createdBy}</bdi> · last change {formatTime(model.updatedAt)} · you may{" "}
          <strong data-testid="my-permission">{model.myPermission.toLowerCase()}</strong>
        </span>
      </div>
      <AsOfPicker name={model.name} asOf={asOf} />
      {asOf !== null ? (
        <AsOfView name={model.name} at={asOf} />
      ) : (
        <Present
          model={model}
          refresh={refresh}
          onMore={versions < MAX_VERSIONS ? () => setVersions((n) => n + VERSIONS_PAGE) : null}
        />
      )}
    </>
  );
}

/** `refresh` fetches the model again after a change (its history gains the change's event). */
function Present(props: { model: Model; refresh: () => void; onMore: (() => void) | null }) {
  const { model, refresh } = props;
  const viewer = useViewer();
  const canEdit = allows(model.myPermission, "EDIT");
  const seesPermissions =
    allows(model.myPermission, "MANAGE") || viewer.role === "ADMIN" || viewer.role === "AUDITOR";
  return (
    <>
      <div className="grid-2">
        <Section title="Description">
          <Description model={model} canEdit={canEdit} refresh={refresh} />
        </Section>
        <Section title="Tags and aliases">
          <Tags model={model} canEdit={canEdit} refresh={refresh} />
          <h3>Aliases</h3>
          {model.aliases.length === 0 ? (
            <p className="muted">No aliases.</p>
          ) : (
            <p>
              {model.aliases.map((a) => (
                <Link key={a.alias} href={versionPath(model.name, a.version)} className="chip-link">
                  <AliasChip alias={`${a.alias} → v${a.version}`} />
                </Link>
              ))}
            </p>
          )}
        </Section>
      </div>
      <Versions model={model} onMore={props.onMore} />
      <Section title="Metrics across versions">
        <Suspense fallback={<Loading what="the chart" />}>
          <MetricsChart keys={metricKeys(model.versions.nodes)} versions={model.versions.nodes} />
        </Suspense>
      </Section>
      <div className="grid-2">
        <Section title="History">
          <Timeline model={model} />
        </Section>
        {seesPermissions && (
          <Section title="Permissions">
            <Permissions name={model.name} />
          </Section>
        )}
      </div>
    </>
  );
}

interface EditProps {
  readonly model: Model;
  readonly canEdit: boolean;
  readonly refresh: () => void;
}

function Description({ model, canEdit, refresh }: EditProps) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(model.description);
  const [problem, setProblem] = useState<string | null>(null);
  const [, update] = useMutation(UpdateDescriptionDocument);
  const save = async (event: FormEvent) => {
    event.preventDefault();
    const result = await update({ input: { name: model.name, description: text } });
    const failed = problemOf(result, "updateRegisteredModel");
    setProblem(failed);
    if (failed === null) {
      setEditing(false);
      refresh();
    }
  };
  if (editing)
    return (
      <form onSubmit={(e) => void save(e)}>
        <label htmlFor="description">Description</label>
        <textarea id="description" rows={4} value={text} onChange={(e) => setText(e.target.value)} />
        {problem && <ErrorNote message={problem} />}
        <div className="actions">
          <button type="submit">Save description</button>
          <button type="button" className="secondary" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </div>
      </form>
    );
  return (
    <>
      <p className="prose">{model.description || <span className="muted">No description.</span>}</p>
      {canEdit && (
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setText(model.description);
            setEditing(true);
          }}
        >
          Edit description
        </button>
      )}
    </>
  );
}

function Tags({ model, canEdit, refresh }: EditProps) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [, setTag] = useMutation(SetModelTagDocument);
  const [, deleteTag] = useMutation(DeleteModelTagDocument);
  const add = async (event: FormEvent) => {
    event.preventDefault();
    const failed = problemOf(
      await setTag({ input: { name: model.name, key: key.trim(), value } }),
      "setRegisteredModelTag",
    );
    setProblem(failed);
    if (failed === null) {
      setKey("");
      setValue("");
      refresh();
    }
  };
  const remove = async (tagKey: string) => {
    const failed = problemOf(
      await deleteTag({ input: { name: model.name, key: tagKey } }),
      "deleteRegisteredModelTag",
    );
    setProblem(failed);
    if (failed === null) refresh();
  };
  return (
    <>
      {model.tags.length === 0 ? (
        <p className="muted">No tags.</p>
      ) : (
        <ul className="tags" aria-label="Tags">
          {model.tags.map((tag) => (
            <li key={tag.key} className="chip">
              <bdi>{tag.key}</bdi>
              {tag.value && (
                <>
                  =<bdi>{tag.value}</bdi>
                </>
              )}
              {canEdit && (
                <button
                  type="button"
                  className="chip-remove"
                  aria-label={`Remove tag ${tag.key}`}
                  onClick={() => void remove(tag.key)}
                >
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {canEdit && (
        <form className="row" onSubmit={(e) => void add(e)} aria-label="Add a tag">
          <div className="field">
            <label htmlFor="tag-key">Tag key</label>
            <input
              id="tag-key"
              required
              maxLength={250}
              value={key}
              onChange={(e) => setKey(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="tag-value">Tag value</label>
            <input id="tag-value" maxLength={5000} value={value} onChange={(e) => setValue(e.target.value)} />
          </div>
          <button type="submit">Set tag</button>
        </form>
      )}
      {problem && <ErrorNote message={problem} />}
    </>
  );
}

function Versions({ model, onMore }: { model: Model; onMore: (() => void) | null }) {
  const [selected, setSelected] = useState<readonly number[]>([]);
  const versions = model.versions.nodes;
  const keys = metricKeys(versions).slice(0, METRIC_COLUMNS);
  const toggle = (version: number, on: boolean) =>
    setSelected((all) => (on ? [...all, version] : all.filter((v) => v !== version)));
  return (
    <Section title={`Versions (${model.versions.totalCount})`} id="versions">
      {versions.length === 0 ? (
        <p className="muted">No versions yet.</p>
      ) : (
        <>
          <div className="actions">
            <button
              type="button"
              disabled={selected.length < 2}
              onClick={() => navigate(comparePath(model.name, selected))}
            >
              Compare selected ({selected.length})
            </button>
            <span className="muted">Select two or more versions to compare them side by side.</span>
          </div>
          <div className="table-wrap">
            <table className="versions">
              <thead>
                <tr>
                  <th scope="col">
                    <span className="visually-hidden">Compare</span>
                  </th>
                  <th scope="col">Version</th>
                  <th scope="col">Stage</th>
                  <th scope="col">Aliases</th>
                  <th scope="col">Status</th>
                  <th scope="col">Verdict</th>
                  {keys.map((key) => (
                    <th scope="col" key={key} className="num">
                      {key}
                    </th>
                  ))}
                  <th scope="col">Registered</th>
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr key={v.id} data-version={v.version}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select version ${v.version} to compare`}
                        checked={selected.includes(v.version)}
                        onChange={(e) => toggle(v.version, e.target.checked)}
                      />
                    </td>
                    <th scope="row">
                      <Link href={versionPath(model.name, v.version)}>v{v.version}</Link>
                    </th>
                    <StageAliasesStatus v={v} />
                    <td>
                      {v.artifacts.length === 0 ? (
                        <span className="muted">no files</span>
                      ) : (
                        <VerdictBadge verdict={worstVerdict(v.artifacts)} />
                      )}
                    </td>
                    {keys.map((key) => {
                      const value = metricOf(v, key);
                      return (
                        <td key={key} className="num">
                          {value === undefined ? "" : formatMetric(value)}
                        </td>
                      );
                    })}
                    <td>
                      <time dateTime={v.createdAt}>{formatTime(v.createdAt)}</time>
                      <span className="muted">
                        {" "}
                        by <bdi>{v.createdBy}</bdi>
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {model.versions.totalCount > versions.length && (
            <div className="actions">
              <span className="muted">
                The newest {versions.length} of {model.versions.totalCount} versions.
              </span>
              {onMore && (
                <button type="button" className="secondary" onClick={onMore}>
                  Show older versions
                </button>
              )}
            </div>
          )}
        </>
      )}
    </Section>
  );
}

function Timeline({ model }: { model: Model }) {
  const events = [...model.history.nodes].reverse();
  return (
    <>
      <ol className="timeline" aria-label="Events, newest first">
        {events.map((event) => (
          <li key={event.id}>
            <strong>{eventLabel(event.type)}</strong>
            <span className="muted">
              {" "}
              by <bdi>{event.actor.displayName}</bdi> ·{" "}
              <time dateTime={event.occurredAt}>{formatTime(event.occurredAt)}</time> · #{event.position}
            </span>
          </li>
        ))}
      </ol>
      {model.history.totalCount > events.length && (
        <p className="muted">
          The last {events.length} of {model.history.totalCount} events.
        </p>
      )}
    </>
  );
}

function Permissions({ name }: { name: string }) {
  const [{ data, fetching, error }] = useQuery({ query: ModelPermissionsDocument, variables: { name } });
  if (fetching && !data) return <Loading what="permissions" />;
  if (error) return <ErrorNote message={error.message} />;
  const grants = data?.registeredModel?.permissions ?? [];
  if (grants.length === 0) return <p className="muted">No grants: the registry's default applies.</p>;
  return (
    <table>
      <ColumnHeads names={["Grantee", "Kind", "Permission"]} />
      <tbody>
        {grants.map((g) => (
          <tr key={`${g.granteeKind}:${g.granteeId}`}>
            <td>{g.principal?.displayName ?? g.team?.name ?? g.granteeId}</td>
            <td>{g.granteeKind === "TEAM" ? "team" : "principal"}</td>
            <td>{g.permission.toLowerCase()}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `datetime-local` speaks local wall time without a zone; the API takes an instant. */
const toLocalInput = (iso: string) => {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
};

function AsOfPicker({ name, asOf }: { name: string; asOf: string | null }) {
  const [value, setValue] = useState(asOf === null ? "" : toLocalInput(asOf));
  const toast = useToast();
  const show = (event: FormEvent) => {
    event.preventDefault();
    const at = new Date(value);
    if (Number.isNaN(at.getTime())) return toast("Pick a date and time first.");
    navigate(`${modelPath(name)}?asOf=${encodeURIComponent(at.toISOString())}`);
  };
  return (
    <form className="as-of card" onSubmit={show} aria-label="Audit: the model as of a moment">
      <label htmlFor="as-of">As of</label>
      <input
        id="as-of"
        type="datetime-local"
        step={1}
        value={value}
        onChange={(e) => setValue(e.target.value)}
      />
      <button type="submit">Show as of then</button>
      {asOf !== null && (
        <button type="button" className="secondary" onClick={() => navigate(modelPath(name))}>
          Back to now
        </button>
      )}
    </form>
  );
}

function AsOfView({ name, at }: { name: string; at: string }) {
  const valid = !Number.isNaN(new Date(at).getTime());
  const [{ data, fetching, error }] = useQuery({
    query: ModelAsOfDocument,
    variables: { name, at },
    pause: !valid,
  });
  if (!valid) return <ErrorNote message={`"${at}" is not a date.`} />;
  if (fetching && !data) return <Loading what="the model as it was" />;
  if (error) return <ErrorNote message={error.message} />;
  const then = data?.registeredModelAsOf;
  if (!then) return <p className="card">The model did not exist yet at {formatTime(at)}.</p>;
  const keys = metricKeys(then.versions).slice(0, METRIC_COLUMNS);
  return (
    <section className="card as-of-view" aria-labelledby="as-of-heading">
      <h2 id="as-of-heading">
        As of <time dateTime={then.at}>{formatTime(then.at)}</time>{" "}
        <span className="muted">
          (log position {then.position}, revision {then.revision})
        </span>
      </h2>
      {then.name !== name && (
        <p>
          It was named <bdi>{then.name}</bdi> then.
        </p>
      )}
      {then.deleted && <p>It was deleted then.</p>}
      <p className="prose">{then.description || <span className="muted">No description.</span>}</p>
      <p>
        {then.tags.map((t) => (
          <span className="chip" key={t.key}>
            <bdi>{t.key}</bdi>=<bdi>{t.value}</bdi>
          </span>
        ))}
        {then.aliases.map((a) => (
          <AliasChip key={a.alias} alias={`${a.alias} → v${a.version}`} />
        ))}
      </p>
      <div className="table-wrap">
        <table className="versions">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Stage</th>
              <th scope="col">Aliases</th>
              <th scope="col">Status</th>
              <th scope="col">Verdict</th>
              {keys.map((key) => (
                <th scope="col" key={key} className="num">
                  {key}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {[...then.versions]
              .sort((a, b) => b.version - a.version)
              .map((v) => (
                <tr key={v.version} data-version={v.version}>
                  <th scope="row">
                    v{v.version}
                    {v.deleted && <span className="muted"> (deleted)</span>}
                  </th>
                  <StageAliasesStatus v={v} />
                  <td>{v.artifacts.length > 0 && <VerdictBadge verdict={worstVerdict(v.artifacts)} />}</td>
                  {keys.map((key) => {
                    const value = metricOf(v, key);
                    return (
                      <td key={key} className="num">
                        {value === undefined ? "" : formatMetric(value)}
                      </td>
                    );
                  })}
                </tr>
              ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** A version row's stage, aliases and status cells, in the versions table and the as-of view. */
function StageAliasesStatus({
  v,
}: {
  v: { stage: Stage; aliases: readonly string[]; status: ModelVersionStatus };
}) {
  return (
    <>
      <td>
        <StageBadge stage={v.stage} />
      </td>
      <td>
        {v.aliases.map((alias) => (
          <AliasChip key={alias} alias={alias} />
        ))}
      </td>
      <td>
        <StatusText status={v.status} />
      </td>
    </>
  );
}
