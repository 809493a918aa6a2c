// A small GraphQL-over-HTTP client: one POST per operation, with a deadline (on the whole exchange,
// answer included), a bound on the answer's size, the bearer token, and errors turned into CliErrors
// with the exit code their API code maps to.
import { CliError, ExitCode } from "./exitCodes.ts";
import { interrupt } from "./interrupt.ts";
import type { Settings } from "./settings.ts";

/** A union result of a mutation: its payload, or a typed error (with `code` and `message`). */
export interface TypedResult {
  readonly __typename: string;
  readonly code?: string;
  readonly message?: string;
  readonly [field: string]: unknown;
}

export interface GraphqlClient {
  readonly settings: Settings;
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

interface GraphqlError {
  message: string;
  extensions?: { code?: string } & Record<string, unknown>;
}

/** The largest answer taken from /graphql; the biggest page a command asks for is far below it. */
export const ANSWER_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * The answer's body as text, read as it arrives: refused beyond `ANSWER_LIMIT_BYTES` (announced or
 * counted), and abandoned when `deadline` aborts (the reader is cancelled, so a fast endless stream
 * stops too).
 */
async function readAnswer(
  settings: Settings,
  endpoint: string,
  response: Response,
  deadline: AbortSignal,
): Promise<string> {
  const tooLarge = () =>
    new CliError(
      `${endpoint} answered more than ${ANSWER_LIMIT_BYTES / 1024 / 1024} MiB, the most registro reads; is ${settings.url} a Registro server?`,
      ExitCode.failure,
      "ANSWER_TOO_LARGE",
    );
  if (Number(response.headers.get("content-length")) > ANSWER_LIMIT_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  deadline.addEventListener("abort", cancel, { once: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      // A cancelled reader ends as if the body had: the deadline, not the server, stopped it.
      if (deadline.aborted) throw deadline.reason;
      if (done) break;
      size += value.byteLength;
      if (size > ANSWER_LIMIT_BYTES) {
        cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof CliError || interrupt.signal.aborted) throw error;
    if (deadline.aborted)
      throw new CliError(
        `${endpoint} did not finish its answer within ${settings.timeoutMs / 1000} s (--timeout)`,
        ExitCode.failure,
        "UNREACHABLE",
      );
    throw unreachable(settings, error);
  } finally {
    deadline.removeEventListener("abort", cancel);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function createGraphqlClient(settings: Settings): GraphqlClient {
  const endpoint = `${settings.url}/graphql`;
  return {
    settings,
    async request<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
      // One deadline for the whole exchange: the answer's body too, not only its headers.
      const deadline = AbortSignal.any([AbortSignal.timeout(settings.timeoutMs), interrupt.signal]);
      let response: Response;
      try {
        response = await fetch(endpoint, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/graphql-response+json, application/json",
            ...authorization(settings),
          },
          body: JSON.stringify({ query, variables }),
          signal: deadline,
        });
      } catch (error) {
        throw unreachable(settings, error);
      }
      const text = await readAnswer(settings, endpoint, response, deadline);
      let body: { data?: T | null; errors?: GraphqlError[] } | undefined;
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        body = undefined;
      }
      const first = body?.errors?.[0];
      if (response.status === 401 || first?.extensions?.code === "UNAUTHENTICATED")
        throw new CliError(
          `${settings.url} refused the credentials (${first?.message ?? "401"}); set REGISTRO_TOKEN or run \`registro login\``,
          ExitCode.permission,
          "UNAUTHENTICATED",
        );
      if (first) throw CliError.fromApi(first.extensions?.code, first.message, first.extensions);
      if (!response.ok || !body?.data)
        throw new CliError(
          `${endpoint} answered ${response.status} ${text.slice(0, 200)}; is ${settings.url} a Registro server?`,
        );
      return body.data;
    },
  };
}

export function authorization(settings: Settings): Record<string, string> {
  return settings.token ? { authorization: `Bearer ${settings.token}` } : {};
}

export function unreachable(settings: Settings, error: unknown): CliError {
  const reason =
    error instanceof Error && error.name === "TimeoutError"
      ? `no answer within ${settings.timeoutMs / 1000} s`
      : error instanceof Error
        ? ((error.cause as Error | undefined)?.message ?? error.message)
        : String(error);
  return new CliError(
    `cannot reach ${settings.url} (${reason}); check --url or REGISTRO_URL`,
    ExitCode.failure,
    "UNREACHABLE",
  );
}

/** A mutation's union result: the payload if `__typename` is the expected one, else its typed error thrown. */
export function payload<T>(result: TypedResult, typename: string): T {
  if (result.__typename === typename) return result as unknown as T;
  const { code, message, __typename, ...details } = result;
  throw CliError.fromApi(code, message ?? `unexpected ${__typename}`, { __typename, ...details });
}

/** Selects a typed error's code and message in a mutation's result. */
export const ERROR_FIELDS = "__typename ... on Error { code message }";
/** Which model or version was not found (only in unions that have NotFoundError). */
export const NOT_FOUND_FIELDS = "... on NotFoundError { resource key }";
/** The fields of the errors of the safety gate and the review policy (only in unions that have them). */
export const GATE_ERROR_FIELDS = `... on UnsafeArtifactError { version action total artifacts { path verdict } }
  ... on ApprovalRequiredError { requiredApprovals }`;
