/**
 * The alert queue on disk, so that a restart, a crash or a target outage loses no
 * alert: every alert is a file `<stateDir>/alerts/queue/<seq>-<id>.json` written
 * (atomically) before it is first sent and removed after it was delivered, and every
 * outcome is a line of `<stateDir>/alerts/deliveries.jsonl` (rotated at 8 MiB).
 * The throttle windows in progress are kept in `<stateDir>/alerts/groups.json`.
 */
import { appendFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Alert, AlertGroup } from './alert-core.js';

export interface QueuedAlert {
  alert: Alert;
  /** ms */
  queuedAt: number;
  attempts: number;
  /** ms: not before */
  nextAttempt: number;
  lastError?: string;
}

export interface DeliveryRecord {
  id: string;
  state: 'sent' | 'failed';
  route: string;
  type: string;
  fleet: string;
  decky: string;
  src_ip?: string;
  severity: string;
  count: number;
  attempts: number;
  queuedAt: string;
  at: string;
  /** ms from the first event of the alert to its delivery */
  latencyMs?: number;
  error?: string;
}

export const alertsStateDir = (stateDir: string): string => join(stateDir, 'alerts');
const queueDir = (stateDir: string) => join(alertsStateDir(stateDir), 'queue');
export const deliveriesPath = (stateDir: string): string => join(alertsStateDir(stateDir), 'deliveries.jsonl');
const groupsPath = (stateDir: string) => join(alertsStateDir(stateDir), 'groups.json');
const MAX_LOG_BYTES = 8 * 1024 * 1024;

async function atomicWrite(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}

export class AlertQueueStore {
  private seq = Date.now();
  private readonly files = new Map<string, string>();
  private logBytes = -1;

  constructor(readonly stateDir: string) {}

  async init(): Promise<void> {
    await mkdir(queueDir(this.stateDir), { recursive: true, mode: 0o700 });
  }

  /** Every queued alert on disk, oldest first (torn or foreign files are skipped). */
  async load(): Promise<QueuedAlert[]> {
    const dir = queueDir(this.stateDir);
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
    } catch {
      return [];
    }
    const out: QueuedAlert[] = [];
    for (const n of names) {
      try {
        const q = JSON.parse(await readFile(join(dir, n), 'utf8')) as QueuedAlert;
        if (!q?.alert?.id || typeof q.queuedAt !== 'number') continue;
        this.files.set(q.alert.id, n);
        out.push(q);
      } catch {
        // a torn write of a crash: its alert was never acknowledged as queued
      }
    }
    return out;
  }

  async put(q: QueuedAlert): Promise<void> {
    let name = this.files.get(q.alert.id);
    if (!name) {
      name = `${String(this.seq++).padStart(15, '0')}-${q.alert.id}.json`;
      this.files.set(q.alert.id, name);
    }
    await atomicWrite(join(queueDir(this.stateDir), name), `${JSON.stringify(q)}\n`);
  }

  has(id: string): boolean {
    return this.files.has(id);
  }

  /** Removes a delivered (or abandoned) alert and records the outcome. */
  async done(q: QueuedAlert, rec: DeliveryRecord): Promise<void> {
    await this.record(rec);
    const name = this.files.get(q.alert.id);
    this.files.delete(q.alert.id);
    if (name) await rm(join(queueDir(this.stateDir), name), { force: true });
  }

  async record(rec: DeliveryRecord): Promise<void> {
    const path = deliveriesPath(this.stateDir);
    const line = `${JSON.stringify(rec)}\n`;
    if (this.logBytes < 0) this.logBytes = await stat(path).then((s) => s.size, () => 0);
    if (this.logBytes + line.length > MAX_LOG_BYTES) {
      await rename(path, `${path}.1`).catch(() => undefined);
      this.logBytes = 0;
    }
    await appendFile(path, line, { mode: 0o600 });
    this.logBytes += Buffer.byteLength(line);
  }

  async saveGroups(groups: readonly AlertGroup[]): Promise<void> {
    await atomicWrite(groupsPath(this.stateDir), `${JSON.stringify(groups)}\n`);
  }

  async loadGroups(): Promise<AlertGroup[]> {
    try {
      const v = JSON.parse(await readFile(groupsPath(this.stateDir), 'utf8')) as unknown;
      return Array.isArray(v) ? (v as AlertGroup[]) : [];
    } catch {
      return [];
    }
  }
}

/** What `decnetctl alerts` shows: the queue and the recorded outcomes (newest last). */
export async function readAlertState(stateDir: string, opts: { limit?: number } = {}): Promise<{ queued: QueuedAlert[]; deliveries: DeliveryRecord[] }> {
  const store = new AlertQueueStore(stateDir);
  const queued = await store.load();
  const deliveries: DeliveryRecord[] = [];
  for (const p of [`${deliveriesPath(stateDir)}.1`, deliveriesPath(stateDir)]) {
    let text = '';
    try {
      text = await readFile(p, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        deliveries.push(JSON.parse(line) as DeliveryRecord);
      } catch {
        // a torn last line
      }
    }
  }
  const limit = opts.limit ?? 1000;
  return { queued, deliveries: deliveries.slice(-limit) };
}
