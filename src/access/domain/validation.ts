// Input rules of the access context, on top of the registry's shared text rules.
import type { ValidationError } from "../../domain/errors.ts";
import { ValidationError as Invalid } from "../../domain/errors.ts";
import { checkText, isForbiddenKey } from "../../domain/validation.ts";
import { TOKEN_SCOPES } from "./events.ts";

export const ACCESS_LIMITS = {
  displayNameMaxLength: 256,
  emailMaxLength: 320,
  teamNameMaxLength: 256,
  tokenNameMaxLength: 256,
  externalIdMaxLength: 1024,
} as const;

const EMAIL = /^[^\s@]+@[^\s@]+$/;

export function checkDisplayName(field: string, name: string): ValidationError | null {
  return (
    checkText(field, name, ACCESS_LIMITS.displayNameMaxLength, true) ??
    (name.trim().length === 0 ? new Invalid(field, "must not be blank") : null)
  );
}

export function checkEmail(field: string, email: string | null): ValidationError | null {
  if (email === null) return null;
  return (
    checkText(field, email, ACCESS_LIMITS.emailMaxLength, true) ??
    (EMAIL.test(email) ? null : new Invalid(field, "must be an email address (name@domain)"))
  );
}

/** Team names double as SSO group names, so they follow the same rules as keys. */
export function checkTeamName(field: string, name: string): ValidationError | null {
  const text = checkText(field, name, ACCESS_LIMITS.teamNameMaxLength, true);
  if (text) return text;
  if (name.trim().length === 0) return new Invalid(field, "must not be blank");
  return isForbiddenKey(name) ? new Invalid(field, `'${name}' is reserved`) : null;
}

export function checkTokenName(field: string, name: string): ValidationError | null {
  return checkText(field, name, ACCESS_LIMITS.tokenNameMaxLength, true);
}

export function checkScopes(field: string, scopes: readonly string[]): ValidationError | null {
  if (scopes.length === 0) return new Invalid(field, "must name at least one scope");
  const unknown = scopes.find((s) => !(TOKEN_SCOPES as readonly string[]).includes(s));
  if (unknown !== undefined) return new Invalid(field, `unknown scope '${unknown}' (read, write, admin)`);
  if (new Set(scopes).size !== scopes.length) return new Invalid(field, "must not repeat a scope");
  return null;
}

export function checkExternalId(field: string, value: string): ValidationError | null {
  return checkText(field, value, ACCESS_LIMITS.externalIdMaxLength, true);
}
