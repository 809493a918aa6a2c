// Two or more versions side by side: stage, lineage, metrics, params, artifacts and signatures, one
// column per version; rows whose values differ are marked.
import type { ReactNode } from "react";
import { useQuery } from "urql";
import { ErrorNote, Loading, StageBadge } from "../components.tsx";
import { formatBytes, formatMetric, metricKeys, metricOf } from "../format.ts";
import { CompareVersionsDocument } from "../generated/graphql.ts";
import type { VersionDetailFragment } from "../generated/graphql.ts";
import { Link, modelPath, versionPath } from "../router.tsx";
import { flattenParams, signatureSummary } from "./versionParts.tsx";

type Version = VersionDetailFragment;

interface Row {
  readonly label: string;
  readonly values: readonly string[];
  readonly render?: (version: Version) => ReactNode;
}

export function ComparePage({ name, versions }: { name: string; versions: readonly number[] }) {
  const [{ data, fetching, error }] = useQuery({ query: CompareVersionsDocument, variables: { name } });
  if (fetching && !data) return <Loading what="the versions" />;
  if (error) return <ErrorNote message={error.message} />;
  const model = data?.registeredModel;
  if (!model) return <ErrorNote message={`No model named ${name}.`} />;
  const chosen = versions
    .map((n) => model.versions.nodes.find((v) => v.version === n))
    .filter((v): v is Version => v !== undefined);
  const missing = versions.filter((n) => !chosen.some((v) => v.version === n));
  const params = chosen.map((v) => new Map(flattenParams(v.params)));
  const paramKeys = [...new Set(params.flatMap((p) => [...p.keys()]))].sort();
  const artifactPaths = [...new Set(chosen.flatMap((v) => v.artifacts.map((a) => a.path)))].sort();
  const rows: Row[] = [
    { label: "Stage", values: chosen.map((v) => v.stage), render: (v) => <StageBadge stage={v.stage} /> },
    { label: "Status", values: chosen.map((v) => v.status.toLowerCase()) },
    { label: "Aliases", values: chosen.map((v) => v.aliases.join(", ")) },
    { label: "Source", values: chosen.map((v) => v.source) },
    { label: "Run", values: chosen.map((v) => v.runId ?? "") },
    { label: "Registered by", values: chosen.map((v) => v.createdBy) },
    ...metricKeys(chosen).map((key) => ({
      label: `metric: ${key}`,
      values: chosen.map((v) => {
        const value = metricOf(v, key);
        return value === undefined ? "" : formatMetric(value);
      }),
    })),
    ...paramKeys.map((key) => ({ label: `param: ${key}`, values: params.map((p) => p.get(key) ?? "") })),
    ...artifactPaths.map((path) => ({
      label: `file: ${path}`,
      values: chosen.map((v) => {
        const a = v.artifacts.find((x) => x.path === path);
        return a
          ? `${formatBytes(a.size)} · ${a.sha256.slice(0, 12)} · ${a.verdict?.toLowerCase() ?? "not inspected"}`
          : "";
      }),
    })),
    { label: "Signature", values: chosen.map((v) => signatureSummary(v.signature)) },
  ];
  return (
    <>
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link href="/">Models</Link> / <Link href={modelPath(model.name)}>{model.name}</Link> /{" "}
        <span aria-current="page">compare</span>
      </nav>
      <h1>
        Compare {model.name} {chosen.map((v) => `v${v.version}`).join(", ")}
      </h1>
      {missing.length > 0 && (
        <ErrorNote
          message={`Not among the newest 100 versions of ${model.name}: ${missing.map((n) => `v${n}`).join(", ")}`}
        />
      )}
      {chosen.length < 2 ? (
        <p className="card">
          Choose two or more versions on <Link href={modelPath(model.name)}>the model's page</Link>.
        </p>
      ) : (
        <div className="card table-wrap">
          <table className="compare">
            <thead>
              <tr>
                <th scope="col">
                  <span className="visually-hidden">Field</span>
                </th>
                {chosen.map((v) => (
                  <th scope="col" key={v.version}>
                    <Link href={versionPath(model.name, v.version)}>v{v.version}</Link>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => {
                const differs = new Set(row.values).size > 1;
                return (
                  <tr key={row.label} className={differs ? "differs" : undefined}>
                    <th scope="row">
                      {row.label}
                      {differs && <span className="visually-hidden"> (differs)</span>}
                    </th>
                    {chosen.map((v, i) => (
                      <td key={v.version}>{row.render ? row.render(v) : row.values[i]}</td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
