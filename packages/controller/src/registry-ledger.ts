/**
 * The controller's ledger of what the registry placed on this host:
 * `<stateDir>/registry/<cluster>/<hostId>.json` (atomic write: temp file + rename).
 * Only deckies listed here may be removed when a desired slice stops listing them;
 * `lastRev` (the highest cluster revision seen) tells a wiped registry (a Redis
 * restarted without persistence: its revision starts again from 0) from a host that
 * was deleted on purpose.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const LEDGER_VERSION = 1;

export interface RegistryLedger {
  version: number;
  cluster: string;
  hostId: string;
  /** deckies materialised from a desired slice, sorted */
  placed: string[];
  /** fleets of those deckies, sorted */
  fleets: string[];
  /** desired slice generation last materialised */
  generation: number;
  /** decky -> desired generation last materialised */
  deckyGenerations: Record<string, number>;
  /** highest cluster revision seen */
  lastRev: number;
  updatedAt: string;
}

const SAFE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function ledgerPath(stateDir: string, cluster: string, hostId: string): string {
  if (!SAFE.test(cluster) || !SAFE.test(hostId)) throw new Error(`cluster ${JSON.stringify(cluster)} / host ${JSON.stringify(hostId)} cannot be used in a file name`);
  return join(stateDir, 'registry', cluster, `${hostId}.json`);
}

export function emptyLedger(cluster: string, hostId: string): RegistryLedger {
  return { version: LEDGER_VERSION, cluster, hostId, placed: [], fleets: [], generation: 0, deckyGenerations: {}, lastRev: 0, updatedAt: new Date(0).toISOString() };
}

/** The ledger, or an empty one when absent; an unreadable file is an error (never guess). */
export async function readLedger(stateDir: string, cluster: string, hostId: string): Promise<RegistryLedger> {
  const path = ledgerPath(stateDir, cluster, hostId);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyLedger(cluster, hostId);
    throw err;
  }
  const l = JSON.parse(text) as RegistryLedger;
  if (l.version !== LEDGER_VERSION || !Array.isArray(l.placed)) throw new Error(`${path}: not a decnet registry ledger (version ${String(l.version)})`);
  return { ...emptyLedger(cluster, hostId), ...l };
}

let seq = 0;

export async function writeLedger(stateDir: string, l: RegistryLedger): Promise<void> {
  const path = ledgerPath(stateDir, l.cluster, l.hostId);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${++seq}.tmp`;
  await writeFile(tmp, JSON.stringify({ ...l, updatedAt: new Date().toISOString() }, null, 2), { mode: 0o600 });
  await rename(tmp, path);
}
