// Gives every GraphQL error a client receives an `extensions.code` from ERROR_CODES, wherever it
// arose: in Yoga's request handling (CSRF, method, body size, a missing `query`), in parsing and
// validation, in variable coercion, or in execution, over HTTP, SSE and WebSocket alike. Yoga's own
// codes are kept where they are in the list and renamed where a more precise one exists; an error
// that arrives with no code is classified once here rather than at every place that might throw.
import { PothosValidationError } from "@pothos/core";
import { GraphQLError } from "graphql";
import type { ExecutionResult } from "graphql";
import { handleStreamOrSingleExecutionResult, isAsyncIterable, mapAsyncIterator } from "graphql-yoga";
import type { Plugin } from "graphql-yoga";
import { CSRF_MESSAGE } from "./csrfPrevention.ts";
import { isErrorCode } from "./errorCodes.ts";
import type { ErrorCode } from "./errorCodes.ts";
import { graphqlErrorBody } from "./graphqlErrorBody.ts";

// Yoga's wording for its CSRF refusal (@graphql-yoga/plugin-csrf-prevention), which has no code.
const YOGA_CSRF_MESSAGE = "Required CSRF header(s) not present";

interface HttpExtension {
  readonly status?: number;
}

function classify(error: GraphQLError): { code: ErrorCode; message?: string } | null {
  const { code, http } = error.extensions as { code?: unknown; http?: HttpExtension };
  const status = http?.status ?? 0;
  if (error.message === YOGA_CSRF_MESSAGE) return { code: "CSRF_HEADER_REQUIRED", message: CSRF_MESSAGE };
  if (code === "REQUEST_ENTITY_TOO_LARGE") return { code: "PAYLOAD_TOO_LARGE" };
  if (status === 405) return { code: "METHOD_NOT_ALLOWED" };
  if (isErrorCode(code)) return null;
  // Pothos refuses cursors and global ids it cannot decode with its own GraphQLError subclass, which
  // carries no code: the client sent them, so they are its errors, not the server's.
  const pothos = [error, error.originalError].find((e) => e instanceof PothosValidationError);
  if (pothos !== undefined)
    return { code: /cursor/i.test(pothos.message) ? "INVALID_CURSOR" : "BAD_USER_INPUT" };
  // graphql-js reports a variable whose value its type refuses this way (no code of its own).
  if (error.message.startsWith('Variable "$')) return { code: "BAD_USER_INPUT" };
  if (status >= 400 && status < 500) return { code: "BAD_REQUEST" };
  return { code: "INTERNAL_SERVER_ERROR" };
}

/** The same error with more extensions (and another message, when given): GraphQL errors are not changed in place. */
export function withExtensions(
  error: GraphQLError,
  extensions: Record<string, unknown>,
  message = error.message,
): GraphQLError {
  return new GraphQLError(message, {
    ...(error.nodes ? { nodes: error.nodes } : {}),
    ...(error.source ? { source: error.source } : {}),
    ...(error.positions ? { positions: error.positions } : {}),
    ...(error.path ? { path: error.path } : {}),
    // Kept so that masking still recognises an unexpected error underneath.
    ...(error.originalError ? { originalError: error.originalError } : {}),
    extensions: { ...error.extensions, ...extensions },
  });
}

export function withErrorCode(error: GraphQLError): GraphQLError {
  const change = classify(error);
  if (change === null) return error;
  return withExtensions(error, { code: change.code }, change.message);
}

function withErrorCodes<T extends ExecutionResult>(result: T): T {
  if (!result.errors?.length) return result;
  return { ...result, errors: result.errors.map(withErrorCode) };
}

/** Registered after the limits and CSRF plugins, so it sees their errors. */
export function errorCodePlugin(): Plugin {
  const onDone = (payload: Parameters<typeof handleStreamOrSingleExecutionResult>[0]) =>
    handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) =>
      setResult(withErrorCodes(result)),
    );
  return {
    // Execution results: the WebSocket transport sees only these.
    onExecute: () => ({ onExecuteDone: onDone }),
    onSubscribe: () => ({ onSubscribeResult: onDone }),
    // Everything Yoga answers over HTTP, including errors thrown before execution.
    onResultProcess(payload) {
      const { result } = payload;
      if (isAsyncIterable(result)) payload.setResult(mapAsyncIterator(result, withErrorCodes));
      else if (Array.isArray(result)) payload.setResult(result.map(withErrorCodes));
      else payload.setResult(withErrorCodes(result));
    },
    // Yoga answers these two with an empty body.
    onResponse(payload) {
      const { response, fetchAPI } = payload;
      // The rest of a body too large to read is never read: the connection cannot be reused.
      if (response.status === 413) response.headers.set("connection", "close");
      if (response.status !== 415 && response.status !== 406) return;
      const unsupported = response.status === 415;
      const body = graphqlErrorBody(
        unsupported ? "UNSUPPORTED_MEDIA_TYPE" : "NOT_ACCEPTABLE",
        unsupported
          ? "send GraphQL requests as application/json (or multipart/form-data for uploads, or GET)"
          : `none of the requested media types can be produced; accept one of: ${response.headers.get("accept") ?? "application/json"}`,
      );
      const headers = new fetchAPI.Headers(response.headers);
      headers.set("content-type", "application/json; charset=utf-8");
      payload.setResponse(new fetchAPI.Response(JSON.stringify(body), { status: response.status, headers }));
    },
  };
}
