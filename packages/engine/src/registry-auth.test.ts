import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authForImage, dockerConfigPath, lookupAuth, parseHelperOutput, registryHost } from './registry-auth.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('registryHost', () => {
  it.each([
    ['nginx', 'docker.io'],
    ['nginx:1.25', 'docker.io'],
    ['library/nginx', 'docker.io'],
    ['decnet/runtime-base:0.1.0', 'docker.io'],
    ['ghcr.io/o/i:1', 'ghcr.io'],
    ['127.0.0.1:5000/x/y:1', '127.0.0.1:5000'],
    ['localhost/x', 'localhost'],
    ['localhost:5000/x@sha256:abc', 'localhost:5000'],
    ['reg:5000/x', 'reg:5000'],
  ])('%s -> %s', (ref, host) => expect(registryHost(ref)).toBe(host));
});

describe('lookupAuth', () => {
  it('decodes auths[host].auth', () => {
    const l = lookupAuth({ auths: { 'ghcr.io': { auth: b64('u:p:with:colons') } } }, 'ghcr.io');
    expect(l).toEqual({ kind: 'auth', auth: { username: 'u', password: 'p:with:colons', serveraddress: 'ghcr.io' } });
  });
  it('uses the index.docker.io key for docker hub', () => {
    const l = lookupAuth({ auths: { 'https://index.docker.io/v1/': { auth: b64('a:b') } } }, 'docker.io');
    expect(l).toMatchObject({ kind: 'auth', auth: { username: 'a', password: 'b', serveraddress: 'https://index.docker.io/v1/' } });
  });
  it('accepts username/password fields and https:// keys', () => {
    expect(lookupAuth({ auths: { 'https://r.example:5000': { username: 'x', password: 'y' } } }, 'r.example:5000')).toMatchObject({ kind: 'auth', auth: { username: 'x', password: 'y' } });
  });
  it('reports a malformed auth without its content', () => {
    const l = lookupAuth({ auths: { h: { auth: b64('nocolon-secret') } } }, 'h');
    expect(l.kind).toBe('invalid');
    expect(JSON.stringify(l)).not.toContain('nocolon-secret');
  });
  it('prefers credHelpers[host], falls back to credsStore', () => {
    expect(lookupAuth({ credHelpers: { 'ghcr.io': 'gh' }, auths: { 'ghcr.io': { auth: b64('a:b') } } }, 'ghcr.io')).toEqual({ kind: 'helper', helper: 'gh', server: 'ghcr.io' });
    expect(lookupAuth({ credsStore: 'pass' }, 'docker.io')).toEqual({ kind: 'helper', helper: 'pass', server: 'https://index.docker.io/v1/' });
    expect(lookupAuth({ credsStore: 'pass', auths: { q: { auth: b64('a:b') } } }, 'q').kind).toBe('auth');
  });
  it('none when nothing matches', () => expect(lookupAuth({ auths: { other: { auth: b64('a:b') } } }, 'ghcr.io')).toEqual({ kind: 'none' }));
  it('parses helper output', () => {
    expect(parseHelperOutput('{"ServerURL":"h","Username":"u","Secret":"s"}', 'h')).toEqual({ username: 'u', password: 's', serveraddress: 'h' });
    expect(parseHelperOutput('credentials not found', 'h')).toBeUndefined();
  });
});

describe('authForImage (files)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-auth-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('reads $DOCKER_CONFIG/config.json', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: dir })).toBe(join(dir, 'config.json'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { '127.0.0.1:5999': { auth: b64('me:pw') } } }));
    expect(authForImage('127.0.0.1:5999/a/b:1', { DOCKER_CONFIG: dir, PATH: '' })).toEqual({ auth: { username: 'me', password: 'pw', serveraddress: '127.0.0.1:5999' } });
    expect(authForImage('nginx', { DOCKER_CONFIG: dir, PATH: '' })).toEqual({});
  });
  it('skips a helper whose binary is missing, with a hint', () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ credsStore: 'nosuchhelper' }));
    const r = authForImage('nginx', { DOCKER_CONFIG: dir, PATH: dir });
    expect(r.auth).toBeUndefined();
    expect(r.hint).toMatch(/docker-credential-nosuchhelper is not on PATH/);
  });
  it('runs a helper on PATH with the server on stdin', () => {
    const bin = join(dir, 'docker-credential-fake');
    writeFileSync(bin, '#!/bin/sh\nread s\nprintf \'{"ServerURL":"%s","Username":"hu","Secret":"hs"}\' "$s"\n');
    chmodSync(bin, 0o755);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ credHelpers: { 'ghcr.io': 'fake' } }));
    expect(authForImage('ghcr.io/o/i', { DOCKER_CONFIG: dir, PATH: `${dir}:/usr/bin:/bin` })).toEqual({ auth: { username: 'hu', password: 'hs', serveraddress: 'ghcr.io' } });
  });
  it('a broken config gives a hint, not a throw', () => {
    writeFileSync(join(dir, 'config.json'), '{not json');
    expect(authForImage('nginx', { DOCKER_CONFIG: dir }).hint).toMatch(/not JSON/);
  });
});
