// Pieces of a version shown on its page and in Compare.
import { ColumnHeads } from "../components.tsx";
import type { MouseEvent } from "react";
import { authorization, storedToken } from "../auth.ts";
import type { VersionDetailFragment } from "../generated/graphql.ts";

type Signature = VersionDetailFragment["signature"];
type Tensor = NonNullable<Signature>["inputs"][number];

const shapeOf = (tensor: Tensor) =>
  tensor.shape === null ? "any" : `[${tensor.shape.map((d) => d.size ?? d.symbol ?? "?").join(", ")}]`;

export function SignatureTable({ signature }: { signature: Signature }) {
  if (signature === null) return <p className="muted">No signature.</p>;
  const rows = [
    ...signature.inputs.map((t) => ({ side: "input", t })),
    ...signature.outputs.map((t) => ({ side: "output", t })),
  ];
  return (
    <>
      <p className="muted small">
        {signature.source === "USER"
          ? "Given by a user"
          : `Extracted from ${signature.path ?? "an artifact"}`}
      </p>
      <div className="table-wrap">
        <table className="signature">
          <ColumnHeads names={["Side", "Name", "Type", "Shape"]} />
          <tbody>
            {rows.map(({ side, t }, i) => (
              <tr key={i}>
                <td>{side}</td>
                <th scope="row">{t.name}</th>
                <td>{t.dtype ?? <span className="muted">any</span>}</td>
                <td>
                  <code>{shapeOf(t)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

export const signatureSummary = (signature: Signature) =>
  signature === null
    ? ""
    : `${signature.inputs.map((t) => `${t.name}: ${t.dtype ?? "any"}${shapeOf(t)}`).join(", ")} → ${signature.outputs
        .map((t) => `${t.name}: ${t.dtype ?? "any"}${shapeOf(t)}`)
        .join(", ")}`;

/** Nested params flattened to dotted keys, values as JSON. */
export function flattenParams(params: Record<string, unknown>, prefix = ""): [string, string][] {
  const rows: [string, string][] = [];
  for (const [key, value] of Object.entries(params)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === "object" && !Array.isArray(value))
      rows.push(...flattenParams(value as Record<string, unknown>, path));
    else rows.push([path, typeof value === "string" ? value : JSON.stringify(value)]);
  }
  return rows;
}

export function ParamsTable({ params }: { params: Record<string, unknown> }) {
  const rows = flattenParams(params);
  if (rows.length === 0) return <p className="muted">No parameters.</p>;
  return (
    <div className="table-wrap">
      <table>
        <ColumnHeads names={["Parameter", "Value"]} />
        <tbody>
          {rows.map(([key, value]) => (
            <tr key={key}>
              <th scope="row">
                <code>{key}</code>
              </th>
              <td>
                <code>{value}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A download link to `/artifacts/...`. Without a token (AUTH=local) it is a plain link; with one,
 * the browser would not send the Authorization header on a navigation, so the click fetches the
 * file with it and hands the bytes to the browser as a download.
 */
export function ArtifactLink({ path, url }: { path: string; url: string }) {
  const onClick = async (event: MouseEvent<HTMLAnchorElement>) => {
    const token = storedToken();
    if (token === null) return;
    event.preventDefault();
    const response = await fetch(url, { headers: authorization(token) });
    if (!response.ok) return;
    const objectUrl = URL.createObjectURL(await response.blob());
    const anchor = document.createElement("a");
    anchor.href = objectUrl;
    anchor.download = path.split("/").pop() ?? "artifact";
    anchor.click();
    setTimeout(() => URL.revokeObjectURL(objectUrl), 10_000);
  };
  return (
    <a href={url} download onClick={(e) => void onClick(e)}>
      {path}
    </a>
  );
}
