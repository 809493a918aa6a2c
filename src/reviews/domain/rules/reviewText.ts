// Bounds of the free text of reviews: reasons are required and non-blank, comments bounded.
import { ValidationError } from "../../../domain/errors.ts";
import { checkText } from "../../../domain/validation.ts";
import { REVIEW_LIMITS } from "../policy.ts";

export function checkReason(field: string, reason: string, required: boolean): ValidationError | null {
  if (required && reason.trim().length === 0) return new ValidationError(field, "must not be blank");
  return checkText(field, reason, REVIEW_LIMITS.reasonMaxLength, required);
}
