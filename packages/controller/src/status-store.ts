/**
 * The controller's view of every decky's status, persisted to
 * `<stateDir>/status/<hostId>.json` (atomic: write a temp file, then rename) so that
 * `decnetctl get`/`describe`/`wait` can show what the controller knows (heal failures,
 * crash loops) and not only what the containers say.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeckyPhase, DeckyStatus } from './status.js';

export const STATUS_FILE_VERSION = 1;

export interface DeckyStatusRecord {
  fleet?: string;
  status: DeckyStatus;
  /** RFC 3339: when the controller last computed it */
  updatedAt: string;
}

export interface StatusFile {
  version: number;
  hostId: string;
  /** RFC 3339: when the file was written */
  updatedAt: string;
  /** the controller's full-resync period: readers treat the file as stale after ~2 of them */
  resyncMs: number;
  engineReachable: boolean;
  pid: number;
  deckies: Record<string, DeckyStatusRecord>;
}

export function controllerStatusPath(stateDir: string, hostId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(hostId)) throw new Error(`host id ${JSON.stringify(hostId)} cannot be used in a file name`);
  return join(stateDir, 'status', `${hostId}.json`);
}

/** Reads the status file; undefined when absent or unreadable. */
export async function readStatusFile(stateDir: string, hostId: string): Promise<StatusFile | undefined> {
  try {
    const f = JSON.parse(await readFile(controllerStatusPath(stateDir, hostId), 'utf8')) as StatusFile;
    if (f.version !== STATUS_FILE_VERSION || typeof f.updatedAt !== 'string' || typeof f.deckies !== 'object' || f.deckies === null) return undefined;
    return f;
  } catch {
    return undefined;
  }
}

/** Whether a reader should trust the file: written within two resync periods (at least 10 s). */
export function isFresh(f: StatusFile, now = Date.now()): boolean {
  const age = now - Date.parse(f.updatedAt);
  return Number.isFinite(age) && age <= Math.max(2 * f.resyncMs, 10_000);
}

export interface StatusStoreOptions {
  stateDir: string;
  hostId: string;
  resyncMs: number;
  /** don't write files (reconcile --once without a state dir, tests) */
  persist?: boolean;
  now?: () => number;
}

export class StatusStore {
  private readonly map = new Map<string, DeckyStatusRecord>();
  private engineReachable = true;
  private writing: Promise<void> = Promise.resolve();
  private pending = false;
  private readonly now: () => number;
  private seq = 0;

  constructor(private readonly opts: StatusStoreOptions) {
    this.now = opts.now ?? Date.now;
  }

  get(name: string): DeckyStatusRecord | undefined {
    return this.map.get(name);
  }

  set(name: string, fleet: string | undefined, status: DeckyStatus): void {
    this.map.set(name, { ...(fleet !== undefined ? { fleet } : {}), status, updatedAt: new Date(this.now()).toISOString() });
  }

  delete(name: string): void {
    this.map.delete(name);
  }

  names(): string[] {
    return [...this.map.keys()].sort();
  }

  setEngineReachable(ok: boolean): void {
    this.engineReachable = ok;
  }

  countByPhase(): Record<DeckyPhase, number> {
    const out: Record<DeckyPhase, number> = { Pending: 0, Running: 0, Degraded: 0, Failed: 0, Unknown: 0 };
    for (const r of this.map.values()) out[r.status.phase]++;
    return out;
  }

  snapshot(): StatusFile {
    const deckies: Record<string, DeckyStatusRecord> = {};
    for (const name of this.names()) deckies[name] = this.map.get(name)!;
    return {
      version: STATUS_FILE_VERSION,
      hostId: this.opts.hostId,
      updatedAt: new Date(this.now()).toISOString(),
      resyncMs: this.opts.resyncMs,
      engineReachable: this.engineReachable,
      pid: process.pid,
      deckies,
    };
  }

  /** Writes the file (coalesced: concurrent calls share one write after the current one). */
  flush(): Promise<void> {
    if (this.opts.persist === false) return Promise.resolve();
    if (this.pending) return this.writing;
    this.pending = true;
    const write = this.writing.then(async () => {
      this.pending = false;
      const path = controllerStatusPath(this.opts.stateDir, this.opts.hostId);
      await mkdir(join(this.opts.stateDir, 'status'), { recursive: true, mode: 0o755 });
      const tmp = `${path}.${process.pid}.${++this.seq}.tmp`;
      await writeFile(tmp, JSON.stringify(this.snapshot(), null, 1) + '\n', { mode: 0o644 });
      await rename(tmp, path);
    });
    // one failed write (disk full, ...) must not wedge the chain for later ones
    this.writing = write.catch(() => undefined);
    return write;
  }
}
