import { afterAll, describe, expect, it } from 'vitest';
import { ensureLab, labExec, labNames, listLabs, prefixLength, removeLab } from './lab.js';
import { run } from './test-support.js';

const FLEET = 't4lab';

afterAll(async () => {
  await removeLab(FLEET).catch(() => undefined);
});

describe('lab names', () => {
  it('are deterministic, short enough for IFNAMSIZ and distinct per fleet', () => {
    const a = labNames('a-very-long-fleet-name-that-goes-on-and-on-for-a-while-yes');
    expect(a.parent.length).toBeLessThanOrEqual(15);
    expect(a.attacker.length).toBeLessThanOrEqual(15);
    expect(labNames('lab')).toEqual(labNames('lab'));
    expect(labNames('lab').parent).not.toBe(labNames('lab2').parent);
    expect(labNames('lab').netns).toBe('decnet-lab-lab');
    expect(labNames('lab').parent).toMatch(/^dnl[0-9a-f]{8}p$/);
  });
  it('reject names that are not DNS labels', () => {
    expect(() => labNames('../x')).toThrow(/DNS label/);
    expect(() => labNames('-x')).toThrow(/DNS label/);
    expect(() => labNames('UPPER')).toThrow(/DNS label/);
  });
  it('parses prefix lengths', () => {
    expect(prefixLength('10.240.0.0/24')).toBe(24);
    expect(prefixLength('10.0.0.0/8')).toBe(8);
    expect(() => prefixLength('10.0.0.0/33')).toThrow(/CIDR/);
    expect(() => prefixLength('nonsense')).toThrow(/CIDR/);
  });
});

async function ns(args: string[]): Promise<string> {
  const { stdout } = await run('ip', ['-n', labNames(FLEET).netns, ...args], { encoding: 'utf8' });
  return stdout;
}

describe('lab plumbing (real ip)', () => {
  it('creates the veth pair and netns idempotently, with the gateway inside', async () => {
    const n = labNames(FLEET);
    await ensureLab(FLEET, '10.240.42.0/24', '10.240.42.1');
    await ensureLab(FLEET, '10.240.42.0/24', '10.240.42.1');
    expect(await listLabs()).toContain(FLEET);
    const host = (await run('ip', ['-o', 'addr', 'show', 'dev', n.parent], { encoding: 'utf8' })).stdout;
    expect(host).not.toMatch(/inet /);
    const hostLink = (await run('ip', ['-o', 'link', 'show', 'dev', n.parent], { encoding: 'utf8' })).stdout;
    expect(hostLink).toMatch(/state UP|LOWER_UP/);
    const inside = await ns(['-o', '-4', 'addr', 'show', 'dev', n.attacker]);
    expect(inside.match(/inet /g)).toHaveLength(1);
    expect(inside).toContain('10.240.42.1/24');
    expect(await ns(['-o', 'link', 'show', 'dev', 'lo'])).toMatch(/UP/);
  });

  it('repairs a half-built lab (host end missing)', async () => {
    const n = labNames(FLEET);
    await ns(['link', 'del', 'dev', n.attacker]); // deleting one veth end deletes both
    expect(await listLabs()).not.toContain(FLEET);
    await ensureLab(FLEET, '10.240.42.0/24', '10.240.42.1');
    expect(await listLabs()).toContain(FLEET);
    expect(await ns(['-o', '-4', 'addr', 'show', 'dev', n.attacker])).toContain('10.240.42.1/24');
  });

  it('runs commands inside the namespace and returns their exit code', async () => {
    expect(await labExec(FLEET, [process.execPath, '-e', "process.exit(require('os').networkInterfaces()['" + labNames(FLEET).attacker + "'] ? 0 : 9)"], { stdio: 'ignore' })).toBe(0);
    expect(await labExec(FLEET, ['false'], { stdio: 'ignore' })).toBe(1);
  });

  it('removes it idempotently, and labExec then refuses', async () => {
    await removeLab(FLEET);
    await removeLab(FLEET);
    expect(await listLabs()).not.toContain(FLEET);
    await expect(run('ip', ['link', 'show', 'dev', labNames(FLEET).parent])).rejects.toThrow();
    await expect(labExec(FLEET, ['true'])).rejects.toMatchObject({ code: 'LabNotFound' });
  });
});
