// Durations in configuration (`DEADDROP_MAX_MESSAGE_AGE=7d`, `DEADDROP_REQUEST_TIMEOUT=30s`): a
// whole number with an optional unit, seconds when none is given.
const UNIT_MS = new Map<string, number>([
  ['ms', 1],
  ['s', 1_000],
  ['m', 60_000],
  ['h', 3_600_000],
  ['d', 86_400_000],
]);

/** Milliseconds, or null for text that is not a duration. */
export function parseDurationMs(text: string): number | null {
  const match = /^(\d{1,12})(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) return null;
  const [, amount = '', unit = 's'] = match;
  const factor = UNIT_MS.get(unit);
  return factor === undefined ? null : Number(amount) * factor;
}

/** `ms` in the largest unit that holds it whole (`604800000` → `7d`), as the variables take it. */
export function durationText(ms: number): string {
  for (const [unit, factor] of [...UNIT_MS].reverse())
    if (ms >= factor && ms % factor === 0) return `${String(ms / factor)}${unit}`;
  return `${String(ms)}ms`;
}
