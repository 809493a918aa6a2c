// The parameters of an MLflow request: the query string for GET (repeated keys for list fields),
// the JSON body for every other method (DELETE included, as MLflow's clients send it). Both end up
// in a Map, so no object is ever keyed by a client's string (`__proto__` is just another field).
import type { IncomingMessage } from "node:http";
import { MlflowError } from "./mlflowErrors.ts";

/** Largest request body accepted on the MLflow routes. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface Params {
  get(field: string): unknown;
}

/** Fields that MLflow's GET requests repeat in the query string (`?stages=a&stages=b`). */
const LIST_FIELDS = new Set(["order_by", "stages"]);

export function queryParams(url: URL): Params {
  const values = new Map<string, unknown>();
  for (const key of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(key);
    values.set(key, LIST_FIELDS.has(key) ? all : all[0]);
  }
  return values;
}

const invalid = (message: string) => new MlflowError("INVALID_PARAMETER_VALUE", message);

/** Reads at most MAX_BODY_BYTES; a larger body is refused without reading the rest. */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > MAX_BODY_BYTES) throw invalid(`Request body larger than ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw invalid(`Request body larger than ${MAX_BODY_BYTES} bytes`);
      chunks.push(chunk);
    }
  } catch (error) {
    // The client went away mid-body: nothing to answer, and nothing wrong with the server.
    if (req.destroyed && !req.complete) throw new ClientAborted();
    throw error;
  }
  return Buffer.concat(chunks);
}

/** A request body the client stopped sending (the connection closed before its end). */
export class ClientAborted extends Error {
  constructor() {
    super("the client aborted the request");
    this.name = "ClientAborted";
  }
}

export async function bodyParams(req: IncomingMessage): Promise<Params> {
  const body = await readBody(req);
  const text = body.toString("utf8").trim();
  // A request without a body has no parameters; required ones are then reported missing.
  if (text === "") return new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid("Malformed JSON in the request body");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw invalid("The request body must be a JSON object");
  return new Map(Object.entries(parsed));
}
