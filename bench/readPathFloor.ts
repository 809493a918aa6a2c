// The read-path benchmark's floor (./readPath.ts): MLflow's `model-versions/search` answered from
// MLflow's registry schema in SQLite (MLFLOW_DB, made by the benchmark) with the statements MLflow's
// SqlAlchemyStore issues for `filter=name='…'` (the page with LIMIT/OFFSET, the page's tags in one
// IN query as its selectinload does, the model and its aliases as its lazy loads do), serialized to
// MLflow's proto-JSON by a bare node:http server. No parsing beyond the name, no access checks, no
// logging: what Registro's routes cost beyond this is its own overhead.
import http from "node:http";
import Database from "better-sqlite3";

const db = new Database(process.env.MLFLOW_DB ?? "mlflow.db", { readonly: true });

interface VersionRow {
  name: string;
  version: number;
  creation_time: number;
  last_updated_time: number;
  description: string | null;
  user_id: string | null;
  current_stage: string;
  source: string;
  run_id: string;
  run_link: string | null;
  status: string;
  status_message: string | null;
}

const page = db.prepare<[string, number, number], VersionRow>(
  `SELECT name, version, creation_time, last_updated_time, description, user_id, current_stage, source,
          run_id, run_link, status, status_message
     FROM model_versions
    WHERE name = ? AND current_stage != 'Deleted_Internal'
    ORDER BY name ASC, version DESC
    LIMIT ? OFFSET ?`,
);
const model = db.prepare(
  "SELECT name, creation_time, last_updated_time, description FROM registered_models WHERE name = ?",
);
const aliases = db.prepare<[string], { alias: string; version: number }>(
  "SELECT alias, version FROM registered_model_aliases WHERE name = ?",
);

/** SQLAlchemy's selectinload: the page's tags, 500 parent keys to a statement. */
const SELECTIN_CHUNK = 500;
const tagStatements = new Map<
  number,
  Database.Statement<unknown[], { name: string; version: number; key: string; value: string }>
>();
function tagsOf(name: string, versions: readonly number[]) {
  const byVersion = new Map<number, { key: string; value: string }[]>();
  for (let i = 0; i < versions.length; i += SELECTIN_CHUNK) {
    const chunk = versions.slice(i, i + SELECTIN_CHUNK);
    let statement = tagStatements.get(chunk.length);
    if (statement === undefined) {
      statement = db.prepare(
        `SELECT name, version, key, value FROM model_version_tags WHERE (name, version) IN (${chunk.map(() => "(?, ?)").join(", ")})`,
      );
      tagStatements.set(chunk.length, statement);
    }
    for (const tag of statement.all(...chunk.flatMap((v) => [name, v]))) {
      const list = byVersion.get(tag.version) ?? [];
      list.push({ key: tag.key, value: tag.value });
      byVersion.set(tag.version, list);
    }
  }
  return byVersion;
}

function search(url: URL) {
  const name = /^name\s*=\s*'([^']*)'$/.exec(url.searchParams.get("filter") ?? "")?.[1] ?? "";
  const maxResults = Number(url.searchParams.get("max_results") ?? 10_000);
  const token = url.searchParams.get("page_token");
  const offset = token
    ? (JSON.parse(Buffer.from(token, "base64url").toString()) as { offset: number }).offset
    : 0;
  const rows = page.all(name, maxResults + 1, offset);
  const shown = rows.slice(0, maxResults);
  const tags = tagsOf(
    name,
    shown.map((r) => r.version),
  );
  model.get(name);
  const aliasRows = aliases.all(name);
  const versions = shown.map((r) => {
    const versionAliases = aliasRows.filter((a) => a.version === r.version).map((a) => a.alias);
    const versionTags = tags.get(r.version) ?? [];
    return {
      name: r.name,
      version: String(r.version),
      creation_timestamp: r.creation_time,
      last_updated_timestamp: r.last_updated_time,
      ...(r.user_id ? { user_id: r.user_id } : {}),
      current_stage: r.current_stage,
      ...(r.description ? { description: r.description } : {}),
      source: r.source,
      ...(r.run_id ? { run_id: r.run_id } : {}),
      status: r.status,
      ...(r.status_message ? { status_message: r.status_message } : {}),
      ...(versionTags.length > 0 ? { tags: versionTags } : {}),
      ...(r.run_link ? { run_link: r.run_link } : {}),
      ...(versionAliases.length > 0 ? { aliases: versionAliases } : {}),
    };
  });
  return {
    model_versions: versions,
    ...(rows.length > maxResults
      ? {
          next_page_token: Buffer.from(JSON.stringify({ offset: offset + maxResults })).toString("base64url"),
        }
      : {}),
  };
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://floor");
  if (url.pathname === "/healthz") return void res.end("ok");
  if (url.pathname !== "/api/2.0/mlflow/model-versions/search") {
    res.statusCode = 404;
    return void res.end();
  }
  const body = JSON.stringify(search(url));
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
});
server.listen(Number(process.env.PORT ?? 4002), process.env.HOST ?? "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
