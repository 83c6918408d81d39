import { DecnetError, parseDuration } from '@decnet/api';

/** `--since 10m` or an RFC 3339 time -> unix seconds. */
export function parseSince(text: string | undefined, now = Date.now()): number | undefined {
  if (text === undefined) return undefined;
  const d = parseDuration(text);
  if (d !== undefined) return Math.floor(now / 1000) - d;
  const t = Date.parse(text);
  if (Number.isFinite(t)) return Math.floor(t / 1000);
  throw new DecnetError('InvalidFlag', `--since ${JSON.stringify(text)} is neither a duration nor a time`, 'use e.g. 30s, 10m, 2h, 1d or 2026-01-31T12:00:00Z');
}
