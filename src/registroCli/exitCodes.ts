// The exit codes of `registro`, and the one place that maps the API's error codes (typed mutation
// results, GraphQL errors, artifact-route errors) to them. Scripts branch on these; docs/cli.md
// lists them.

export const ExitCode = {
  ok: 0,
  /** Anything else: a conflict, a digest mismatch, the server failed or could not be reached. */
  failure: 1,
  /** The command line is wrong, or the server refused an argument as invalid. */
  usage: 2,
  /** The model, version, alias, stage or artifact does not exist (or is not visible to the caller). */
  notFound: 3,
  /** Not authenticated, not permitted, or the change needs an approved review. */
  permission: 4,
  /** An artifact's safety verdict blocks the change (or, with `register --fail-on-unsafe`, would block promotion). */
  unsafe: 5,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const byCode: Readonly<Record<string, ExitCode>> = {
  VALIDATION: ExitCode.usage,
  BAD_USER_INPUT: ExitCode.usage,
  NOT_FOUND: ExitCode.notFound,
  RANGE_NOT_SATISFIABLE: ExitCode.notFound,
  UNAUTHENTICATED: ExitCode.permission,
  PERMISSION_DENIED: ExitCode.permission,
  APPROVAL_REQUIRED: ExitCode.permission,
  REVIEWER_NOT_ELIGIBLE: ExitCode.permission,
  UNSAFE_ARTIFACT: ExitCode.unsafe,
};

/** The exit code for an error code the API answered (anything unlisted is a plain failure). */
export function exitCodeFor(code: string | undefined): ExitCode {
  return (code !== undefined && byCode[code]) || ExitCode.failure;
}

/** A failure to report: a message saying what to do next, the exit code, and the API's error (if any). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.failure,
    /** The API's error code, when the failure is the server's answer. */
    readonly code?: string,
    /** Machine-readable details for `--json` (e.g. the blocking artifacts). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  /** An error the API answered, with the exit code its code maps to. */
  static fromApi(code: string | undefined, message: string, details?: Record<string, unknown>): CliError {
    return new CliError(message, exitCodeFor(code), code, details);
  }
}

export const usageError = (message: string) => new CliError(message, ExitCode.usage, "USAGE");
