/**
 * pino JSON logs; on a terminal a tiny plain formatter (no extra dependency):
 * `12:00:01 INFO  reconciled web-01 decky=web-01 rid=7 actions=2`.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

/** One JSON log line -> one human line (the JSON itself when it cannot be parsed). */
export function formatPretty(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const t = typeof o['time'] === 'number' ? new Date(o['time']).toISOString().slice(11, 19) : '';
  const level = (LEVELS[Number(o['level'])] ?? String(o['level'])).padEnd(5);
  const fields = Object.entries(o)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`);
  return `${t} ${level} ${String(o['msg'] ?? '')}${fields.length ? ` ${fields.join(' ')}` : ''}\n`;
}

export interface LoggerOptions {
  level?: string;
  /** plain lines instead of JSON (default: stderr is a TTY) */
  pretty?: boolean;
  /** where lines go (default: stderr) */
  write?: (s: string) => void;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const pretty = opts.pretty ?? process.stderr.isTTY === true;
  const out = opts.write ?? ((s: string) => void process.stderr.write(s));
  const stream = { write: (s: string) => out(pretty ? formatPretty(s.trimEnd()) : s) };
  return pino({ level: opts.level ?? process.env['DECNET_LOG_LEVEL'] ?? 'info', base: { name: 'decnet-controller' } }, stream);
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
