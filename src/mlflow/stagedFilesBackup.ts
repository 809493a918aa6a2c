// The staging area of MLflow's artifact proxy in a backup (mlflow-artifact-files.ndjson): its rows
// are in no event, so a backup copies them (and the blobs they name) and a restore inserts them.
// One JSON object per line, in path order, read a page at a time from the backup's snapshot.
import { z } from "zod";
import { checkArtifactPath, checkMediaType, checkSha256 } from "../domain/artifacts.ts";
import { rowDate } from "../db/sql.ts";
import type { SqlTx, SqlValue } from "../db/sql.ts";
import { quoted, tablePages } from "../backup/tablePages.ts";
import { dirOf } from "./stagedFiles.ts";

const COLUMNS = ["path", "dir", "sha256", "size", "media_type", "created_at", "created_by"] as const;

const stagedLine = z.strictObject({
  path: z.string().refine((p) => checkArtifactPath("path", p) === null),
  sha256: z.string().refine((s) => checkSha256("sha256", s) === null),
  size: z.number().int().min(0),
  mediaType: z.string().refine((m) => checkMediaType("mediaType", m) === null),
  createdAt: z.iso.datetime(),
  createdBy: z.string().min(1).max(200),
});

export type StagedLine = z.infer<typeof stagedLine>;

/** The lines of the file, from the backup's snapshot; `onBlob` learns each digest named. */
export async function* stagedFileLines(
  tx: SqlTx,
  onBlob: (line: StagedLine) => void,
): AsyncGenerator<string> {
  for await (const rows of tablePages(tx, "mlflow_artifact_files", ["path"], COLUMNS)) {
    let page = "";
    for (const row of rows) {
      const line: StagedLine = {
        path: String(row.path),
        sha256: String(row.sha256),
        size: Number(row.size),
        mediaType: String(row.media_type),
        createdAt: rowDate(row.created_at).toISOString(),
        createdBy: String(row.created_by),
      };
      onBlob(line);
      page += `${JSON.stringify(line)}\n`;
    }
    yield page;
  }
}

/** One line as a row to insert; a string says why the line is not one a backup writes. */
export function stagedFileInsert(
  text: string,
): { line: StagedLine; sql: string; params: SqlValue[] } | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return "is not JSON";
  }
  const parsed = stagedLine.safeParse(json);
  if (!parsed.success) return "is not a file of MLflow's artifact proxy";
  const line = parsed.data;
  return {
    line,
    sql: `INSERT INTO "mlflow_artifact_files" (${quoted(COLUMNS)}) VALUES (${COLUMNS.map(() => "?").join(", ")})`,
    params: [
      line.path,
      dirOf(line.path),
      line.sha256,
      line.size,
      line.mediaType,
      new Date(line.createdAt),
      line.createdBy,
    ],
  };
}
