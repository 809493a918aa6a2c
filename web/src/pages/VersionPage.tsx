// One version: what it is (lineage, params, metrics, signature, artifacts), where it runs
// (deployments, consumers), what people said (review requests, comments), and what the viewer may do
// to it: move its stage, point or remove aliases, ask for or approve a review, upload its files.
import { useState } from "react";
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
import { STAGES, formatBytes, formatMetric, formatTime, stageLabel } from "../format.ts";
import {
  AddCommentDocument,
  ApproveReviewDocument,
  DeleteAliasDocument,
  RequestReviewDocument,
  SetAliasDocument,
  TransitionStageDocument,
  VersionConsumersDocument,
  VersionDocument,
} from "../generated/graphql.ts";
import type { Stage, VersionQuery } from "../generated/graphql.ts";
import { useLiveRefresh } from "../live.ts";
import { problemOf, typenameOf } from "../mutations.ts";
import { Link, modelPath } from "../router.tsx";
import { useToast } from "../toasts.tsx";
import { allows, useViewer } from "../viewer.ts";
import { ArtifactLink, SignatureTable, ParamsTable } from "./versionParts.tsx";
import { UploadFiles } from "./UploadFiles.tsx";

type Version = NonNullable<VersionQuery["modelVersion"]>;

/** The usage summary covers this many days back. */
const USAGE_DAYS = 30;

export function VersionPage({ name, version }: { name: string; version: number }) {
  const viewer = useViewer();
  // Fixed for the page's life (whole days), so the query's variables, and its cache entry, stay put.
  const [usageFrom] = useState(
    () => new Date(Date.now() - USAGE_DAYS * 86_400_000).toISOString().slice(0, 10) + "T00:00:00Z",
  );
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: VersionDocument,
    variables: { name, version, usageFrom },
    requestPolicy: "cache-and-network",
  });
  const refresh = () => reexecute({ requestPolicy: "network-only" });
  useLiveRefresh(name, refresh);
  const v = data?.modelVersion;
  if (fetching && !data) return <Loading what={`${name} v${version}`} />;
  if (error) return <ErrorNote message={error.message} />;
  if (!v)
    return (
      <div className="card">
        <h1>
          <bdi>{name}</bdi> v{version}
        </h1>
        <p>
          No such version (or you may not read it). <Link href={modelPath(name)}>Back to {name}</Link>.
        </p>
      </div>
    );
  const canEdit = allows(v.model.myPermission, "EDIT");
  return (
    <>
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link href="/">Models</Link> / <Link href={modelPath(v.model.name)}>{v.model.name}</Link> /{" "}
        <span aria-current="page">v{v.version}</span>
      </nav>
      <div className="title-row">
        <h1>
          <bdi>{v.model.name}</bdi> <span className="muted">v{v.version}</span>
        </h1>
        <StageBadge stage={v.stage} />
        <StatusText status={v.status} />
        {v.aliases.map((alias) => (
          <AliasChip key={alias} alias={alias} />
        ))}
      </div>
      {canEdit && <Actions v={v} refresh={refresh} />}
      {canEdit && v.status === "PENDING_REGISTRATION" && (
        <Section title="Upload files">
          <UploadFiles
            name={v.model.name}
            version={v.version}
            existing={v.artifacts.map((a) => a.path)}
            refresh={refresh}
          />
        </Section>
      )}
      <div className="grid-2">
        <Section title="Lineage">
          <dl className="facts">
            <dt>Source</dt>
            <dd>
              <code>{v.source}</code>
            </dd>
            <dt>Run</dt>
            <dd>{v.runId ? <code>{v.runId}</code> : <span className="muted">none</span>}</dd>
            <dt>Registered</dt>
            <dd>
              {formatTime(v.createdAt)} by <bdi>{v.createdBy}</bdi>
            </dd>
            <dt>Last change</dt>
            <dd>{formatTime(v.updatedAt)}</dd>
            <dt>Description</dt>
            <dd className="prose">{v.description || <span className="muted">none</span>}</dd>
            <dt>Tags</dt>
            <dd>
              {v.tags.length === 0 ? (
                <span className="muted">none</span>
              ) : (
                v.tags.map((t) => (
                  <span className="chip" key={t.key}>
                    <bdi>{t.key}</bdi>=<bdi>{t.value}</bdi>
                  </span>
                ))
              )}
            </dd>
          </dl>
        </Section>
        <Section title="Metrics">
          {v.metrics.length === 0 ? (
            <p className="muted">No metrics.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col" className="num">
                    Value
                  </th>
                </tr>
              </thead>
              <tbody>
                {v.metrics.map((m) => (
                  <tr key={m.key}>
                    <th scope="row">{m.key}</th>
                    <td className="num">{formatMetric(m.value)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
      </div>
      <Section title="Parameters">
        <ParamsTable params={v.params} />
      </Section>
      <Section title="Signature">
        <SignatureTable signature={v.signature} />
      </Section>
      <Section title={`Artifacts (${v.artifacts.length})`} id="artifacts">
        <Artifacts v={v} />
      </Section>
      <div className="grid-2">
        <Section title="Deployments">
          <Deployments v={v} />
        </Section>
        <Section title={`Usage, last ${USAGE_DAYS} days`} id="usage">
          <Usage totals={v.usage.totals} />
        </Section>
        {allows(v.model.myPermission, "MANAGE") || viewer.role === "ADMIN" || viewer.role === "AUDITOR" ? (
          <Section title="Consumers">
            <Consumers name={v.model.name} version={v.version} />
          </Section>
        ) : null}
      </div>
      <Section title="Review requests">
        <Reviews v={v} refresh={refresh} />
      </Section>
      <Section title="Comments">
        <Comments v={v} canComment={canEdit} refresh={refresh} />
      </Section>
    </>
  );
}

function Actions({ v, refresh }: { v: Version; refresh: () => void }) {
  const toast = useToast();
  const [chosenStage, setStage] = useState<Stage>("PRODUCTION");
  // The stages it can move to; after a move (here or live) the one chosen may be where it is now.
  const targets = STAGES.filter((s) => s !== v.stage);
  const stage = targets.includes(chosenStage) ? chosenStage : (targets[0] ?? "NONE");
  const [archive, setArchive] = useState(true);
  const [comment, setComment] = useState("");
  const [alias, setAlias] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [review, setReview] = useState<{ stage?: Stage; alias?: string } | null>(null);
  const [reason, setReason] = useState("");
  const [, transition] = useMutation(TransitionStageDocument);
  const [, setAliasTo] = useMutation(SetAliasDocument);
  const [, deleteAlias] = useMutation(DeleteAliasDocument);
  const [, requestReview] = useMutation(RequestReviewDocument);
  const base = { name: v.model.name, version: v.version };

  const move = async (event: FormEvent) => {
    event.preventDefault();
    const archiving = (stage === "STAGING" || stage === "PRODUCTION") && archive;
    const result = await transition({
      input: { ...base, stage, archiveExistingVersions: archiving, ...(comment.trim() ? { comment } : {}) },
    });
    const failed = problemOf(result, "transitionModelVersionStage");
    setProblem(failed);
    if (typenameOf(result, "transitionModelVersionStage") === "ApprovalRequiredError") setReview({ stage });
    // The live notice (App's LiveUpdates) says it, here and in every other open page.
    if (failed === null) {
      setComment("");
      refresh();
    }
  };
  const point = async (event: FormEvent) => {
    event.preventDefault();
    const name = alias.trim();
    const result = await setAliasTo({ input: { ...base, alias: name } });
    const failed = problemOf(result, "setRegisteredModelAlias");
    setProblem(failed);
    if (typenameOf(result, "setRegisteredModelAlias") === "ApprovalRequiredError") setReview({ alias: name });
    if (failed === null) {
      setAlias("");
      refresh();
    }
  };
  const remove = async (name: string) => {
    const failed = problemOf(
      await deleteAlias({ input: { name: v.model.name, alias: name } }),
      "deleteRegisteredModelAlias",
    );
    setProblem(failed);
    if (failed === null) refresh();
  };
  const ask = async (event: FormEvent) => {
    event.preventDefault();
    if (review === null) return;
    const failed = problemOf(await requestReview({ input: { ...base, ...review, reason } }), "requestReview");
    setProblem(failed);
    if (failed === null) {
      setReview(null);
      setReason("");
      toast("Review requested");
      refresh();
    }
  };
  const protectedTargets = v.model.reviewPolicy.length > 0;

  return (
    <section className="card actions-card" aria-labelledby="actions-heading">
      <h2 id="actions-heading">Actions</h2>
      <div className="grid-2">
        <form onSubmit={(e) => void move(e)} aria-label="Transition stage">
          <div className="row">
            <div className="field">
              <label htmlFor="target-stage">Move to stage</label>
              <select id="target-stage" value={stage} onChange={(e) => setStage(e.target.value as Stage)}>
                {targets.map((s) => (
                  <option key={s} value={s}>
                    {stageLabel(s)}
                  </option>
                ))}
              </select>
            </div>
            <div className="field grow">
              <label htmlFor="stage-comment">Comment</label>
              <input
                id="stage-comment"
                value={comment}
                maxLength={5000}
                onChange={(e) => setComment(e.target.value)}
              />
            </div>
          </div>
          <label className="inline">
            <input type="checkbox" checked={archive} onChange={(e) => setArchive(e.target.checked)} /> Archive
            the versions now in that stage
          </label>
          <div className="actions">
            <button type="submit" disabled={v.status !== "READY"}>
              Transition
            </button>
            {v.status !== "READY" && <span className="muted">Only ready versions change stage.</span>}
          </div>
        </form>
        <div>
          <form onSubmit={(e) => void point(e)} className="row" aria-label="Set alias">
            <div className="field grow">
              <label htmlFor="alias-name">Point an alias here</label>
              <input
                id="alias-name"
                required
                pattern="[A-Za-z_][A-Za-z0-9_\-]{0,254}"
                value={alias}
                placeholder="champion"
                onChange={(e) => setAlias(e.target.value)}
              />
            </div>
            <button type="submit" disabled={v.status !== "READY"}>
              Set alias
            </button>
          </form>
          {v.aliases.length > 0 && (
            <p>
              {v.aliases.map((name) => (
                <AliasChip key={name} alias={name} onRemove={() => void remove(name)} />
              ))}
            </p>
          )}
          {protectedTargets && review === null && (
            <button type="button" className="secondary" onClick={() => setReview({ stage: "PRODUCTION" })}>
              Request a review…
            </button>
          )}
        </div>
      </div>
      {problem && <ErrorNote message={problem} />}
      {review !== null && (
        <form onSubmit={(e) => void ask(e)} className="review-form" aria-label="Request a review">
          <p>
            Ask the reviewers to{" "}
            {review.alias !== undefined
              ? `point @${review.alias} at v${v.version}`
              : `move v${v.version} to ${stageLabel(review.stage ?? "PRODUCTION")}`}
            .
          </p>
          {review.alias === undefined && (
            <div className="field">
              <label htmlFor="review-stage">Stage</label>
              <select
                id="review-stage"
                value={review.stage ?? "PRODUCTION"}
                onChange={(e) => setReview({ stage: e.target.value as Stage })}
              >
                {STAGES.filter((s) => s !== v.stage).map((s) => (
                  <option key={s} value={s}>
                    {stageLabel(s)}
                  </option>
                ))}
              </select>
            </div>
          )}
          <label htmlFor="review-reason">Why</label>
          <textarea
            id="review-reason"
            required
            rows={2}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
          />
          <div className="actions">
            <button type="submit">Request review</button>
            <button type="button" className="secondary" onClick={() => setReview(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

function Artifacts({ v }: { v: Version }) {
  if (v.artifacts.length === 0)
    return <p className="muted">No files{v.status === "PENDING_REGISTRATION" ? " yet" : ""}.</p>;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Path</th>
            <th scope="col">Role</th>
            <th scope="col">Format</th>
            <th scope="col" className="num">
              Size
            </th>
            <th scope="col">SHA-256</th>
            <th scope="col">Verdict</th>
            <th scope="col">Findings</th>
          </tr>
        </thead>
        <tbody>
          {v.artifacts.map((a) => (
            <tr key={a.path}>
              <th scope="row">
                <ArtifactLink path={a.path} url={a.downloadUrl} />
                {a.integrity !== "OK" && (
                  <span className="badge verdict-dangerous"> {a.integrity.toLowerCase()}</span>
                )}
              </th>
              <td>{a.role.toLowerCase()}</td>
              <td>
                {a.format ?? <span className="muted">—</span>}
                {a.formatVersion && <span className="muted"> {a.formatVersion}</span>}
                <div className="muted small">{a.mediaType}</div>
              </td>
              <td className="num">{formatBytes(a.size)}</td>
              <td>
                <code className="digest" title={a.sha256}>
                  {a.sha256.slice(0, 12)}…
                </code>
              </td>
              <td>
                <VerdictBadge verdict={a.verdict} />
              </td>
              <td>
                {a.findings.length === 0 ? (
                  <span className="muted">none</span>
                ) : (
                  <ul className="findings">
                    {a.findings.map((f, i) => (
                      <li key={i}>
                        <span className={`badge severity-${f.severity.toLowerCase()}`}>
                          {f.severity.toLowerCase()}
                        </span>{" "}
                        {f.message}
                        {f.location && <span className="muted"> ({f.location})</span>}
                      </li>
                    ))}
                  </ul>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Deployments({ v }: { v: Version }) {
  const deployments = v.deployments.nodes;
  if (deployments.length === 0) return <p className="muted">Not recorded as deployed anywhere.</p>;
  return (
    <table>
      <ColumnHeads names={["Environment", "Endpoint", "Since", "State"]} />
      <tbody>
        {deployments.map((d) => (
          <tr key={`${d.environment}:${d.deployedAt}`}>
            <th scope="row">{d.environment}</th>
            <td>
              <code>{d.endpoint}</code>
              {d.description && <div className="muted small">{d.description}</div>}
            </td>
            <td>
              {formatTime(d.deployedAt)}{" "}
              <span className="muted">
                by <bdi>{d.deployedBy.displayName}</bdi>
              </span>
            </td>
            <td>{d.active ? "serving" : `retired ${d.retiredAt ? formatTime(d.retiredAt) : ""}`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Usage({ totals }: { totals: Version["usage"]["totals"] }) {
  const latency =
    totals.latencyP50Ms === null
      ? "none reported"
      : `p50 ${formatMetric(totals.latencyP50Ms)} ms, p99 ≤ ${formatMetric(totals.latencyP99Ms ?? totals.latencyP50Ms)} ms`;
  return (
    <dl className="facts">
      <dt>Downloads</dt>
      <dd>
        {totals.downloads.toLocaleString()} ({formatBytes(totals.bytes)})
      </dd>
      <dt>Serving requests</dt>
      <dd>
        {totals.requests.toLocaleString()}, {totals.errors.toLocaleString()} failed
      </dd>
      <dt>Latency</dt>
      <dd>{latency}</dd>
    </dl>
  );
}

function Consumers({ name, version }: { name: string; version: number }) {
  const [{ data, error }] = useQuery({ query: VersionConsumersDocument, variables: { name, version } });
  if (error) return <ErrorNote message={error.message} />;
  const consumers = data?.modelVersion?.consumers;
  if (!consumers) return <Loading what="consumers" />;
  if (consumers.totalCount === 0) return <p className="muted">Nobody downloaded its files yet.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Who</th>
          <th scope="col" className="num">
            Downloads
          </th>
          <th scope="col" className="num">
            Bytes
          </th>
          <th scope="col">Last seen</th>
        </tr>
      </thead>
      <tbody>
        {consumers.nodes.map((c) => (
          <tr key={c.principalId}>
            <th scope="row">{c.principal?.displayName ?? c.principalId}</th>
            <td className="num">{c.downloads}</td>
            <td className="num">{formatBytes(c.bytes)}</td>
            <td>{formatTime(c.lastSeenAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Reviews({ v, refresh }: { v: Version; refresh: () => void }) {
  const [, approve] = useMutation(ApproveReviewDocument);
  const [problem, setProblem] = useState<string | null>(null);
  const toast = useToast();
  if (v.reviewRequests.length === 0) return <p className="muted">No review requests.</p>;
  const approveOne = async (id: string) => {
    const failed = problemOf(await approve({ input: { id } }), "approveReviewRequest");
    setProblem(failed);
    if (failed === null) {
      toast("Review approved");
      refresh();
    }
  };
  return (
    <>
      <ul className="reviews">
        {v.reviewRequests.map((r) => (
          <li key={r.id} className="review">
            <div>
              <strong>
                {r.target.alias
                  ? `@${r.target.alias} → v${v.version}`
                  : `to ${stageLabel(r.target.stage ?? "NONE")}`}
              </strong>{" "}
              <span className={`badge review-${r.status.toLowerCase()}`}>{r.status.toLowerCase()}</span>{" "}
              <span className="muted">
                by <bdi>{r.requestedBy.displayName}</bdi>, {formatTime(r.createdAt)} ·{" "}
                {r.countedApprovals ?? r.approvals.length}/{r.requiredApprovals} approvals
                {r.countedApprovals !== null &&
                  r.countedApprovals < r.approvals.length &&
                  ` (${r.approvals.length - r.countedApprovals} no longer count: their reviewers lost the right to approve)`}
              </span>
            </div>
            <p className="prose">{r.reason}</p>
            {r.approvals.map((a, i) => (
              <p key={i} className="muted small">
                Approved by <bdi>{a.reviewer.displayName}</bdi>, {formatTime(a.at)}
                {a.comment && (
                  <>
                    : <bdi>{a.comment}</bdi>
                  </>
                )}
              </p>
            ))}
            {r.canApprove && r.status === "OPEN" && (
              <button type="button" onClick={() => void approveOne(r.id)}>
                Approve
              </button>
            )}
          </li>
        ))}
      </ul>
      {problem && <ErrorNote message={problem} />}
    </>
  );
}

function Comments({ v, canComment, refresh }: { v: Version; canComment: boolean; refresh: () => void }) {
  const [body, setBody] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [, add] = useMutation(AddCommentDocument);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const failed = problemOf(
      await add({ input: { name: v.model.name, version: v.version, body } }),
      "addModelVersionComment",
    );
    setProblem(failed);
    if (failed === null) {
      setBody("");
      refresh();
    }
  };
  return (
    <>
      {v.comments.nodes.length === 0 ? (
        <p className="muted">No comments.</p>
      ) : (
        <ul className="comments">
          {v.comments.nodes.map((c) => (
            <li key={c.id}>
              <div className="muted small">
                <bdi>{c.author.displayName}</bdi>, {formatTime(c.createdAt)}
                {c.edited && " (edited)"}
              </div>
              {c.deleted ? <p className="muted">(deleted)</p> : <p className="prose">{c.body}</p>}
            </li>
          ))}
        </ul>
      )}
      {canComment && (
        <form onSubmit={(e) => void submit(e)} aria-label="Add a comment">
          <label htmlFor="comment-body">Add a comment</label>
          <textarea
            id="comment-body"
            required
            rows={2}
            value={body}
            onChange={(e) => setBody(e.target.value)}
          />
          <div className="actions">
            <button type="submit">Comment</button>
          </div>
        </form>
      )}
      {problem && <ErrorNote message={problem} />}
    </>
  );
}
