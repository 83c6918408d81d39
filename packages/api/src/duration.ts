/** Durations as manifests write them: `30s`, `15m`, `2h`, `1d` (one unit, positive integer). */

const UNITS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
type Unit = keyof typeof UNITS;

export const DURATION_PATTERN = '^[1-9][0-9]{0,8}[smhd]$';
const DURATION_RE = new RegExp(DURATION_PATTERN);

export function isDuration(text: string): boolean {
  return DURATION_RE.test(text);
}

/** Seconds for a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  const unit = text.slice(-1) as Unit;
  return Number(text.slice(0, -1)) * UNITS[unit];
}

/** Shortest exact duration string for a positive whole number of seconds (3600 -> `1h`). */
export function formatDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds <= 0) throw new RangeError(`not a positive whole number of seconds: ${seconds}`);
  for (const unit of ['d', 'h', 'm'] as const) {
    if (seconds % UNITS[unit] === 0) return `${seconds / UNITS[unit]}${unit}`;
  }
  return `${seconds}s`;
}
