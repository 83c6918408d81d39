/**
 * Attacker events from the logs of a service container. Services write one JSON
 * object per line on stdout; docker may prefix each line with an RFC 3339 timestamp
 * (logs requested with timestamps). Non-JSON lines (diagnostics, banners) are ignored
 * and counted; JSON lines that are not valid events are counted as invalid.
 * Events are enriched from the container's labels: host and fleet always come from
 * the labels (the service cannot know them); decky and service only fill gaps.
 */
import { StringDecoder } from 'node:string_decoder';
import { attackerEventSchema, eventSeverity, type AttackerEvent } from '@decnet/api';

/** Label values of the container the lines came from. */
export interface EventSource {
  host?: string;
  fleet?: string;
  decky?: string;
  service?: string;
}

export type LineResult =
  | { kind: 'event'; event: AttackerEvent }
  | { kind: 'ignored' }
  | { kind: 'invalid'; error: string };

export interface ParseStats {
  events: number;
  ignored: number;
  invalid: number;
}

const DOCKER_TS = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) /;

/** Splits a docker timestamp prefix off a line. */
export function splitDockerTimestamp(line: string): { timestamp?: string; rest: string } {
  const m = DOCKER_TS.exec(line);
  return m ? { timestamp: m[1]!, rest: line.slice(m[0].length) } : { rest: line };
}

function normaliseTime(ts: string): string | undefined {
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Parses one log line (without its newline). */
export function parseEventLine(line: string, source: EventSource = {}): LineResult {
  const { timestamp, rest } = splitDockerTimestamp(line.replace(/\r$/, ''));
  const text = rest.trim();
  if (!text.startsWith('{')) return { kind: 'ignored' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { kind: 'ignored' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { kind: 'invalid', error: 'not a JSON object' };
  const obj: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  if (source.host !== undefined) obj.host = source.host;
  if (source.fleet !== undefined) obj.fleet = source.fleet;
  if (obj.decky === undefined && source.decky !== undefined) obj.decky = source.decky;
  if (obj.service === undefined && source.service !== undefined) obj.service = source.service;
  if (obj.time === undefined && timestamp !== undefined) {
    const t = normaliseTime(timestamp);
    if (t !== undefined) obj.time = t;
  }
  const parsed = attackerEventSchema.safeParse(obj);
  if (!parsed.success) {
    const error = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { kind: 'invalid', error };
  }
  // severity is the collector's verdict, not the service's claim
  return { kind: 'event', event: { ...parsed.data, severity: eventSeverity(parsed.data) } };
}

/** Parses a batch of lines (a string is split on newlines). */
export function parseEventLines(
  input: string | Iterable<string>,
  source: EventSource = {},
): ParseStats & { list: AttackerEvent[]; errors: string[] } {
  const lines = typeof input === 'string' ? input.split('\n') : input;
  const out = { list: [] as AttackerEvent[], errors: [] as string[], events: 0, ignored: 0, invalid: 0 };
  for (const line of lines) {
    if (line === '' || line === '\r') continue;
    const r = parseEventLine(line, source);
    if (r.kind === 'event') (out.list.push(r.event), out.events++);
    else if (r.kind === 'invalid') (out.errors.push(r.error), out.invalid++);
    else out.ignored++;
  }
  return out;
}

/**
 * Incremental parser for a log stream: feed chunks, get complete events back
 * (Buffer chunks may split UTF-8 characters).
 * A line longer than `maxLineBytes` is dropped (counted as ignored) instead of buffered.
 */
export class EventLineParser {
  readonly stats: ParseStats = { events: 0, ignored: 0, invalid: 0 };
  private buf = '';
  private skipping = false;
  private readonly decoder = new StringDecoder('utf8');
  private readonly maxLine: number;

  constructor(
    private readonly source: EventSource = {},
    opts: { maxLineBytes?: number } = {},
  ) {
    this.maxLine = opts.maxLineBytes ?? 64 * 1024;
  }

  push(chunk: string | Buffer): AttackerEvent[] {
    this.buf += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const out: AttackerEvent[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      this.take(line, out);
    }
    if (this.buf.length > this.maxLine) {
      if (!this.skipping) this.stats.ignored++;
      this.skipping = true;
      this.buf = '';
    }
    return out;
  }

  /** End of stream: parses a last line without newline. */
  end(): AttackerEvent[] {
    const out: AttackerEvent[] = [];
    this.buf += this.decoder.end();
    if (!this.skipping && this.buf !== '') this.take(this.buf, out);
    this.buf = '';
    this.skipping = false;
    return out;
  }

  private take(line: string, out: AttackerEvent[]): void {
    if (line === '' || line === '\r') return;
    const r = parseEventLine(line, this.source);
    if (r.kind === 'event') (out.push(r.event), this.stats.events++);
    else if (r.kind === 'invalid') this.stats.invalid++;
    else this.stats.ignored++;
  }
}
