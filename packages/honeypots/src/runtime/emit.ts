/**
 * Attacker event emitter: one JSON line per event on stdout. Never throws:
 * a honeypot must keep serving even if stdout is closed or a field is odd.
 */
import type { AttackerEvent } from '@decnet/api';
import type { EmitFields } from './types.js';

export interface EmitterOptions {
  decky: string;
  service: string;
  /** sink for one serialized line (without the trailing newline added here); default: process.stdout */
  write?: (line: string) => void;
  /** clock, for tests */
  now?: () => Date;
}

export type Emit = (fields: EmitFields) => void;

/** Max length of any single string field in an event, so an attacker cannot blow up the log stream. */
export const MAX_FIELD_CHARS = 8192;

function clip(v: unknown): unknown {
  if (typeof v === 'string' && v.length > MAX_FIELD_CHARS) return `${v.slice(0, MAX_FIELD_CHARS)}...[truncated ${v.length - MAX_FIELD_CHARS}]`;
  return v;
}

function defaultWrite(line: string): void {
  try {
    if (process.stdout.writable) process.stdout.write(line);
  } catch {
    /* stdout gone: nothing useful to do */
  }
}

export function createEmitter(opts: EmitterOptions): Emit {
  const write = opts.write ?? defaultWrite;
  const now = opts.now ?? (() => new Date());
  return (fields: EmitFields) => {
    try {
      const ev: Record<string, unknown> = { time: now().toISOString(), decky: opts.decky, service: opts.service };
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined || k === 'time' || k === 'decky' || k === 'service') continue;
        ev[k] = clip(v);
      }
      write(`${JSON.stringify(ev satisfies Partial<AttackerEvent>)}\n`);
    } catch {
      /* never let logging break a session (e.g. BigInt or circular values) */
    }
  };
}
