// Human-friendly sizes and durations for configuration and CLI flags: `512MiB`, `20GB`, `7d`.

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * Splits `512 MiB` into its number and unit, by hand rather than with `\s*(\d+)\s*([a-z]*)\s*`,
 * whose adjacent optional parts backtrack quadratically on a long run of spaces.
 */
function numberAndUnit(text: string): { value: number; unit: string } | null {
  const trimmed = text.trim();
  let end = 0;
  while (end < trimmed.length && "0123456789.".includes(trimmed.charAt(end))) end++;
  const number = trimmed.slice(0, end);
  if (!/^\d+(\.\d+)?$/.test(number)) return null;
  return { value: Number(number), unit: trimmed.slice(end).trim().toLowerCase() };
}

/** Parses `1048576`, `512MiB`, `1.5GB`… into bytes, or returns null when it is not a size. */
export function parseByteSize(text: string): number | null {
  const parsed = numberAndUnit(text);
  const unit =
    parsed === null || !Object.hasOwn(SIZE_UNITS, parsed.unit) ? undefined : SIZE_UNITS[parsed.unit];
  if (parsed === null || unit === undefined) return null;
  const bytes = Math.floor(parsed.value * unit);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses `30s`, `12h`, `7d`, `2w` into milliseconds, or returns null. */
export function parseDuration(text: string): number | null {
  const parsed = numberAndUnit(text);
  const unit =
    parsed === null || !Object.hasOwn(DURATION_UNITS, parsed.unit) ? undefined : DURATION_UNITS[parsed.unit];
  return parsed === null || unit === undefined ? null : Math.round(parsed.value * unit);
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(1)} ${units[i]}`;
}
