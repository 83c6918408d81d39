import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryLogger } from './connection.js';
import { Registry } from './registry.js';
import { startRedisServer, type RedisServer } from './testing/redis-server.js';

const ROOT_PW = 'r00t-Pa55-7c1e9';
const USER_PW = 'dec-Pa55-91ab3f';
let srv: RedisServer;
const lines: string[] = [];
const logger: RegistryLogger = {
  debug: (o, m) => void lines.push(JSON.stringify([o, m])),
  info: (o, m) => void lines.push(JSON.stringify([o, m])),
  warn: (o, m) => void lines.push(JSON.stringify([o, m])),
};

beforeAll(async () => {
  srv = await startRedisServer({
    password: ROOT_PW,
    users: [
      { name: 'decnet', password: USER_PW, rules: '~decnet:* &decnet:* +@all' },
      { name: 'narrow', password: USER_PW, rules: '~elsewhere:* &* +@all' },
    ],
  });
});
afterAll(async () => {
  await srv?.dispose();
});

const url = (auth: string) => `redis://${auth}@127.0.0.1:${srv.port}`;

async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe('registry authentication', () => {
  it('works with an ACL user (username in the URL) and with requirepass', async () => {
    const r = await Registry.connect({ url: url(`decnet:${USER_PW}`), cluster: 'auth', logger });
    await r.registerHost({ id: 'h1' });
    await r.writeDesired('h1', { fleets: [], deckies: [] }, 0);
    expect((await r.readAll()).hosts.map((h) => h.id)).toEqual(['h1']);
    expect(r.target).toBe(`redis://decnet:***@127.0.0.1:${srv.port}`);
    await r.close();
    const root = await Registry.connect({ url: url(`:${ROOT_PW}`), cluster: 'auth', logger });
    expect((await root.readDesired('h1'))?.generation).toBe(1);
    await root.close();
  });

  it('refuses wrong or missing credentials with a typed error and no secret in it', async () => {
    const wrong = await errorOf(Registry.connect({ url: url(`decnet:not-${USER_PW}`), cluster: 'auth', logger, readyTimeoutMs: 3000 }));
    expect(wrong.code).toBe('RegistryAuth');
    expect(JSON.stringify(wrong) + wrong.message + (wrong.hint ?? '')).not.toContain(USER_PW);
    const none = await errorOf(Registry.connect({ url: `redis://127.0.0.1:${srv.port}`, cluster: 'auth', logger, readyTimeoutMs: 3000 }));
    expect(['RegistryAuth', 'RegistryUnavailable']).toContain(none.code);
  });

  it('maps an ACL permission refusal to RegistryAuth', async () => {
    const r = await Registry.connect({ url: url(`narrow:${USER_PW}`), cluster: 'auth', logger });
    const e = await errorOf(r.registerHost({ id: 'h2' }));
    expect(e.code).toBe('RegistryAuth');
    expect(e.message).toMatch(/NOPERM/);
    await r.close();
  });

  it('never logs a password', () => {
    expect(lines.length).toBeGreaterThan(0);
    const all = lines.join('\n');
    expect(all).not.toContain(USER_PW);
    expect(all).not.toContain(ROOT_PW);
    expect(all).toContain(':***@');
  });
});
