import { describe, expect, it } from 'vitest';
import type { Op, Plan } from '@decnet/api';
import { EngineError, type Engine } from '@decnet/engine';
import { honeypotImageTag } from '@decnet/honeypots';
import { dropDeckiesNeeding, ensureImagesWithPolicy, imagesOfResolution, markDropped, pool, pullPolicy, pullReporter } from './images.js';
import { DECNET_VERSION } from './version.js';

const create = (decky: string, name: string, image: string): Op => ({ wave: 2, op: 'create-container', decky, fleet: 'f', role: 'base', name, labels: {}, container: { image } as never, spec: {} as never, cause: 't' }) as Op;
const start = (decky: string, name: string): Op => ({ wave: 2, op: 'start-container', decky, name, cause: 't' });
const plan: Plan = {
  ops: [
    { wave: 0, op: 'ensure-lab', fleet: 'f', subnet: '10.0.0.0/24', gateway: '10.0.0.1', cause: 't' },
    { wave: 1, op: 'remove-container', decky: 'a', name: 'f-a-old', id: 'x', cause: 't' },
    create('a', 'f-a', 'reg:5000/a:1'),
    create('a', 'f-a-ssh', 'decnet/honeypot:x'),
    start('a', 'f-a'),
    create('b', 'f-b', 'reg:5000/b:1'),
    start('b', 'f-b'),
    create('c', 'f-c', 'reg:5000/a:1'),
  ],
  conflicts: [],
  generations: { a: 2, b: 1, c: 1 },
};

/** the image side of an engine (controller's FakeEngine is not exported) */
class FakeEngine {
  pulled: string[] = [];
  missingImages = new Set<string>();
  pullFailures = new Map<string, string>();
  constructor(readonly stateDir: string, _host: string) {}
  async imageExists(ref: string) {
    return !this.missingImages.has(ref);
  }
  async pullImage(ref: string) {
    this.pulled.push(ref);
    const msg = this.pullFailures.get(ref);
    if (msg !== undefined) throw new EngineError('PullFailed', `cannot pull ${ref}: ${msg}`);
    this.missingImages.delete(ref);
    return { digest: `sha256:${'0'.repeat(64)}` };
  }
}
const fake = (e: FakeEngine) => e as unknown as Engine;

describe('dropDeckiesNeeding', () => {
  it('removes every op of the deckies needing a failed image and lists them', () => {
    const r = dropDeckiesNeeding(plan, new Map([['reg:5000/a:1', 'cannot pull reg:5000/a:1: not found']]));
    expect(r.dropped).toEqual([
      { decky: 'a', image: 'reg:5000/a:1', message: 'cannot pull reg:5000/a:1: not found' },
      { decky: 'c', image: 'reg:5000/a:1', message: 'cannot pull reg:5000/a:1: not found' },
    ]);
    expect(r.plan.ops.map((o) => o.op + ' ' + ('name' in o ? o.name : o.fleet))).toEqual(['ensure-lab f', 'create-container f-b', 'start-container f-b']);
    expect(r.plan.generations).toEqual({ b: 1 });
    expect(plan.ops).toHaveLength(8); // not mutated
  });
  it('returns the same plan when nothing failed or no decky needs the image', () => {
    expect(dropDeckiesNeeding(plan, new Map()).plan).toBe(plan);
    expect(dropDeckiesNeeding(plan, new Map([['other', 'x']])).dropped).toEqual([]);
  });
  it('markDropped reports the deckies failed', () => {
    const s = markDropped({ ok: true, deckies: { b: { status: 'ok', done: 2, skipped: 0 } }, fleets: {}, writes: 2, writesByKind: {}, done: 2, failed: 0, skipped: 0, durationMs: 1 }, [{ decky: 'a', image: 'i', message: 'm' }]);
    expect(s.ok).toBe(false);
    expect(s.deckies['a']).toMatchObject({ status: 'failed', failure: { code: 'PullFailed', message: 'm', target: 'i' } });
  });
});

describe('pull policy', () => {
  it('parses', () => {
    expect(pullPolicy(undefined)).toBe('missing');
    expect(pullPolicy('always')).toBe('always');
    expect(() => pullPolicy('sometimes')).toThrow(/missing, always, never/);
  });
  const own = honeypotImageTag(DECNET_VERSION);
  const lines = () => {
    const out: string[] = [];
    return { out, w: { write: (s: string) => out.push(s) } };
  };
  it('missing: pulls only absent non-own images, reports failures without throwing', async () => {
    const e = new FakeEngine('/tmp', 'h');
    e.missingImages = new Set(['a:1', 'b:1']);
    e.pullFailures.set('b:1', 'manifest unknown');
    const { out, w } = lines();
    const r = await ensureImagesWithPolicy(fake(e), ['a:1', 'b:1', 'c:1', own], { pull: 'missing', mode: 'lines', out: w });
    expect(e.pulled.sort()).toEqual(['a:1', 'b:1']);
    expect(r.pulled.map((p) => p.image)).toEqual(['a:1']);
    expect(r.failed).toEqual([expect.objectContaining({ image: 'b:1', code: 'PullFailed', message: 'cannot pull b:1: manifest unknown' })]);
    expect(out.join('')).toContain(`pulling a:1 ... done (sha256:${'0'.repeat(64)})`);
    expect(out.join('')).toContain('pulling b:1 ... FAILED: cannot pull b:1: manifest unknown');
  });
  it('always: pulls every non-own image; never: refuses on a missing one without pulling', async () => {
    const e = new FakeEngine('/tmp', 'h');
    await ensureImagesWithPolicy(fake(e), ['a:1', 'c:1', own], { pull: 'always', mode: 'quiet' });
    expect(e.pulled.sort()).toEqual(['a:1', 'c:1']);
    const n = new FakeEngine('/tmp', 'h');
    n.missingImages = new Set(['a:1']);
    await expect(ensureImagesWithPolicy(fake(n), ['a:1'], { pull: 'never', mode: 'quiet' })).rejects.toMatchObject({ code: 'ImageMissing' });
    expect(n.pulled).toEqual([]);
  });
  it('pool runs at most N at once', async () => {
    let live = 0;
    let max = 0;
    await pool([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, async () => {
      max = Math.max(max, ++live);
      await new Promise((r) => setTimeout(r, 5));
      live--;
    });
    expect(max).toBe(4);
  });
  it('tty reporter redraws one line per image', () => {
    const { out, w } = lines();
    const r = pullReporter(['a', 'b'], 'tty', w);
    r.start('a');
    r.done('a', 'sha256:1');
    expect(out.at(-1)).toContain('pulling a ... done (sha256:1)');
    expect(out.at(-1)).toContain('pulling b ... waiting');
    expect(out.at(-1)!.startsWith('\x1b[2A')).toBe(true);
  });
  it('imagesOfResolution lists base and service images without the own image', () => {
    const d = (base: string, svc: string[]) => ({ baseImage: base, services: svc.map((image) => ({ image })) }) as never;
    expect(imagesOfResolution([d('b:1', [own, 's:1']), d('b:1', [])], own)).toEqual(['b:1', 's:1']);
  });
});
