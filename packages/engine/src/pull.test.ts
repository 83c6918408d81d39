/**
 * Real-engine pull tests against Debian's docker-registry on 127.0.0.1 (test-registry.ts;
 * docker treats 127.0.0.0/8 registries as insecure-allowed).
 * The runtime base image is pushed as 127.0.0.1:<port>/decnet-test/base:1, its local
 * tag removed, then pulled back by tag and by digest; a second server over the same
 * content requires basic auth. Every tag is removed afterwards.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from './docker-engine.js';
import { authForImage } from './registry-auth.js';
import { startRegistry } from './test-registry.js';
import { run, runtimeImage } from './test-support.js';

const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
let open: Awaited<ReturnType<typeof startRegistry>>;
let locked: Awaited<ReturnType<typeof startRegistry>>;
let dir = '';
let digest = '';
const tags: string[] = [];
const engine = new DockerEngine({ stateDir: tmpdir() });
const rmi = async (ref: string) => run('docker', ['rmi', ref]).catch(() => undefined);

beforeAll(async () => {
  const base = await runtimeImage();
  open = await startRegistry();
  locked = await startRegistry({ storage: open.storage, user: 'decnet', password: PASSWORD });
  dir = await mkdtemp(join(tmpdir(), 'decnet-pull-'));
  const ref = `127.0.0.1:${open.port}/decnet-test/base:1`;
  tags.push(ref, `127.0.0.1:${locked.port}/decnet-test/base:1`);
  await run('docker', ['tag', base, ref]);
  const { stdout } = await run('docker', ['push', ref]);
  digest = /digest: (sha256:[0-9a-f]{64})/.exec(stdout)?.[1] ?? '';
  tags.push(`127.0.0.1:${open.port}/decnet-test/base@${digest}`);
  await rmi(ref);
}, 180_000);

afterAll(async () => {
  for (const t of tags) await rmi(t);
  await locked?.close();
  await open?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('pullImage (real engine, local registry)', () => {
  it('pulls by tag; the image exists after', async () => {
    const ref = tags[0]!;
    expect(await engine.imageExists(ref)).toBe(false);
    const lines: string[] = [];
    const r = await engine.pullImage(ref, { onProgress: (l) => lines.push(l) });
    expect(r.digest).toBe(digest);
    expect(await engine.imageExists(ref)).toBe(true);
    expect(lines.join('\n')).toMatch(/Status: Downloaded newer image|Pulling from/);
    await rmi(ref);
  }, 120_000);

  it('pulls by digest', async () => {
    expect(digest).toMatch(/^sha256:/);
    const ref = `127.0.0.1:${open.port}/decnet-test/base@${digest}`;
    await engine.pullImage(ref);
    expect(await engine.imageExists(ref)).toBe(true);
    await rmi(ref);
  }, 120_000);

  it('a missing image fails with the registry message', async () => {
    const ref = `127.0.0.1:${open.port}/decnet-test/nope:1`;
    const err = (await engine.pullImage(ref).catch((e: unknown) => e)) as { code?: string; message?: string };
    console.log(`missing image: ${err.code}: ${err.message}`);
    expect(err.code).toBe('PullFailed');
    expect(err.message).toMatch(/manifest unknown|not found/i);
  }, 60_000);

  it('an auth-protected registry fails without credentials and works with DOCKER_CONFIG auth', async () => {
    const ref = tags[1]!;
    const err = (await engine.pullImage(ref).catch((e: unknown) => e)) as { code?: string; message?: string; hint?: string };
    console.log(`no credentials: ${err.code}: ${err.message}`);
    expect(err.code).toBe('PullFailed');
    expect(err.message).toMatch(/no basic auth credentials|unauthorized|authentication required/i);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [`127.0.0.1:${locked.port}`]: { auth: Buffer.from(`decnet:${PASSWORD}`).toString('base64') } } }));
    const { auth } = authForImage(ref, { DOCKER_CONFIG: dir });
    expect(auth?.username).toBe('decnet');
    const r = await engine.pullImage(ref, { auth: auth! });
    expect(r.digest).toBe(digest);
    expect(await engine.imageExists(ref)).toBe(true);
    // wrong password: refused, and the password is not echoed
    const bad = (await engine.pullImage(`127.0.0.1:${locked.port}/decnet-test/base:2`, { auth: { ...auth!, password: 'wrong-secret' } }).catch((e: unknown) => e)) as Error;
    console.log(`wrong password: ${bad.message}`);
    expect(bad.message).not.toContain('wrong-secret');
    expect(bad.message).not.toContain(PASSWORD);
    await rmi(ref);
  }, 120_000);
});
