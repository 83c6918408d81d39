/** Host identity and the host-level lock that serialises `apply` on one machine. */
import { randomBytes, createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { DecnetError } from '@decnet/api';
import { lockPath, resolveStateDir } from './paths.js';

export interface HostIdOptions {
  hostId?: string;
  env?: NodeJS.ProcessEnv;
  machineIdFile?: string;
}

/** Host id: option > $DECNET_HOST_ID > first 12 hex of /etc/machine-id > hash of the hostname. */
export async function resolveHostId(opts: HostIdOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const explicit = opts.hostId ?? env['DECNET_HOST_ID'];
  if (explicit) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(explicit)) {
      throw new DecnetError('InvalidHostId', `host id ${JSON.stringify(explicit)} must be 1-63 letters, digits, '.', '_' or '-'`);
    }
    return explicit;
  }
  try {
    const id = (await readFile(opts.machineIdFile ?? '/etc/machine-id', 'utf8')).trim().toLowerCase();
    if (/^[0-9a-f]{12,}$/.test(id)) return id.slice(0, 12);
  } catch {
    // fall through
  }
  return createHash('sha256').update(hostname(), 'utf8').digest('hex').slice(0, 12);
}

export interface HostLockOptions {
  stateDir?: string;
  /** lock name (file `<stateDir>/locks/<name>.lock`), default "apply" */
  name?: string;
  /** how long to wait for a held lock, default 60 s */
  timeoutMs?: number;
  pollMs?: number;
}

interface LockContent {
  pid: number;
  time: string;
  token: string;
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<LockContent | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<LockContent>;
    if (typeof parsed.pid === 'number' && typeof parsed.token === 'string') return parsed as LockContent;
    return undefined;
  } catch {
    return undefined;
  }
}

async function tryCreate(path: string, content: LockContent): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o644);
    try {
      await fh.writeFile(JSON.stringify(content));
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') return false;
    throw err;
  }
}

/** Removes the lock file if it still holds `holder` (moved aside first, so a fresh lock is never lost). */
async function breakStale(path: string, holder: LockContent): Promise<void> {
  const aside = `${path}.stale.${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  const moved = await readLock(aside);
  if (moved?.token !== (holder.token || undefined)) {
    // someone took the lock between our read and the rename: put theirs back
    try {
      await rename(aside, path);
      return;
    } catch {
      // fall through to cleanup
    }
  }
  await unlink(aside).catch(() => undefined);
}

/** A lock file nobody could parse for 5 s is the remains of a crash between create and write. */
async function unreadableAndOld(path: string): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > 5_000;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs fn while holding the host's exclusive lock file; waits (polling) for a live holder. */
export async function withHostLock<T>(fn: () => Promise<T>, opts: HostLockOptions = {}): Promise<T> {
  const path = lockPath(resolveStateDir(opts.stateDir), opts.name ?? 'apply');
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const pollMs = opts.pollMs ?? 100;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const mine: LockContent = { pid: process.pid, time: new Date().toISOString(), token: randomBytes(12).toString('hex') };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tryCreate(path, mine)) break;
    const holder = await readLock(path);
    if (holder ? !pidAlive(holder.pid) : await unreadableAndOld(path)) {
      await breakStale(path, holder ?? { pid: 0, time: '', token: '' });
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder ? `pid ${holder.pid} since ${holder.time}` : 'an unknown holder';
      throw new DecnetError(
        'HostLocked',
        `another decnet operation holds the host lock ${path} (${who})`,
        'wait for it to finish; if no decnet process is running, remove the lock file',
      );
    }
    await sleep(pollMs);
  }
  try {
    return await fn();
  } finally {
    const current = await readLock(path);
    if (current?.token === mine.token) await unlink(path).catch(() => undefined);
  }
}
