/**
 * The collected event stream as a JSONL file (one event per line), rotated by size:
 * `events.jsonl` is the newest, `events.jsonl.1` the one before, up to `.keep`.
 * Writes are synchronous appends (O_APPEND) so an event handed to this sink is in
 * the kernel once `write` returns: a kill -9 of the controller loses none of them.
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AttackerEvent } from '@decnet/api';
import type { EventSink, SinkStats } from './sinks.js';

export const DEFAULT_EVENTS_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_EVENTS_KEEP = 5;

/** `<stateDir>/events/events.jsonl`: the default collected stream. */
export function eventsFilePath(stateDir: string): string {
  return join(stateDir, 'events', 'events.jsonl');
}

/** The files of a rotated stream, oldest first (`.keep` ... `.1`, then the live file); existence not checked. */
export function rotatedFiles(path: string, keep = DEFAULT_EVENTS_KEEP): string[] {
  const out: string[] = [];
  for (let i = keep; i >= 1; i--) out.push(`${path}.${i}`);
  out.push(path);
  return out;
}

export interface JsonlFileSinkOptions {
  path: string;
  /** rotate before a write would make the file larger than this (default 64 MiB) */
  maxBytes?: number;
  /** rotated files kept (default 5) */
  keep?: number;
  /** called when the file cannot be written (the event is counted as an error) */
  onError?: (err: Error) => void;
}

export class JsonlFileSink implements EventSink {
  readonly name = 'file';
  readonly path: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private fd: number | undefined;
  private size = 0;
  private readonly counters: SinkStats = { written: 0, dropped: 0, errors: 0 };
  rotations = 0;

  constructor(private readonly opts: JsonlFileSinkOptions) {
    this.path = opts.path;
    this.maxBytes = Math.max(1, opts.maxBytes ?? DEFAULT_EVENTS_MAX_BYTES);
    this.keep = Math.max(0, Math.floor(opts.keep ?? DEFAULT_EVENTS_KEEP));
  }

  write(ev: AttackerEvent): void {
    const line = Buffer.from(`${JSON.stringify(ev)}\n`, 'utf8');
    try {
      if (this.fd === undefined) this.open();
      if (this.size > 0 && this.size + line.length > this.maxBytes) this.rotate();
      let off = 0;
      while (off < line.length) off += writeSync(this.fd!, line, off, line.length - off);
      this.size += line.length;
      this.counters.written++;
    } catch (err) {
      this.counters.errors++;
      this.closeFd();
      this.opts.onError?.(err as Error);
    }
  }

  private open(): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o750 });
    this.fd = openSync(this.path, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
  }

  /** events.jsonl -> .1 -> .2 ... ; the oldest beyond `keep` is deleted. */
  private rotate(): void {
    this.closeFd();
    if (this.keep === 0) rmSync(this.path, { force: true });
    else {
      rmSync(`${this.path}.${this.keep}`, { force: true });
      for (let i = this.keep - 1; i >= 1; i--) {
        try {
          renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      renameSync(this.path, `${this.path}.1`);
    }
    this.rotations++;
    this.open();
  }

  async flush(): Promise<void> {
    // writes are synchronous: nothing buffered here
  }

  async close(): Promise<void> {
    this.closeFd();
  }

  stats(): SinkStats {
    return { ...this.counters };
  }
}
