import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.js';
import { computeDeckyStatus, CrashLoopDetector, type ContainerSnapshot, type DeckyStatus, type DeckyStatusInput } from './status.js';

const T0 = '2025-01-01T00:00:00.000Z';
const T1 = '2025-01-01T00:01:00.000Z';
const run = (generation = 2): ContainerSnapshot => ({ state: 'running', generation, restartCount: 0 });

function input(over: Partial<DeckyStatusInput> = {}): DeckyStatusInput {
  return { generation: 2, base: run(), services: { ssh: run(), http: run() }, engineReachable: true, now: T0, ...over };
}

const cond = (s: DeckyStatus, type: string) => {
  const c = s.conditions.find((x) => x.type === type)!;
  return `${c.status}/${c.reason}`;
};
const summary = (s: DeckyStatus) => [s.phase, cond(s, 'Ready'), cond(s, 'Progressing'), cond(s, 'Degraded')].join(' ');

describe('computeDeckyStatus', () => {
  it('all running: Running, Ready, not progressing, not degraded', () => {
    const s = computeDeckyStatus(input());
    expect(summary(s)).toBe('Running True/AllRunning False/AllRunning False/AsExpected');
    expect(s.observedGeneration).toBe(2);
    expect(s.conditions.map((c) => c.type)).toEqual(['Ready', 'Progressing', 'Degraded']);
    expect(s.conditions.every((c) => c.observedGeneration === 2 && c.lastTransitionTime === T0)).toBe(true);
    expect(s.message).toBe('all 3 containers running');
  });

  it('missing or created containers: Pending / ContainersStarting', () => {
    const s = computeDeckyStatus(input({ base: undefined, services: { ssh: { state: 'created' }, http: run() } }));
    expect(summary(s)).toBe('Pending False/ContainersStarting True/ContainersStarting False/AsExpected');
    expect(s.message).toBe('base not created; ssh created, not started');
  });

  it('running containers of an older generation: Ready but Progressing NewGeneration', () => {
    const s = computeDeckyStatus(input({ services: { ssh: run(1), http: run() } }));
    expect(summary(s)).toBe('Running True/AllRunning True/NewGeneration False/AsExpected');
    expect(s.conditions[1]!.message).toBe('ssh at generation 1, want 2');
  });

  it('an exited container: Degraded / ContainerExited with the exit code, healing in progress', () => {
    const s = computeDeckyStatus(input({ services: { ssh: { state: 'exited', exitCode: 137 }, http: run() } }));
    expect(summary(s)).toBe('Degraded False/ContainerExited True/Healing True/ContainerExited');
    expect(s.message).toBe('ssh exited (exit code 137)');
  });

  it('a paused container is Degraded / ContainerPaused', () => {
    expect(summary(computeDeckyStatus(input({ base: { state: 'paused' } })))).toBe(
      'Degraded False/ContainerPaused True/Healing True/ContainerPaused',
    );
  });

  it('heal failures: Progressing False below the threshold, Failed at it', () => {
    const services = { ssh: { state: 'dead' as const }, http: run() };
    const f = (n: number) => Array.from({ length: n }, (_, i) => ({ time: T0, message: `boom ${i}` }));
    expect(summary(computeDeckyStatus(input({ services, healFailures: f(1) })))).toBe(
      'Degraded False/ContainerExited False/HealFailed True/ContainerExited',
    );
    const failed = computeDeckyStatus(input({ services, healFailures: f(3) }));
    expect(summary(failed)).toBe('Failed False/HealFailed False/HealFailed True/HealFailed');
    expect(failed.message).toBe('3 heal attempts failed, last: boom 2');
    // failures recorded but everything runs again: healthy
    expect(computeDeckyStatus(input({ healFailures: f(5) })).phase).toBe('Running');
  });

  it('crash loop beats exited', () => {
    const s = computeDeckyStatus(
      input({ services: { ssh: { state: 'restarting', restartCount: 7 }, http: { state: 'exited', exitCode: 1 } }, crashLooping: ['ssh'] }),
    );
    expect(summary(s)).toBe('Degraded False/CrashLoopBackOff False/CrashLoopBackOff True/CrashLoopBackOff');
    expect(s.message).toBe('ssh is crash-looping, 7 restarts');
  });

  it('invalid labels: Degraded with reason InvalidLabels', () => {
    const s = computeDeckyStatus(input({ labelErrors: ['com.decnet.spec: bad JSON'] }));
    expect(summary(s)).toBe('Degraded False/InvalidLabels False/InvalidLabels True/InvalidLabels');
    expect(s.message).toContain('bad JSON');
  });

  it('engine unreachable: Unknown everywhere, even with label errors', () => {
    const s = computeDeckyStatus(input({ engineReachable: false, labelErrors: ['x'] }));
    expect(summary(s)).toBe('Unknown Unknown/EngineUnavailable Unknown/EngineUnavailable Unknown/EngineUnavailable');
  });

  it('keeps lastTransitionTime while a condition status is unchanged (even if the reason changes)', () => {
    const first = computeDeckyStatus(input({ base: undefined }));
    // still not ready, different reason; Progressing flips True -> True (Healing); Degraded flips False -> True
    const second = computeDeckyStatus(input({ base: { state: 'exited', exitCode: 1 }, previous: first, now: T1 }));
    const lt = (s: DeckyStatus, t: string) => s.conditions.find((c) => c.type === t)!.lastTransitionTime;
    expect(lt(second, 'Ready')).toBe(T0);
    expect(lt(second, 'Progressing')).toBe(T0);
    expect(lt(second, 'Degraded')).toBe(T1);
    const third = computeDeckyStatus(input({ previous: second, now: '2025-01-01T00:02:00.000Z' }));
    expect(lt(third, 'Ready')).toBe('2025-01-01T00:02:00.000Z');
    expect(lt(third, 'Degraded')).toBe('2025-01-01T00:02:00.000Z');
  });

  it('property: Ready is True exactly when every container runs; phase agrees with conditions', () => {
    const state = fc.constantFrom('running', 'created', 'restarting', 'paused', 'exited', 'dead', 'removing' as const);
    const snap = fc.option(fc.record({ state, generation: fc.integer({ min: 0, max: 3 }), exitCode: fc.nat(255) }), { nil: undefined });
    fc.assert(
      fc.property(snap, fc.dictionary(fc.constantFrom('ssh', 'http', 'smb', 'ftp'), snap), fc.nat(4), (base, services, nFail) => {
        const healFailures = Array.from({ length: nFail }, () => ({ time: T0, message: 'x' }));
        const s = computeDeckyStatus(input({ base, services, healFailures }));
        const all = [base, ...Object.values(services)];
        const allRunning = all.every((c) => c?.state === 'running');
        expect(s.conditions[0]!.status === 'True').toBe(allRunning);
        expect(s.phase === 'Running').toBe(allRunning);
        expect(s.conditions[2]!.status === 'True').toBe(s.phase === 'Degraded' || s.phase === 'Failed');
        if (s.phase === 'Failed') expect(nFail).toBeGreaterThanOrEqual(3);
      }),
    );
  });
});

describe('CrashLoopDetector', () => {
  it('flags a container restarted more than N times within the window, with growing delays', () => {
    const clock = new FakeClock(0);
    const d = new CrashLoopDetector({ clock, maxRestarts: 3, windowMs: 60_000, backoff: { baseMs: 1000, jitter: 0 } });
    for (let i = 0; i < 3; i++) {
      expect(d.recordRestart('w/ssh').crashLooping).toBe(false);
      clock.advance(1000);
    }
    const v4 = d.recordRestart('w/ssh');
    expect(v4).toEqual({ crashLooping: true, restartsInWindow: 4, delayMs: 1000, retryAt: 4000 });
    expect(d.mayHeal('w/ssh')).toBe(false);
    clock.advance(1000);
    expect(d.mayHeal('w/ssh')).toBe(true);
    expect(d.recordRestart('w/ssh').delayMs).toBe(2000);
    clock.advance(2000);
    expect(d.recordRestart('w/ssh').delayMs).toBe(4000);
    expect(d.looping()).toEqual(['w/ssh']);
    expect(d.verdict('w/http').crashLooping).toBe(false);
  });

  it('restarts spread wider than the window never loop; a quiet window ends a loop', () => {
    const clock = new FakeClock(0);
    const d = new CrashLoopDetector({ clock, maxRestarts: 2, windowMs: 10_000, backoff: { baseMs: 500, jitter: 0 } });
    for (let i = 0; i < 10; i++) {
      expect(d.recordRestart('k').crashLooping).toBe(false);
      clock.advance(5001);
    }
    for (let i = 0; i < 3; i++) d.recordRestart('k');
    expect(d.verdict('k').crashLooping).toBe(true);
    clock.advance(9_999);
    expect(d.verdict('k').crashLooping).toBe(true);
    clock.advance(1);
    expect(d.verdict('k')).toEqual({ crashLooping: false, restartsInWindow: 0, delayMs: 0 });
    expect(d.looping()).toEqual([]);
    // backoff starts over after the loop ended
    for (let i = 0; i < 3; i++) d.recordRestart('k');
    expect(d.verdict('k').delayMs).toBe(500);
  });

  it('counts Docker RestartCount increases, ignoring the first sighting and recreations', () => {
    const clock = new FakeClock(0);
    const d = new CrashLoopDetector({ clock, maxRestarts: 3 });
    expect(d.observeRestartCount('k', 50).restartsInWindow).toBe(0);
    expect(d.observeRestartCount('k', 52).restartsInWindow).toBe(2);
    expect(d.observeRestartCount('k', 0).restartsInWindow).toBe(2);
    const v = d.observeRestartCount('k', 2);
    expect(v.restartsInWindow).toBe(4);
    expect(v.crashLooping).toBe(true);
    d.forget('k');
    expect(d.verdict('k').restartsInWindow).toBe(0);
  });
});
