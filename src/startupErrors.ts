// Why the registry could not start, said in one line a person can act on: which setting, which
// path or host, what to do. Errors from drivers arrive in many shapes (pg's SQLSTATE errors, Node
// system errors, AggregateErrors with an empty message, SQLite codes, Prisma's multi-page messages
// with code frames); each becomes a short excerpt, never a raw dump.

/** A start-up problem already worded for the operator. */
export class StartupError extends Error {
  override name = "StartupError";
}

const MAX_LENGTH = 600;

interface Coded {
  readonly code?: unknown;
  readonly errno?: unknown;
  readonly syscall?: unknown;
  readonly address?: unknown;
  readonly port?: unknown;
  readonly hostname?: unknown;
  readonly path?: unknown;
}

const oneLine = (text: string) => {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > MAX_LENGTH ? `${line.slice(0, MAX_LENGTH - 1)}…` : line;
};

/**
 * The part of a Prisma message that says what went wrong. Prisma puts a header ("Invalid
 * `db.x.findFirst()` invocation in <file>:<line>") and a code frame whose last line starts with
 * "→" before it.
 */
function prismaExcerpt(message: string): string {
  const lines = message.split("\n");
  const arrow = lines.findLastIndex((line) => line.trimStart().startsWith("→"));
  const rest = arrow >= 0 ? lines.slice(arrow + 1) : lines;
  const excerpt = rest.filter(
    (line) =>
      line.trim() !== "" && !/^Invalid `.*` invocation/.test(line) && !/^\S+:\d+:\d+$/.test(line.trim()),
  );
  return excerpt.length > 0 ? excerpt.join(" ") : message;
}

/** Node's network errors (a failed connect can be an AggregateError over IPv4 and IPv6, with no message). */
function systemError(error: Coded & Error): string | null {
  const code = typeof error.code === "string" ? error.code : null;
  const where =
    typeof error.address === "string"
      ? `${error.address}${typeof error.port === "number" ? `:${error.port}` : ""}`
      : typeof error.hostname === "string"
        ? error.hostname
        : null;
  switch (code) {
    case "ECONNREFUSED":
      return `cannot reach PostgreSQL at ${where ?? "the DATABASE_URL host"}: connection refused. Is the server running, and are host and port in DATABASE_URL right?`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot resolve the database host ${where ?? ""} in DATABASE_URL (${code})`;
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `cannot reach PostgreSQL at ${where ?? "the DATABASE_URL host"} (${code}): check DATABASE_URL and the network`;
    case "EADDRINUSE":
      return `cannot listen on ${where ?? "HOST:PORT"}: the port is already in use (another Registro?). Stop it or set PORT.`;
    case "EADDRNOTAVAIL":
      return `cannot listen on ${where ?? "HOST"}: no such address on this machine. Set HOST to one of its addresses (or 0.0.0.0).`;
    default:
      if (error.syscall === "listen" && code === "EACCES")
        return `not allowed to listen on ${where ?? "PORT"}: ports below 1024 need privileges. Set PORT to 1024 or above.`;
      return null;
  }
}

/** pg's server errors carry a SQLSTATE code (five characters) and a `severity`. */
function postgresError(error: Coded & Error & { severity?: unknown }): string | null {
  if (typeof error.code !== "string" || !/^[0-9A-Z]{5}$/.test(error.code) || error.severity === undefined)
    return null;
  if (error.code === "28P01" || error.code === "28000")
    return `PostgreSQL refused the login: ${error.message}. Check the user and password in DATABASE_URL.`;
  return `PostgreSQL error ${error.code}: ${error.message}`;
}

/**
 * Why the blob store could not be used at start: S3 errors name the service's code, network errors
 * their code and address (not PostgreSQL's advice, which systemError gives for the database).
 */
export function blobStoreStartupError(location: string, error: unknown): StartupError {
  if (error instanceof StartupError) return error;
  const coded = (error ?? {}) as Coded & Error & { $metadata?: { httpStatusCode?: number }; Code?: unknown };
  const first =
    error instanceof AggregateError && error.errors.length > 0 ? (error.errors[0] as Coded) : coded;
  const code =
    typeof first.code === "string" ? first.code : typeof coded.Code === "string" ? coded.Code : null;
  const status = coded.$metadata?.httpStatusCode;
  const reason =
    error instanceof Error && error.message.trim() !== ""
      ? error.message.split("\n")[0]!.trim()
      : (code ?? String(error));
  const hint =
    code === "NoSuchBucket"
      ? "create the bucket or fix S3_BUCKET"
      : code === "InvalidAccessKeyId" ||
          code === "SignatureDoesNotMatch" ||
          code === "AccessDenied" ||
          status === 403
        ? "check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the instance role) and the bucket policy"
        : error instanceof Error && error.name === "CredentialsProviderError"
          ? "give it credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role"
          : "check S3_ENDPOINT, S3_BUCKET, S3_REGION and the network (ARTIFACT_DIR for a folder)";
  return new StartupError(
    oneLine(
      `cannot use the blob store ${location}: ${reason}${code !== null && !reason.includes(code) ? ` (${code})` : ""}; ${hint}`,
    ),
  );
}

export function describeStartupError(error: unknown): string {
  if (!(error instanceof Error)) return oneLine(String(error));
  if (error instanceof StartupError) return oneLine(error.message);
  if (error instanceof AggregateError && error.errors.length > 0 && error.message === "")
    return describeStartupError(error.errors[0]);
  const coded = error as Coded & Error;
  const known = systemError(coded) ?? postgresError(coded);
  if (known) return oneLine(known);
  if (error.name.startsWith("PrismaClient")) {
    const code = typeof coded.code === "string" ? ` ${coded.code}` : "";
    return oneLine(`database error (Prisma${code}): ${prismaExcerpt(error.message)}`);
  }
  if (error.name === "SqliteError")
    return oneLine(`SQLite error${typeof coded.code === "string" ? ` ${coded.code}` : ""}: ${error.message}`);
  const message = error.message.split("\n").find((line) => line.trim() !== "") ?? "";
  const detail = message === "" ? (typeof coded.code === "string" ? coded.code : error.name) : message;
  return oneLine(detail);
}
