/**
 * Issue 3: `decnetctl labels` explains a container from its labels alone, also a
 * tampered one (a hand-made copy of real labels with a chunk missing, the spec
 * truncated or edited, a key gone), says what is wrong and exits non-zero.
 * Fleet e2a-lbl (10.222.0.0/24), host e2e-apply-labels.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedDecky } from '@decnet/api';
import { docker } from './lib/cli.js';
import { cleanupFleet, createWithLabels, ctlFor, deckyDoc, fleetDoc, fleetLeftovers, manifestFile, removeContainers, show, snapshot, type DeckyDoc } from './lib/apply-fixtures.js';

const HOST = 'e2e-apply-labels';
const F = 'e2a-lbl';
const ctl = ctlFor(HOST);

// a body long enough that the spec label must be split into chunks
const BODY = Array.from({ length: 180 }, (_, i) => `<p>line ${i} of the decoy page</p>`).join('\n');
const small: DeckyDoc = { name: 'e2a-lbl-small', fleet: F, ip: '10.222.0.10', services: ['ssh'], nmapOS: 'linux' };
const big: DeckyDoc = { name: 'e2a-lbl-big', fleet: F, ip: '10.222.0.11', services: ['http'], nmapOS: 'linux', serviceConfig: { http: { custom_body: BODY } } };
const TAMPERED = ['e2a-lbl-t-chunk', 'e2a-lbl-t-trunc', 'e2a-lbl-t-edit', 'e2a-lbl-t-key', 'e2a-lbl-small-copy'];

async function labelsOf(name: string): Promise<Record<string, string>> {
  const [c] = JSON.parse(await docker('inspect', name)) as Array<{ Config: { Labels: Record<string, string> } }>;
  return c!.Config.Labels;
}

const without = (labels: Record<string, string>, key: string) => Object.fromEntries(Object.entries(labels).filter(([k]) => k !== key));

describe('labels on real and tampered containers (e2a-lbl)', () => {
  beforeAll(async () => {
    await cleanupFleet(ctl, F, HOST);
    await removeContainers(TAMPERED);
    const r = await ctl(['apply', '-f', manifestFile([fleetDoc(F, '10.222.0.0/24', '10.222.0.1'), deckyDoc(small), deckyDoc(big)])]);
    expect(r.code, show(r)).toBe(0);
  });

  afterEach(async () => {
    await removeContainers(TAMPERED.filter((n) => n !== 'e2a-lbl-small-copy'));
  });

  afterAll(async () => {
    await removeContainers(TAMPERED);
    await cleanupFleet(ctl, F, HOST);
  });

  it('a spec longer than 4096 bytes is split into chunks and `labels` puts it back together', async () => {
    const raw = await labelsOf(big.name);
    expect(raw['com.decnet.spec']).toBeUndefined();
    const n = Number(raw['com.decnet.spec-chunks']);
    expect(n).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < n; i++) expect(Buffer.byteLength(raw[`com.decnet.spec.${i}`] ?? '', 'utf8'), `chunk ${i}`).toBeGreaterThan(0);
    for (const v of Object.values(raw)) expect(Buffer.byteLength(v, 'utf8')).toBeLessThanOrEqual(4096);
    const r = await ctl(['labels', big.name, '-o', 'json']);
    expect(r.code, show(r)).toBe(0);
    const rep = JSON.parse(r.stdout) as { result: { ok: boolean }; chunks: { declared: number; missing: number[] }; spec: ResolvedDecky; storedHash: string; computedHash: string };
    expect(rep.result.ok).toBe(true);
    expect(rep.chunks).toMatchObject({ declared: n, missing: [] });
    expect(rep.storedHash).toBe(rep.computedHash);
    expect(rep.spec.services.find((s) => s.name === 'http')?.config).toMatchObject({ custom_body: BODY });
  });

  it('a copy missing one spec chunk: labels names the missing chunk and exits non-zero', async () => {
    await createWithLabels('e2a-lbl-t-chunk', without(await labelsOf(big.name), 'com.decnet.spec.1'));
    const r = await ctl(['labels', 'e2a-lbl-t-chunk']);
    expect(r.code, show(r)).not.toBe(0);
    expect(r.stdout).toMatch(/MISSING chunk\(s\) 1\b/);
    expect(r.stdout).toMatch(/\[FAIL\] chunks:/);
    expect(r.stdout).toMatch(/Verdict: +INVALID \(ChunkMissing\)/);
    const json = await ctl(['labels', 'e2a-lbl-t-chunk', '-o', 'json']);
    expect(json.code, show(json)).not.toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ chunks: { missing: [1] }, result: { ok: false, error: { code: 'ChunkMissing' } } });
  });

  it('a copy with a truncated spec: the hash check fails and the JSON does not parse', async () => {
    const labels = await labelsOf(small.name);
    await createWithLabels('e2a-lbl-t-trunc', { ...labels, 'com.decnet.spec': labels['com.decnet.spec']!.slice(0, 120) });
    const r = await ctl(['labels', 'e2a-lbl-t-trunc']);
    expect(r.code, show(r)).not.toBe(0);
    expect(r.stdout).toMatch(/\[FAIL\] hash: stored [0-9a-f]{64}, computed [0-9a-f]{64}/);
    expect(r.stdout).toMatch(/\[FAIL\] json:/);
    expect(r.stdout).toMatch(/Verdict: +INVALID \(HashMismatch\)/);
  });

  it('a copy whose spec was edited (valid JSON, another IP): the hash check names the mismatch', async () => {
    const labels = await labelsOf(small.name);
    const spec = labels['com.decnet.spec']!.replace(`"ip":"${small.ip}"`, '"ip":"10.222.0.99"');
    expect(spec).not.toBe(labels['com.decnet.spec']);
    await createWithLabels('e2a-lbl-t-edit', { ...labels, 'com.decnet.spec': spec });
    const r = await ctl(['labels', 'e2a-lbl-t-edit', '-o', 'json']);
    expect(r.code, show(r)).not.toBe(0);
    const rep = JSON.parse(r.stdout) as { storedHash: string; computedHash: string; checks: Array<{ name: string; ok: boolean }>; result: { ok: boolean; error?: { code: string } } };
    expect(rep.storedHash).toBe(labels['com.decnet.spec-hash']);
    expect(rep.computedHash).not.toBe(rep.storedHash);
    expect(rep.checks.find((c) => c.name === 'hash')?.ok).toBe(false);
    expect(rep.checks.find((c) => c.name === 'json')?.ok).toBe(true);
    expect(rep.result).toMatchObject({ ok: false, error: { code: 'HashMismatch' } });
  });

  it('a copy without its spec-hash label: labels lists the missing key', async () => {
    await createWithLabels('e2a-lbl-t-key', without(await labelsOf(small.name), 'com.decnet.spec-hash'));
    const r = await ctl(['labels', 'e2a-lbl-t-key']);
    expect(r.code, show(r)).not.toBe(0);
    expect(r.stdout).toMatch(/Missing keys: +com\.decnet\.spec-hash/);
    expect(r.stdout).toMatch(/\[FAIL\] required-keys: missing: com\.decnet\.spec-hash/);
    expect(r.stdout).toMatch(/Verdict: +INVALID/);
  });

  it('a tampered container of the fleet blocks apply and delete with a clear conflict; delete --force removes everything', async () => {
    const labels = await labelsOf(small.name);
    await createWithLabels('e2a-lbl-small-copy', { ...labels, 'com.decnet.spec': labels['com.decnet.spec']!.slice(0, 120) });
    const before = await snapshot(`com.decnet.host=${HOST}`);
    const apply = await ctl(['apply', '-f', manifestFile([deckyDoc(small), deckyDoc(big)])]);
    expect(apply.code, show(apply)).not.toBe(0);
    expect(apply.stderr).toMatch(/InvalidLabels: decky e2a-lbl-small: .*e2a-lbl-small-copy/);
    const del = await ctl(['delete', 'fleet', F]);
    expect(del.code, show(del)).not.toBe(0);
    expect(del.stdout + del.stderr).toMatch(/InvalidLabels: decky e2a-lbl-small/);
    expect(del.stdout + del.stderr).toContain('--force');
    expect(await snapshot(`com.decnet.host=${HOST}`)).toEqual(before);
    const forced = await ctl(['delete', 'fleet', F, '--force']);
    expect(forced.code, show(forced)).toBe(0);
    expect(await fleetLeftovers(F, HOST)).toEqual([]);
  });
});
