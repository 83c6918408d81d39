/**
 * One place that turns errors into what a user reads: code, message and hint on
 * stderr, exit status 2 for errors (1 is "invalid input / changes" where a
 * command documents it).
 */
import type { Command } from '@oclif/core';
import { DecnetError, parseDuration } from '@decnet/api';

export function describeError(err: unknown): string {
  if (err instanceof DecnetError) return `error: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`;
  if (err instanceof Error) return `error: ${err.message}`;
  return `error: ${String(err)}`;
}

/** Print the error and exit: 1 for invalid manifests (nothing changed), 2 otherwise. */
export function fail(cmd: Command, err: unknown, code?: number): never {
  // oclif's own exit signal must pass through untouched
  if (err instanceof Error && 'oclif' in err) throw err;
  process.stderr.write(`${describeError(err)}\n`);
  const c = code ?? (err instanceof DecnetError && (err.code === 'InvalidManifests' || err.code === 'ImageMissing') ? 1 : 2);
  return cmd.exit(c);
}

/** A duration flag (30s, 15m, 2h, 1d) in milliseconds, or a clear error. */
export function durationMs(text: string, flag: string): number {
  const s = parseDuration(text);
  if (s === undefined) throw new DecnetError('InvalidFlag', `${flag} ${JSON.stringify(text)} is not a duration`, 'use a number with s, m, h or d, e.g. 30s, 5m, 2h, 1d');
  return s * 1000;
}
