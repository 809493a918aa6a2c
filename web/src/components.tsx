import type { ReactNode } from "react";
import type { ArtifactVerdict, ModelVersionStatus, Stage } from "./generated/graphql.ts";
import { stageLabel } from "./format.ts";

export function StageBadge({ stage }: { stage: Stage }) {
  return <span className={`badge stage-${stage.toLowerCase()}`}>{stageLabel(stage)}</span>;
}

export function VerdictBadge({ verdict }: { verdict: ArtifactVerdict | null }) {
  if (verdict === null) return <span className="muted">not inspected</span>;
  return <span className={`badge verdict-${verdict.toLowerCase()}`}>{verdict.toLowerCase()}</span>;
}

export function StatusText({ status }: { status: ModelVersionStatus }) {
  const text = { READY: "ready", PENDING_REGISTRATION: "pending", FAILED_REGISTRATION: "failed" }[status];
  return <span className={`status status-${status.toLowerCase()}`}>{text}</span>;
}

export function AliasChip({ alias, onRemove }: { alias: string; onRemove?: () => void }) {
  return (
    <span className="chip">
      @{alias}
      {onRemove && (
        <button type="button" className="chip-remove" onClick={onRemove} aria-label={`Remove alias ${alias}`}>
          ×
        </button>
      )}
    </span>
  );
}

export function Section({ title, children, id }: { title: string; children: ReactNode; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-heading`;
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading <bdi>{what}</bdi>…
    </p>
  );
}

export function ErrorNote({ message }: { message: ReactNode }) {
  return (
    <p className="error" role="alert">
      {message}
    </p>
  );
}

/** A table's header row of plain column names. */
export function ColumnHeads({ names }: { names: readonly string[] }) {
  return (
    <thead>
      <tr>
        {names.map((name) => (
          <th scope="col" key={name}>
            {name}
          </th>
        ))}
      </tr>
    </thead>
  );
}
