// The registry's input rules, shared by every command. Each check returns a ValidationError naming
// the field, or null. The limits mirror MLflow's so that scripts written for it keep working.
import { ValidationError } from "./errors.ts";

export const LIMITS = {
  nameMaxLength: 256,
  tagKeyMaxLength: 250,
  tagValueMaxLength: 5000,
  descriptionMaxLength: 65_536,
  sourceMaxLength: 4096,
  runIdMaxLength: 256,
  commentMaxLength: 5000,
  metricNameMaxLength: 250,
  maxTagsPerCommand: 100,
  maxMetricsPerCommand: 1000,
  paramsMaxBytes: 256 * 1024,
} as const;

// C0 and C1 control characters, including DEL: matching them is the point of this pattern.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const ALIAS_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,254}$/;
const RESERVED_ALIAS = /^(latest|v\d+)$/i;

export function checkModelName(field: string, name: string): ValidationError | null {
  if (name.length < 1 || name.length > LIMITS.nameMaxLength)
    return new ValidationError(field, `must be 1 to ${LIMITS.nameMaxLength} characters`);
  if (name.includes("/")) return new ValidationError(field, "must not contain '/'");
  if (CONTROL_CHARS.test(name)) return new ValidationError(field, "must not contain control characters");
  if (name.trim() !== name) return new ValidationError(field, "must not start or end with white space");
  return null;
}

export function checkTagKey(field: string, key: string): ValidationError | null {
  if (key.length < 1 || key.length > LIMITS.tagKeyMaxLength)
    return new ValidationError(field, `must be 1 to ${LIMITS.tagKeyMaxLength} characters`);
  if (CONTROL_CHARS.test(key)) return new ValidationError(field, "must not contain control characters");
  return null;
}

export function checkTagValue(field: string, value: string): ValidationError | null {
  if (value.length > LIMITS.tagValueMaxLength)
    return new ValidationError(field, `must be at most ${LIMITS.tagValueMaxLength} characters`);
  return null;
}

export function checkTags(
  field: string,
  tags: readonly { key: string; value: string }[],
): ValidationError | null {
  if (tags.length > LIMITS.maxTagsPerCommand)
    return new ValidationError(field, `at most ${LIMITS.maxTagsPerCommand} tags at once`);
  const seen = new Set<string>();
  for (const [i, tag] of tags.entries()) {
    const error =
      checkTagKey(`${field}.${i}.key`, tag.key) ?? checkTagValue(`${field}.${i}.value`, tag.value);
    if (error) return error;
    if (seen.has(tag.key)) return new ValidationError(`${field}.${i}.key`, `duplicate tag key '${tag.key}'`);
    seen.add(tag.key);
  }
  return null;
}

export function checkAlias(field: string, alias: string): ValidationError | null {
  if (!ALIAS_PATTERN.test(alias))
    return new ValidationError(field, "must match ^[A-Za-z_][A-Za-z0-9_-]{0,254}$");
  if (RESERVED_ALIAS.test(alias))
    return new ValidationError(field, `'${alias}' is reserved ('latest' and 'v<number>' name versions)`);
  return null;
}

export function checkDescription(field: string, description: string): ValidationError | null {
  if (description.length > LIMITS.descriptionMaxLength)
    return new ValidationError(field, `must be at most ${LIMITS.descriptionMaxLength} characters`);
  return null;
}

export function checkText(
  field: string,
  text: string,
  maxLength: number,
  required: boolean,
): ValidationError | null {
  if (required && text.length === 0) return new ValidationError(field, "must not be empty");
  if (text.length > maxLength) return new ValidationError(field, `must be at most ${maxLength} characters`);
  if (CONTROL_CHARS.test(text)) return new ValidationError(field, "must not contain control characters");
  return null;
}

export function checkMetrics(
  field: string,
  metrics: readonly { key: string; value: number }[],
): ValidationError | null {
  if (metrics.length > LIMITS.maxMetricsPerCommand)
    return new ValidationError(field, `at most ${LIMITS.maxMetricsPerCommand} metrics at once`);
  const seen = new Set<string>();
  for (const [i, metric] of metrics.entries()) {
    const keyError = checkText(`${field}.${i}.key`, metric.key, LIMITS.metricNameMaxLength, true);
    if (keyError) return keyError;
    if (!Number.isFinite(metric.value))
      return new ValidationError(`${field}.${i}.value`, "must be a finite number");
    if (seen.has(metric.key))
      return new ValidationError(`${field}.${i}.key`, `duplicate metric '${metric.key}'`);
    seen.add(metric.key);
  }
  return null;
}

/** Training configuration: any JSON object, bounded in size so one version cannot bloat the log. */
export function checkParams(field: string, params: unknown): ValidationError | null {
  if (typeof params !== "object" || params === null || Array.isArray(params))
    return new ValidationError(field, "must be a JSON object");
  const size = JSON.stringify(params).length;
  if (size > LIMITS.paramsMaxBytes)
    return new ValidationError(
      field,
      `must serialise to at most ${LIMITS.paramsMaxBytes} characters of JSON`,
    );
  return null;
}

export function checkVersionNumber(field: string, version: number): ValidationError | null {
  if (!Number.isSafeInteger(version) || version < 1)
    return new ValidationError(field, "must be a positive integer");
  return null;
}

/** Returns the first error of a list of checks, so a command reports the first broken rule. */
export function firstError(...errors: (ValidationError | null)[]): ValidationError | null {
  return errors.find((e) => e !== null) ?? null;
}
