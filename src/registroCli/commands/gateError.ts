// The safety gate's and the review policy's refusals, said with what to do next.
import { CliError } from "../exitCodes.ts";
import type { TypedResult } from "../graphqlClient.ts";

/** Throws UnsafeArtifactError / ApprovalRequiredError with guidance; passes anything else through. */
export function gateError(result: TypedResult, model: string, version: number, what: string): TypedResult {
  if (result.__typename === "UnsafeArtifactError") {
    const blocking = result.artifacts as { path: string; verdict: string | null }[];
    const total = result.total as number;
    const list = blocking.map((a) => `${a.path} (${a.verdict ?? "never inspected"})`).join(", ");
    throw CliError.fromApi(
      result.code,
      `${model} version ${version} cannot ${what}: ${total} artifact(s) block it: ${list}. ` +
        `Re-inspect them, or repeat with --override-reason "<why>" (recorded in history)`,
      { version: result.version, action: result.action, total, artifacts: blocking },
    );
  }
  if (result.__typename === "ApprovalRequiredError") {
    const needed = result.requiredApprovals as number;
    throw CliError.fromApi(
      result.code,
      `${result.message ?? "approval required"} (${needed} approval(s) needed): open a review (requestReview) and have it approved, or, as an admin, repeat with --bypass-reason "<why>"`,
      { requiredApprovals: needed },
    );
  }
  return result;
}
