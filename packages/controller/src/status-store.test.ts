import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { formatPretty } from './logger.js';
import { computeDeckyStatus } from './status.js';
import { controllerStatusPath, isFresh, readStatusFile, StatusStore } from './status-store.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'decnet-status-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const running = computeDeckyStatus({ generation: 2, base: { state: 'running' }, services: { ssh: { state: 'running' } }, engineReachable: true, now: '2026-01-01T00:00:00.000Z' });

it('writes the status file atomically and reads it back; concurrent flushes coalesce', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const s = new StatusStore({ stateDir: dir, hostId: 'h1', resyncMs: 30_000, now: () => now });
  s.set('web-01', 'lab', running);
  await Promise.all([s.flush(), s.flush(), s.flush()]);
  expect(readdirSync(join(dir, 'status'))).toEqual(['h1.json']);
  const f = await readStatusFile(dir, 'h1');
  expect(f?.deckies['web-01']?.status.phase).toBe('Running');
  expect(isFresh(f!, now + 59_000)).toBe(true);
  expect(isFresh(f!, now + 61_000)).toBe(false);
  now += 1000;
  s.delete('web-01');
  await s.flush();
  expect((await readStatusFile(dir, 'h1'))?.deckies).toEqual({});
});

it('ignores garbage and refuses unsafe host ids', async () => {
  mkdirSync(join(dir, 'status'));
  writeFileSync(join(dir, 'status', 'h2.json'), '{"version":1');
  expect(await readStatusFile(dir, 'h2')).toBeUndefined();
  expect(await readStatusFile(dir, 'nope')).toBeUndefined();
  expect(() => controllerStatusPath(dir, '../x')).toThrow();
});

it('formats a JSON log line for a terminal', () => {
  const line = formatPretty(JSON.stringify({ level: 30, time: Date.parse('2026-01-01T12:00:01Z'), pid: 1, msg: 'healed web-01', decky: 'web-01', rid: 7, err: 'a b' }));
  expect(line).toBe('12:00:01 INFO  healed web-01 decky=web-01 rid=7 err="a b"\n');
  expect(formatPretty('not json')).toBe('not json\n');
});
