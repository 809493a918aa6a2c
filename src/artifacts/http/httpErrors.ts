// Typed JSON errors for the artifact routes, in the server's shape `{ error: { code, message, … } }`,
// with the error's own fields (resource, key, field, expected, actual, limit) alongside.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DomainError } from "../../domain/errors.ts";
import {
  AlreadyExistsError,
  ConcurrencyError,
  IntegrityError,
  InvalidStateError,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from "../../domain/errors.ts";
import { sendJson } from "../../http/server.ts";
import { ArtifactDigestMismatchError, ArtifactTooLargeError } from "../errors.ts";

export function statusOf(error: DomainError): number {
  if (error instanceof NotFoundError) return 404;
  if (error instanceof PermissionDeniedError) return 403;
  if (error instanceof ValidationError || error instanceof ArtifactDigestMismatchError) return 400;
  if (error instanceof ArtifactTooLargeError) return 413;
  if (
    error instanceof AlreadyExistsError ||
    error instanceof InvalidStateError ||
    error instanceof ConcurrencyError ||
    error instanceof IntegrityError
  )
    return 409;
  return 400;
}

export function errorBody(error: DomainError) {
  const { name, ...fields } = error as DomainError & Record<string, unknown>;
  return { error: { type: name, ...fields, code: error.code, message: error.message } };
}

/**
 * Sends an error unless the client is gone. When the request body was not read to the end, the
 * connection is closed after the response instead of draining a possibly huge body.
 */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  if (res.headersSent || res.destroyed) return;
  const unread =
    !req.readableEnded &&
    req.headers["content-length"] !== "0" &&
    (req.method === "PUT" || req.method === "POST");
  sendJson(res, status, body, unread ? { connection: "close", ...headers } : headers);
}

export function sendDomainError(
  req: IncomingMessage,
  res: ServerResponse,
  error: DomainError,
  headers: Record<string, string> = {},
) {
  sendError(req, res, statusOf(error), errorBody(error), headers);
}
