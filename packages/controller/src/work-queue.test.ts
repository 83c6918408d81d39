import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedBackoff } from './backoff.js';
import { FakeClock, flushMicrotasks } from './clock.js';
import { WorkQueue } from './work-queue.js';

function mk(opts: { baseMs?: number } = {}) {
  const clock = new FakeClock(0);
  const q = new WorkQueue({ clock, rateLimiter: new KeyedBackoff({ baseMs: opts.baseMs ?? 100, jitter: 0 }) });
  return { clock, q };
}

describe('WorkQueue basics', () => {
  it('deduplicates queued keys and keeps FIFO order', async () => {
    const { q } = mk();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('c');
    expect(q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', 'c']);
    expect(q.len()).toBe(0);
    expect(q.inFlight()).toBe(3);
  });

  it('a key added while processing is re-queued only after done()', async () => {
    const { q } = mk();
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    q.done('a');
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
    expect(q.inFlight()).toBe(0);
  });

  it('get() waits for an add and waiting workers are served in order', async () => {
    const { q } = mk();
    const got: string[] = [];
    const w1 = q.get().then((k) => got.push(`w1:${k}`));
    const w2 = q.get().then((k) => got.push(`w2:${k}`));
    await flushMicrotasks();
    expect(got).toEqual([]);
    q.add('x');
    q.add('x'); // handed out already: marks dirty-in-processing, not a second hand-out
    q.add('y');
    await Promise.all([w1, w2]);
    expect(got).toEqual(['w1:x', 'w2:y']);
    expect(q.len()).toBe(0);
    q.done('x');
    expect(await q.get()).toBe('x');
  });

  it('addAfter fires on the clock and keeps only the earliest ready time', async () => {
    const { q, clock } = mk();
    q.addAfter('a', 500);
    q.addAfter('a', 1000);
    q.addAfter('a', 200);
    expect(q.delayed()).toBe(1);
    clock.advance(199);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    expect(q.delayed()).toBe(0);
    clock.advance(10_000);
    expect(q.len()).toBe(1);
    expect(clock.pending()).toBe(0);
    q.addAfter('b', 0);
    expect(q.len()).toBe(2);
  });

  it('addRateLimited backs off per key and forget resets', () => {
    const { q, clock } = mk({ baseMs: 100 });
    q.addRateLimited('a');
    expect(clock.nextDue()).toBe(100);
    clock.advance(100);
    expect(q.len()).toBe(1);
    q.addRateLimited('a');
    expect(clock.nextDue()).toBe(300);
    q.addRateLimited('a'); // 400ms from now: the earlier 200ms wait wins
    expect(clock.nextDue()).toBe(300);
    expect(q.numRequeues('a')).toBe(3);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
  });

  it('shutdown releases waiting workers with undefined and drops further adds', async () => {
    const { q, clock } = mk();
    const waiting = q.get();
    q.addAfter('later', 100);
    q.shutdown();
    expect(await waiting).toBeUndefined();
    q.add('a');
    q.addAfter('b', 10);
    clock.advance(1000);
    expect(q.len()).toBe(0);
    expect(clock.pending()).toBe(0);
    expect(await q.get()).toBeUndefined();
    expect(q.isShuttingDown()).toBe(true);
  });

  it('shutdownWithDrain waits for in-flight keys', async () => {
    const { q } = mk();
    q.add('a');
    q.add('b');
    await q.get();
    await q.get();
    let drained = false;
    const p = q.shutdownWithDrain().then(() => (drained = true));
    q.done('a');
    await flushMicrotasks();
    expect(drained).toBe(false);
    q.done('b');
    await p;
    expect(drained).toBe(true);
  });

  it('done() for a key not in flight is a no-op', async () => {
    const { q } = mk();
    q.done('ghost');
    q.add('a');
    q.done('a'); // queued, not processing
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
  });
});

describe('WorkQueue with concurrent workers', () => {
  it('real async workers never process one key twice at once and miss no add', async () => {
    const { q, clock } = mk();
    const active = new Set<string>();
    const processed: string[] = [];
    let overlap = 0;
    const worker = async () => {
      for (let k = await q.get(); k !== undefined; k = await q.get()) {
        if (active.has(k)) overlap++;
        active.add(k);
        processed.push(k);
        await flushMicrotasks(3);
        if (processed.length < 40) q.add(k === 'a' ? 'b' : 'a'); // keep adding while others run
        active.delete(k);
        q.done(k);
      }
    };
    const workers = [worker(), worker(), worker()];
    for (const k of ['a', 'b', 'c', 'a', 'b']) q.add(k);
    await clock.advanceAsync(10);
    await flushMicrotasks(200);
    await q.shutdownWithDrain();
    await Promise.all(workers);
    expect(overlap).toBe(0);
    expect(processed.length).toBeGreaterThanOrEqual(40);
    expect(new Set(processed)).toEqual(new Set(['a', 'b', 'c']));
  });

  type Cmd =
    | { t: 'add'; k: string }
    | { t: 'after'; k: string; ms: number }
    | { t: 'limited'; k: string }
    | { t: 'get'; w: number }
    | { t: 'done'; w: number }
    | { t: 'tick'; ms: number };

  const key = fc.constantFrom('a', 'b', 'c', 'd');
  const worker = fc.nat(2);
  const cmd: fc.Arbitrary<Cmd> = fc.oneof(
    fc.record({ t: fc.constant('add' as const), k: key }),
    fc.record({ t: fc.constant('after' as const), k: key, ms: fc.integer({ min: 0, max: 300 }) }),
    fc.record({ t: fc.constant('limited' as const), k: key }),
    fc.record({ t: fc.constant('get' as const), w: worker }),
    fc.record({ t: fc.constant('done' as const), w: worker }),
    fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 400 }) }),
  );

  it('property: exclusive processing, no duplicates in queue, every add is eventually served', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { maxLength: 60 }), async (cmds) => {
        const { q, clock } = mk({ baseMs: 50 });
        let step = 0;
        const holding: Array<string | undefined> = [undefined, undefined, undefined];
        const pendingGet: boolean[] = [false, false, false];
        const lastStart = new Map<string, number>();
        const lastAdd = new Map<string, number>();
        const startGet = (w: number) => {
          pendingGet[w] = true;
          void q.get().then((k) => {
            pendingGet[w] = false;
            if (k === undefined) return;
            // exclusivity: nobody else holds k
            expect(holding.includes(k)).toBe(false);
            holding[w] = k;
            lastStart.set(k, ++step);
          });
        };
        const run = async (c: Cmd) => {
          step++;
          if (c.t === 'add') (q.add(c.k), lastAdd.set(c.k, step));
          else if (c.t === 'after') (q.addAfter(c.k, c.ms), lastAdd.set(c.k, step));
          else if (c.t === 'limited') (q.addRateLimited(c.k), lastAdd.set(c.k, step));
          else if (c.t === 'get' && holding[c.w] === undefined && !pendingGet[c.w]) startGet(c.w);
          else if (c.t === 'done' && holding[c.w] !== undefined) {
            const k = holding[c.w]!;
            holding[c.w] = undefined;
            q.done(k);
          } else if (c.t === 'tick') await clock.advanceAsync(c.ms);
          await flushMicrotasks();
          expect(q.len()).toBeLessThanOrEqual(4);
          expect(q.inFlight()).toBe(holding.filter((h) => h !== undefined).length);
        };
        for (const c of cmds) await run(c);
        // drain: finish everything, let delays pass, serve until quiet
        for (let round = 0; round < 50; round++) {
          for (let w = 0; w < 3; w++) {
            if (holding[w] !== undefined) await run({ t: 'done', w });
            if (!pendingGet[w]) await run({ t: 'get', w });
          }
          await clock.advanceAsync(100_000);
        }
        for (const [k, added] of lastAdd) expect(lastStart.get(k) ?? -1).toBeGreaterThan(added);
        q.shutdown();
        await flushMicrotasks();
      }),
      { numRuns: 150 },
    );
  });
});
