// `model-versions/create` with a source in MLflow's artifact proxy: the files a client logged under
// `mlflow-artifacts:/<path>` become the new version's artifacts. Everything that can be refused is
// checked before anything is created; then the version is created with its artifacts pending, each
// file is attached (its bytes are in the blob store already: inspected, recorded, never copied) and
// the version is finalized, so the client gets a READY version whose files are frozen.
import type { ArtifactInspector } from "../artifacts/artifactInspector.ts";
import { attachArtifact } from "../artifacts/artifactService.ts";
import type { BlobStore } from "../artifacts/blobStore.ts";
import { executeCommand } from "../application/executeCommand.ts";
import type { CreateModelVersion } from "../domain/registeredModel/commands.ts";
import { ARTIFACT_LIMITS, checkArtifactPath } from "../domain/artifacts.ts";
import { DomainError } from "../domain/errors.ts";
import { MlflowError, mlflowErrorOf } from "./mlflowErrors.ts";
import type { RpcContext } from "./mlflowRpc.ts";
import { invalid, live, run } from "./mlflowRpc.ts";
import { parseProxyPath } from "./proxyPaths.ts";
import { stagingReadRefusal } from "./stagingAccess.ts";
import { stagedFilesUnder } from "./stagedFiles.ts";
import { loggedModelArtifactPath } from "./tracking/trackingStore.ts";

export interface ProxyArtifacts {
  readonly blobs: BlobStore;
  readonly inspector: ArtifactInspector;
}

const ENDPOINT = "/api/2.0/mlflow-artifacts/artifacts/";

/**
 * The staging path a version source names, or null for a source outside the proxy (kept as text,
 * as before): `mlflow-artifacts:/<path>`, `mlflow-artifacts://<host>/<path>`, or an http(s) URL of
 * the proxy's route. The path is percent-decoded once, as the proxy's routes decode it.
 */
export function proxyPathOfSource(source: string): string | null {
  let encoded: string;
  if (source.startsWith("mlflow-artifacts://")) {
    const rest = source.slice("mlflow-artifacts://".length);
    const slash = rest.indexOf("/");
    if (slash < 0) return "";
    encoded = rest.slice(slash + 1);
  } else if (source.startsWith("mlflow-artifacts:/")) {
    encoded = source.slice("mlflow-artifacts:/".length);
  } else if (source.startsWith("http://") || source.startsWith("https://")) {
    const at = source.indexOf(ENDPOINT);
    if (at < 0) return null;
    encoded = source.slice(at + ENDPOINT.length);
  } else return null;
  encoded = encoded.split(/[?#]/, 1)[0] ?? "";
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw invalid(`Invalid source '${source}': its path is not valid percent-encoded UTF-8`);
  }
}

/** Maps a version's `source` to a path of the proxy's staging area, or null when it names none. */
export type ProxySourceResolver = (source: string, ctx: RpcContext) => Promise<string | null> | string | null;

/**
 * MLflow 3 registers a logged model as `models:/m-<id>`: its files are in the proxy, in the folder
 * the tracking calls gave it (`<experiment>/models/<id>/artifacts`). An id no logged model has is
 * kept as text, as any other source.
 */
export async function loggedModelSource(source: string, ctx: RpcContext): Promise<string | null> {
  if (!source.startsWith("models:/m-")) return null;
  return loggedModelArtifactPath(ctx.commands.db, source.slice("models:/".length));
}

export const PROXY_SOURCE_RESOLVERS: readonly ProxySourceResolver[] = [loggedModelSource, proxyPathOfSource];

/** The staging path the first resolver that knows `source` gives, or null (a plain text source). */
export async function resolveProxySource(
  source: string,
  ctx: RpcContext,
  resolvers: readonly ProxySourceResolver[] = PROXY_SOURCE_RESOLVERS,
): Promise<string | null> {
  for (const resolve of resolvers) {
    const path = await resolve(source, ctx);
    if (path !== null) return path;
  }
  return null;
}

/**
 * Creates version `name` from the staged files at `proxyPath` (already resolved: a later resolver of
 * MLflow 3's `models:/m-<id>` URIs hands its own path here) and answers its number, READY.
 */
export async function registerFromProxy(
  ctx: RpcContext,
  artifacts: ProxyArtifacts,
  name: string,
  proxyPath: string,
  data: CreateModelVersion["data"],
): Promise<number> {
  const refused = stagingReadRefusal(ctx.access.rights);
  if (refused) throw refused;
  const target = parseProxyPath(proxyPath, false);
  if (target.kind !== "staged")
    throw invalid(
      `Invalid source: '${proxyPath}' is in the view of registered versions; register from files logged through the artifact proxy`,
    );
  const max = ARTIFACT_LIMITS.maxArtifactsPerVersion;
  const files = await stagedFilesUnder(ctx.commands.db, target.path, max);
  if (files.length === 0)
    throw invalid(`No files under mlflow-artifacts:/${target.path}: log the model's files there first`);
  if (files.length > max)
    throw invalid(
      `More than ${max} files under mlflow-artifacts:/${target.path}: a version holds at most ${max}`,
    );
  const single = files.length === 1 && files[0]?.path === target.path;
  const planned = files.map((file) => {
    const path = single
      ? file.path.slice(file.path.lastIndexOf("/") + 1)
      : file.path.slice(target.path.length + 1);
    const refusal = checkArtifactPath("path", path);
    if (refusal) throw invalid(`Invalid file '${file.path}': ${refusal.message}`);
    return { file, path };
  });
  for (const { file } of planned)
    if (!(await artifacts.blobs.has(file.sha256)))
      throw new MlflowError(
        "INVALID_STATE",
        `The bytes of mlflow-artifacts:/${file.path} are missing from storage: log the file again`,
      );

  const created = await run(ctx, live(name), {
    type: "CreateModelVersion",
    data: { ...data, pendingArtifacts: true },
  });
  const version = (
    created.events.find((e) => e.type === "ModelVersionCreated")?.data as { version?: unknown }
  )?.version;
  if (typeof version !== "number") throw new MlflowError("INTERNAL_ERROR", "internal error");
  const stream = { kind: "stream", modelId: created.modelId } as const;
  try {
    for (const { file, path } of planned) {
      const attached = await attachArtifact(
        ctx.commands,
        artifacts.inspector,
        { modelName: name, version, path, role: null, mediaType: file.mediaType },
        file,
        ctx.metadata,
      );
      if (attached instanceof DomainError) throw mlflowErrorOf(attached);
    }
    const finalized = await executeCommand(
      ctx.commands,
      stream,
      { type: "FinalizeModelVersion", data: { version } },
      ctx.metadata,
    );
    if (finalized instanceof DomainError) throw mlflowErrorOf(finalized);
  } catch (error) {
    // The version is left FAILED_REGISTRATION with the reason, not pending forever.
    const reason = error instanceof Error ? error.message.slice(0, 500) : "registration failed";
    await executeCommand(
      ctx.commands,
      stream,
      { type: "FailModelVersionRegistration", data: { version, reason } },
      ctx.metadata,
    );
    throw error;
  }
  return version;
}
