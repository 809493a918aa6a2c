// Uploads files to a version still being registered, one `PUT /artifacts/<model>/<version>/<path>`
// each (docs/artifacts.md), with XMLHttpRequest so the bar follows the bytes actually sent. Then
// "Finalize" freezes the artifact set and makes the version READY.
import { useState } from "react";
import type { FormEvent } from "react";
import { useMutation } from "urql";
import { authorization, storedToken } from "../auth.ts";
import { ErrorNote } from "../components.tsx";
import { formatBytes } from "../format.ts";
import { FinalizeVersionDocument } from "../generated/graphql.ts";
import { problemOf } from "../mutations.ts";
import { useToast } from "../toasts.tsx";

interface Progress {
  readonly name: string;
  readonly sent: number;
  readonly total: number;
  readonly state: "uploading" | "done" | "failed";
  readonly message?: string;
}

const artifactUrl = (model: string, version: number, path: string) =>
  `/artifacts/${encodeURIComponent(model)}/${version}/${path.split("/").map(encodeURIComponent).join("/")}`;

function put(url: string, file: File, onProgress: (sent: number) => void): Promise<string | null> {
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("PUT", url);
    for (const [name, value] of Object.entries(authorization(storedToken())))
      request.setRequestHeader(name, value);
    if (file.type) request.setRequestHeader("content-type", file.type);
    request.upload.onprogress = (event) => onProgress(event.loaded);
    request.onload = () => {
      if (request.status === 201) return resolve(null);
      try {
        const body = JSON.parse(request.responseText) as { error?: { message?: string } };
        resolve(body.error?.message ?? `HTTP ${request.status}`);
      } catch {
        resolve(`HTTP ${request.status}`);
      }
    };
    request.onerror = () => resolve("the connection failed");
    request.send(file);
  });
}

export function UploadFiles(props: {
  name: string;
  version: number;
  existing: readonly string[];
  refresh: () => void;
}) {
  const [files, setFiles] = useState<readonly File[]>([]);
  const [progress, setProgress] = useState<readonly Progress[]>([]);
  const [busy, setBusy] = useState(false);
  /** Bumped after each batch, so the file input forgets the files it sent. */
  const [batch, setBatch] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  const [, finalize] = useMutation(FinalizeVersionDocument);
  const toast = useToast();

  const upload = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setProgress(files.map((f) => ({ name: f.name, sent: 0, total: f.size, state: "uploading" })));
    const update = (index: number, change: Partial<Progress>) =>
      setProgress((all) => all.map((p, i) => (i === index ? { ...p, ...change } : p)));
    for (const [index, file] of files.entries()) {
      const failed = await put(artifactUrl(props.name, props.version, file.name), file, (sent) =>
        update(index, { sent }),
      );
      update(
        index,
        failed === null ? { state: "done", sent: file.size } : { state: "failed", message: failed },
      );
    }
    setBusy(false);
    setFiles([]);
    setBatch((n) => n + 1);
    props.refresh();
  };
  const finish = async () => {
    const failed = problemOf(
      await finalize({ input: { name: props.name, version: props.version } }),
      "finalizeModelVersion",
    );
    setProblem(failed);
    if (failed === null) {
      toast(`v${props.version} is ready`);
      props.refresh();
    }
  };
  return (
    <>
      <form onSubmit={(e) => void upload(e)} className="row">
        <div className="field grow">
          <label htmlFor="upload-files">Files (each is stored under its file name)</label>
          <input
            key={batch}
            id="upload-files"
            type="file"
            multiple
            onChange={(e) => setFiles(Array.from(e.target.files ?? []))}
            disabled={busy}
          />
        </div>
        <button type="submit" disabled={busy || files.length === 0}>
          Upload
        </button>
      </form>
      {progress.length > 0 && (
        <ul className="uploads" aria-label="Uploads">
          {progress.map((p) => (
            <li key={p.name}>
              <label>
                {p.name} <span className="muted">({formatBytes(p.total)})</span>
                <progress
                  max={Math.max(p.total, 1)}
                  value={p.sent}
                  aria-valuetext={`${p.name}: ${p.state}`}
                />
              </label>
              <span className={p.state === "failed" ? "error" : "muted"} data-state={p.state}>
                {p.state === "failed"
                  ? `failed: ${p.message ?? ""}`
                  : p.state === "done"
                    ? "uploaded"
                    : `${Math.floor((100 * p.sent) / Math.max(p.total, 1))}%`}
              </span>
            </li>
          ))}
        </ul>
      )}
      <div className="actions">
        <button
          type="button"
          className="secondary"
          disabled={busy || props.existing.length === 0}
          onClick={() => void finish()}
        >
          Finalize version
        </button>
        <span className="muted">
          {props.existing.length === 0
            ? "Upload at least one file first."
            : "Finalizing freezes the files and makes it ready."}
        </span>
      </div>
      {problem && <ErrorNote message={problem} />}
    </>
  );
}
