// Two or more versions side by side: stage, lineage, metrics, params, artifacts and signatures, one
// column per version; rows whose values differ are marked.
import type { ReactNode } from "react";
import { useQuery } from "urql";
import { ErrorNote, Loading, StageBadge } from "../components.tsx";
import { formatBytes, formatMetric, metricKeys, metricOf } from "../format.ts";
import { CompareVersionDocument } from "../generated/graphql.ts";
import type { CompareVersionQuery } from "../generated/graphql.ts";
import { Link, modelPath, versionPath } from "../router.tsx";
import { flattenParams, signatureSummary } from "./versionParts.tsx";

type Version = NonNullable<CompareVersionQuery["modelVersion"]>;

interface Row {
  readonly label: string;
  readonly values: readonly string[];
  readonly render?: (version: Version) => ReactNode;
}

export function ComparePage({ name, versions }: { name: string; versions: readonly number[] }) {
  return <Load name={name} pending={versions} loaded={[]} missing={[]} />;
}

/**
 * Loads the versions one query each (one hook per component, so the number of versions may change
 * between visits), then shows them. Each is cached, so coming back is instant.
 */
function Load(props: {
  name: string;
  pending: readonly number[];
  loaded: readonly Version[];
  missing: readonly number[];
}) {
  const [next, ...rest] = props.pending;
  if (next === undefined)
    return <CompareTable name={props.name} chosen={props.loaded} missing={props.missing} />;
  return <LoadOne {...props} version={next} rest={rest} />;
}

function LoadOne(props: {
  name: string;
  version: number;
  rest: readonly number[];
  loaded: readonly Version[];
  missing: readonly number[];
}) {
  const [{ data, fetching, error }] = useQuery({
    query: CompareVersionDocument,
    variables: { name: props.name, version: props.version },
  });
  if (error) return <ErrorNote message={error.message} />;
  if (fetching || !data) return <Loading what={`v${props.version}`} />;
  const found = data.modelVersion;
  return (
    <Load
      name={props.name}
      pending={props.rest}
      loaded={found ? [...props.loaded, found] : props.loaded}
      missing={found ? props.missing : [...props.missing, props.version]}
    />
  );
}

function CompareTable({
  name,
  chosen,
  missing,
}: {
  name: string;
  chosen: readonly Version[];
  missing: readonly number[];
}) {
  const model = { name: chosen[0]?.model.name ?? name };
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
        Compare <bdi>{model.name}</bdi> {chosen.map((v) => `v${v.version}`).join(", ")}
      </h1>
      {missing.length > 0 && (
        <ErrorNote
          message={
            <>
              <bdi>{model.name}</bdi> has no {missing.map((n) => `v${n}`).join(", ")} (or you may not read
              it).
            </>
          }
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
