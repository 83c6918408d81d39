import { mkdtemp, rm, writeFile, readFile, mkdir, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHostId, withHostLock } from './host.js';
import { lockPath } from './paths.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 't4-host-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resolveHostId', () => {
  it('prefers the option, then DECNET_HOST_ID, then machine-id', async () => {
    const mid = join(dir, 'machine-id');
    await writeFile(mid, '3D1219C7C4C5404AAA1F6D2A48ADFDA4\n');
    expect(await resolveHostId({ hostId: 'worker-a', env: { DECNET_HOST_ID: 'x' }, machineIdFile: mid })).toBe('worker-a');
    expect(await resolveHostId({ env: { DECNET_HOST_ID: 'from-env' }, machineIdFile: mid })).toBe('from-env');
    expect(await resolveHostId({ env: {}, machineIdFile: mid })).toBe('3d1219c7c4c5');
  });
  it('falls back to a stable hash when machine-id is missing', async () => {
    const a = await resolveHostId({ env: {}, machineIdFile: join(dir, 'nope') });
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(await resolveHostId({ env: {}, machineIdFile: join(dir, 'nope') })).toBe(a);
  });
  it('rejects ids that cannot be a label value filter', async () => {
    await expect(resolveHostId({ hostId: 'a=b' })).rejects.toMatchObject({ code: 'InvalidHostId' });
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('withHostLock', () => {
  it('serialises two concurrent holders', async () => {
    const log: string[] = [];
    const body = (tag: string) => async () => {
      log.push(`${tag}:in`);
      await sleep(150);
      log.push(`${tag}:out`);
      return tag;
    };
    const opts = { stateDir: dir, pollMs: 10 };
    const results = await Promise.all([withHostLock(body('a'), opts), withHostLock(body('b'), opts)]);
    expect(results).toEqual(['a', 'b']);
    // never interleaved: each "in" is directly followed by its own "out"
    expect(log).toHaveLength(4);
    expect(log[0]!.split(':')[0]).toBe(log[1]!.split(':')[0]);
    expect(log[2]!.split(':')[0]).toBe(log[3]!.split(':')[0]);
  });
  it('releases on failure and times out against a live holder', async () => {
    const opts = { stateDir: dir, pollMs: 10, timeoutMs: 200 };
    await expect(withHostLock(async () => Promise.reject(new Error('boom')), opts)).rejects.toThrow('boom');
    // released: can take it again, and a nested take from the same live pid times out
    await withHostLock(async () => {
      await expect(withHostLock(async () => 1, opts)).rejects.toMatchObject({ code: 'HostLocked' });
    }, opts);
  });
  it('breaks a lock whose pid is dead, and an unreadable old one', async () => {
    const path = lockPath(dir, 'apply');
    await mkdir(join(dir, 'locks'), { recursive: true });
    await writeFile(path, JSON.stringify({ pid: 2 ** 22 + 12345, time: 'then', token: 'dead' }));
    expect(await withHostLock(async () => JSON.parse(await readFile(path, 'utf8')).pid, { stateDir: dir, timeoutMs: 500 })).toBe(process.pid);
    await writeFile(path, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    expect(await withHostLock(async () => 'ok', { stateDir: dir, timeoutMs: 500 })).toBe('ok');
  });
});
