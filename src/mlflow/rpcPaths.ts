// Finds the RPC for a path under the MLflow prefixes. Most of MLflow's paths are fixed
// (`runs/get`); MLflow 3's logged-model paths carry ids (`logged-models/{model_id}/tags`). A fixed
// path wins over a template (`logged-models/search` is not a model id). A `{name}` segment matches
// one non-empty path segment, percent-decoded, and becomes the request parameter `name`, which
// wins over a field of the same name in the body (MLflow's clients send both, equal).
import { MlflowError } from "./mlflowErrors.ts";
import type { Params } from "./mlflowRequest.ts";
import type { Rpc } from "./mlflowRpc.ts";

type Methods = ReadonlyMap<string, Rpc>;

interface Template {
  readonly segments: readonly string[];
  readonly methods: Methods;
}

export interface RpcMatch {
  readonly methods: Methods;
  /** Path parameters by name (a Map: names come from our templates, values from the client). */
  readonly pathParams: ReadonlyMap<string, string>;
}

const isParam = (segment: string) => segment.startsWith("{") && segment.endsWith("}");

export function rpcTable(rpcs: ReadonlyMap<string, Methods>) {
  const fixed = new Map<string, Methods>();
  const templates: Template[] = [];
  for (const [path, methods] of rpcs) {
    const segments = path.split("/");
    if (segments.some(isParam)) templates.push({ segments, methods });
    else fixed.set(path, methods);
  }
  return (rpcPath: string): RpcMatch | undefined => {
    const exact = fixed.get(rpcPath);
    if (exact !== undefined) return { methods: exact, pathParams: new Map() };
    const given = rpcPath.split("/");
    for (const template of templates) {
      if (template.segments.length !== given.length) continue;
      const pathParams = new Map<string, string>();
      const matches = template.segments.every((segment, i) => {
        const value = given[i] ?? "";
        if (!isParam(segment)) return segment === value;
        if (value === "") return false;
        pathParams.set(segment.slice(1, -1), value);
        return true;
      });
      if (matches) return { methods: template.methods, pathParams };
    }
    return undefined;
  };
}

/** Decodes path parameters; a malformed escape is the client's error. */
function decoded(pathParams: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, raw] of pathParams)
    try {
      out.set(name, decodeURIComponent(raw));
    } catch {
      throw new MlflowError("INVALID_PARAMETER_VALUE", `Malformed path parameter '${name}'`);
    }
  return out;
}

/** The request's parameters with its path parameters on top. */
export function withPathParams(params: Params, pathParams: ReadonlyMap<string, string>): Params {
  if (pathParams.size === 0) return params;
  const fromPath = decoded(pathParams);
  return { get: (field) => (fromPath.has(field) ? fromPath.get(field) : params.get(field)) };
}
