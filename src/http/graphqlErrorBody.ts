import type { ErrorCode } from "./errorCodes.ts";

/** A GraphQL-over-HTTP error answer, for refusals made before a request reaches Yoga. */
export const graphqlErrorBody = (
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
) => ({
  errors: [{ message, extensions: { ...extensions, code } }],
});
