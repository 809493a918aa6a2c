// Runs a mutation and turns its result into one message: the typed error's (a union member
// implementing Error), the transport's, or null when it succeeded.
import type { OperationResult } from "urql";

interface Typed {
  readonly __typename: string;
  readonly message?: string;
}

export function problemOf<T>(result: OperationResult<T>, field: keyof T): string | null {
  if (result.error) return result.error.message;
  const answer = result.data?.[field] as Typed | undefined;
  if (answer === undefined) return "The server gave no answer.";
  return answer.message !== undefined && answer.__typename.endsWith("Error")
    ? `${answer.__typename.replace(/Error$/, "").replace(/([a-z])([A-Z])/g, "$1 $2")}: ${answer.message}`
    : null;
}

export const typenameOf = <T>(result: OperationResult<T>, field: keyof T) =>
  (result.data?.[field] as Typed | undefined)?.__typename;
