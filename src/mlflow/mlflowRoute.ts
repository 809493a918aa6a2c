// The MLflow REST API 2.0 under /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/ (the prefix MLflow's
// web UI uses): finds the RPC for the path and method, reads its parameters, runs it as the
// authenticated caller and answers MLflow's JSON, or MLflow's error body `{error_code, message}`.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { AccessPolicy } from "../access/modelAccess.ts";
import { requestAccess } from "../access/scopedReader.ts";
import type { CommandDeps } from "../application/executeCommand.ts";
import type { Database } from "../db/database.ts";
import { DomainError } from "../domain/errors.ts";
import { CSRF_HEADERS, lacksCsrfHeader } from "../http/csrfPrevention.ts";
import { callerOf, nodeHeaders } from "../http/requestCaller.ts";
import { rateChargeOf } from "../http/rateLimit.ts";
import { requestMetadata } from "../http/requestMetadata.ts";
import type { Route } from "../http/server.ts";
import { sendJson } from "../http/sendJson.ts";
import { MlflowError, mlflowErrorOf, mlflowRefusalOf } from "./mlflowErrors.ts";
import { ClientAborted, bodyParams, queryParams } from "./mlflowRequest.ts";
import { MODEL_VERSION_RPCS } from "./modelVersionRpcs.ts";
import { REGISTERED_MODEL_RPCS } from "./registeredModelRpcs.ts";
import type { ProxyArtifacts } from "./registerFromProxy.ts";
import { rpcTable, withPathParams } from "./rpcPaths.ts";
import { TRACKING_RPCS } from "./tracking/trackingRpcs.ts";

const findRpc = rpcTable(new Map([...REGISTERED_MODEL_RPCS, ...MODEL_VERSION_RPCS, ...TRACKING_RPCS]));

export const MLFLOW_PREFIXES = ["/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"] as const;

export const isMlflowPath = (pathname: string) => MLFLOW_PREFIXES.some((p) => pathname.startsWith(p));

export interface MlflowRouteOptions {
  readonly db: Database;
  readonly logger: Logger;
  readonly accessPolicy: AccessPolicy;
  /** The app's command dependencies (the app is made after its routes). */
  readonly commands: () => CommandDeps;
  /** For versions registered from files logged through the artifact proxy. */
  readonly artifacts: ProxyArtifacts;
}

function sendError(req: IncomingMessage, res: ServerResponse, error: MlflowError, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  // A body left unread is not drained: the connection closes after the answer instead.
  sendJson(res, error.status, error.body, { ...(req.complete ? {} : { connection: "close" }), ...headers });
}

const FORGEABLE = `A POST without a JSON content type could be forged by another site: send 'Content-Type: application/json' (or the header '${CSRF_HEADERS[0]}: 1')`;

/** Objects in an answer's lists (`registered_models`, `model_versions`, `runs`, …), one level down. */
function listedObjects(answer: unknown): number {
  if (typeof answer !== "object" || answer === null) return 0;
  let objects = 0;
  for (const value of Object.values(answer)) if (Array.isArray(value)) objects += value.length;
  return objects;
}

export function mlflowRoute(options: MlflowRouteOptions): Route {
  const route: Route = async (req, res, url) => {
    const prefix = MLFLOW_PREFIXES.find((p) => url.pathname.startsWith(p));
    if (prefix === undefined) return false;
    const rpcPath = url.pathname.slice(prefix.length);
    const match = findRpc(rpcPath);
    if (match === undefined) {
      sendError(
        req,
        res,
        new MlflowError("ENDPOINT_NOT_FOUND", `No API endpoint for ${req.method ?? "?"} ${url.pathname}`),
      );
      return true;
    }
    // HEAD is GET without the body (Node leaves it out), as Flask serves every GET route of MLflow's.
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "");
    const rpc = match.methods.get(method);
    if (rpc === undefined) {
      const allow = [...match.methods.keys()]
        .flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m]))
        .join(", ");
      sendError(
        req,
        res,
        new MlflowError(
          "BAD_REQUEST",
          `${req.method ?? "?"} is not allowed on ${url.pathname}; use ${allow}`,
          405,
        ),
        { allow },
      );
      return true;
    }
    // Another site can make a browser POST a form or text body here without a preflight, and in
    // AUTH=local such a request acts as the administrator. MLflow's clients always send JSON.
    if (req.method === "POST" && lacksCsrfHeader(req)) {
      sendError(req, res, new MlflowError("PERMISSION_DENIED", FORGEABLE));
      return true;
    }
    try {
      const params = withPathParams(
        method === "GET" ? queryParams(url) : await bodyParams(req),
        match.pathParams,
      );
      const caller = callerOf(req);
      const access = requestAccess(options.db.reader, options.accessPolicy, caller);
      const answer = await rpc(params, {
        commands: options.commands(),
        metadata: { ...requestMetadata(nodeHeaders(req), caller), rights: access.rights },
        access,
        principalId: caller.principal.id,
        artifacts: options.artifacts,
      });
      // The client's rate limit pays for each object listed, as GraphQL's lists do (a search returns
      // up to 10,000 versions): after the fact, the answer being made.
      rateChargeOf(req)?.(listedObjects(answer));
      sendJson(res, 200, answer);
    } catch (error) {
      if (error instanceof MlflowError) sendError(req, res, error);
      // A domain rule refused the input below the RPC (the readers' guard on text no database can
      // hold, ../db/guardDecodedArguments.ts): the client's error, in MLflow's words.
      else if (error instanceof DomainError) sendError(req, res, mlflowErrorOf(error));
      else if (error instanceof ClientAborted) options.logger.info(`MLflow ${rpcPath}: ${error.message}`);
      else {
        options.logger.error({ err: error }, `MLflow ${rpcPath} failed`);
        sendError(req, res, new MlflowError("INTERNAL_ERROR", "internal error"));
      }
    }
    return true;
  };
  // MLflow clients read MLflow's error body on the refusals the server answers itself (401, 421, 408) too.
  route.errorBody = (url, refusal) =>
    isMlflowPath(url.pathname) ? mlflowRefusalOf(refusal).body : undefined;
  return route;
}
