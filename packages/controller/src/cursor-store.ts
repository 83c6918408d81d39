/**
 * Log cursors of the event collector: per container, the Docker timestamp of the last
 * log line taken and how many lines carried exactly that timestamp. Docker's `since`
 * includes lines AT the given time, so a resumed stream repeats the boundary lines:
 * the count says how many of them to skip. Timestamps are compared as integer
 * nanoseconds (Docker trims trailing zeros of RFC3339Nano, so strings do not sort).
 *
 * The store persists the cursors as one JSON file, replaced atomically (temp file +
 * rename), so a crash leaves either the old or the new file, never a torn one.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface LogCursor {
  /** Docker's RFC 3339 (nano) timestamp of the last line taken */
  time: string;
  /** lines taken that carry exactly `time` (>= 1) */
  count: number;
}

const TS = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Nanoseconds since the epoch of an RFC 3339 time with up to 9 fractional digits, or undefined. */
export function dockerTimeNs(time: string): bigint | undefined {
  const m = TS.exec(time);
  if (!m) return undefined;
  const secondsMs = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(secondsMs)) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return BigInt(secondsMs) * 1_000_000n + BigInt(frac);
}

/** The `since` value Docker's API parses without loss: `<seconds>.<9-digit nanos>`. */
export function sinceParam(time: string): string | undefined {
  const ns = dockerTimeNs(time);
  if (ns === undefined) return undefined;
  const sec = ns / 1_000_000_000n;
  const rem = ns % 1_000_000_000n;
  return `${sec}.${rem.toString().padStart(9, '0')}`;
}

/**
 * Boundary deduplication for one log stream resumed from `start` (the cursor saved
 * by a previous stream of the same container). Feed the Docker timestamp of every
 * line in stream order; `accept` says whether the line is new and keeps the cursor.
 * Lines older than the start are repeats; at the start time the first `start.count`
 * lines are repeats. A line without a parsable time is taken and moves nothing.
 */
export class CursorTracker {
  private readonly startNs: bigint | undefined;
  private skipped = 0;
  private pastStart = false;
  private current: LogCursor | undefined;
  private currentNs: bigint | undefined;

  constructor(private readonly start: LogCursor | undefined) {
    this.startNs = start ? dockerTimeNs(start.time) : undefined;
    if (start && this.startNs !== undefined) {
      this.current = { ...start };
      this.currentNs = this.startNs;
    } else this.pastStart = true;
  }

  accept(time: string | undefined): boolean {
    const ns = time === undefined ? undefined : dockerTimeNs(time);
    if (ns === undefined || time === undefined) return true;
    if (!this.pastStart && this.start && this.startNs !== undefined) {
      if (ns < this.startNs) return false;
      if (ns === this.startNs && this.skipped < this.start.count) {
        this.skipped++;
        return false;
      }
      this.pastStart = true;
    }
    if (this.current && this.currentNs !== undefined && ns === this.currentNs) this.current = { time: this.current.time, count: this.current.count + 1 };
    else if (this.currentNs === undefined || ns > this.currentNs) {
      this.current = { time, count: 1 };
      this.currentNs = ns;
    }
    // a line older than the cursor (clock step inside one stream) is taken; the cursor never moves back
    return true;
  }

  /** The cursor after every line accepted so far (undefined: nothing taken and no start). */
  get cursor(): LogCursor | undefined {
    return this.current ? { ...this.current } : undefined;
  }
}

export interface CursorEntry extends LogCursor {
  /** container name, for humans reading the file */
  name?: string;
}

interface CursorFile {
  version: 1;
  containers: Record<string, CursorEntry>;
}

function validEntry(v: unknown): v is CursorEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e.time === 'string' && dockerTimeNs(e.time) !== undefined && typeof e.count === 'number' && Number.isInteger(e.count) && e.count >= 0;
}

/** Cursors by container id, persisted as JSON at `path`. */
export class CursorStore {
  private readonly entries = new Map<string, CursorEntry>();
  private dirty = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /** Loads the file; a missing or unreadable file means no cursors (returns how many were loaded). */
  async load(): Promise<number> {
    this.entries.clear();
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(this.path, 'utf8'));
    } catch {
      return 0;
    }
    const containers = (raw as Partial<CursorFile> | null)?.containers;
    if (containers && typeof containers === 'object') {
      for (const [id, e] of Object.entries(containers)) if (validEntry(e)) this.entries.set(id, { ...e });
    }
    return this.entries.size;
  }

  get(id: string): CursorEntry | undefined {
    const e = this.entries.get(id);
    return e ? { ...e } : undefined;
  }

  set(id: string, cursor: LogCursor, name?: string): void {
    const prev = this.entries.get(id);
    if (prev && prev.time === cursor.time && prev.count === cursor.count) return;
    this.entries.set(id, name === undefined ? { ...cursor } : { ...cursor, name });
    this.dirty = true;
  }

  delete(id: string): void {
    if (this.entries.delete(id)) this.dirty = true;
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  get isDirty(): boolean {
    return this.dirty;
  }

  /** Writes the file if anything changed (serialised: concurrent calls queue up). */
  save(): Promise<void> {
    this.saving = this.saving.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const body: CursorFile = { version: 1, containers: Object.fromEntries([...this.entries].sort(([a], [b]) => (a < b ? -1 : 1))) };
      const tmp = `${this.path}.${process.pid}.tmp`;
      try {
        await mkdir(dirname(this.path), { recursive: true, mode: 0o750 });
        await writeFile(tmp, `${JSON.stringify(body, null, 1)}\n`, { mode: 0o640 });
        await rename(tmp, this.path);
      } catch (err) {
        this.dirty = true;
        throw err;
      }
    });
    return this.saving;
  }
}
