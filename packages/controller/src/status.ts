/**
 * Decky status, computed purely from what was observed: a phase plus the conditions
 * `Ready`, `Progressing` and `Degraded` (Kubernetes style: status True/False/Unknown,
 * a CamelCase reason, a message, lastTransitionTime and observedGeneration).
 * Also crash-loop detection: too many restarts/heals of one container within a window
 * put it in CrashLoopBackOff with a growing delay before the next heal.
 */
import type { ContainerState } from '@decnet/api';
import { KeyedBackoff, type BackoffOptions } from './backoff.js';
import type { Clock } from './clock.js';

export type DeckyPhase = 'Pending' | 'Running' | 'Degraded' | 'Failed' | 'Unknown';
export type ConditionType = 'Ready' | 'Progressing' | 'Degraded';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  /** CamelCase, e.g. AllRunning, ContainerExited, CrashLoopBackOff */
  reason: string;
  message: string;
  /** RFC 3339; kept from the previous status while `status` does not change */
  lastTransitionTime: string;
  observedGeneration: number;
}

export interface DeckyStatus {
  phase: DeckyPhase;
  observedGeneration: number;
  /** one-line summary (the message of the most relevant condition) */
  message: string;
  /** always in the order Ready, Progressing, Degraded */
  conditions: Condition[];
}

/** What was observed about one container of a decky. */
export interface ContainerSnapshot {
  state: ContainerState;
  exitCode?: number;
  restartCount?: number;
  startedAt?: string;
  /** value of com.decnet.generation on the container */
  generation?: number;
}

/**
 * Everything status computation needs about one decky (the controller builds this from
 * its grouped observation; nothing here reads the engine).
 */
export interface DeckyStatusInput {
  /** desired spec generation (the decky's com.decnet.generation) */
  generation: number;
  /** the base container; undefined = missing */
  base?: ContainerSnapshot;
  /** one entry per desired service; undefined = container missing */
  services: Record<string, ContainerSnapshot | undefined>;
  /** problems decoding this decky's labels (any makes it Failed: InvalidLabels) */
  labelErrors?: string[];
  /** false = the engine could not be read: everything is Unknown */
  engineReachable: boolean;
  /** recent failed heal attempts, oldest first */
  healFailures?: Array<{ time: string; message: string }>;
  /** container slots ('base' or a service name) the CrashLoopDetector flags */
  crashLooping?: string[];
  /** the status computed last time (for lastTransitionTime) */
  previous?: DeckyStatus;
  /** RFC 3339 time of this computation */
  now: string;
  /** heal failures from which the decky is Failed instead of Degraded (default 3) */
  healFailureThreshold?: number;
}

type SlotProblem = 'missing' | 'starting' | 'outdated' | 'exited' | 'paused' | 'crashloop';

interface Slot {
  name: string;
  problem?: SlotProblem;
  detail: string;
}

function classify(name: string, c: ContainerSnapshot | undefined, input: DeckyStatusInput): Slot {
  if (input.crashLooping?.includes(name)) {
    const restarts = c?.restartCount ? `, ${c.restartCount} restarts` : '';
    return { name, problem: 'crashloop', detail: `${name} is crash-looping${restarts}` };
  }
  if (!c) return { name, problem: 'missing', detail: `${name} not created` };
  switch (c.state) {
    case 'running':
      if (c.generation !== undefined && c.generation < input.generation) {
        return { name, problem: 'outdated', detail: `${name} at generation ${c.generation}, want ${input.generation}` };
      }
      return { name, detail: `${name} running` };
    case 'created':
      return { name, problem: 'starting', detail: `${name} created, not started` };
    case 'restarting':
      return { name, problem: 'starting', detail: `${name} restarting` };
    case 'paused':
      return { name, problem: 'paused', detail: `${name} paused` };
    case 'exited':
    case 'dead':
    case 'removing': {
      const code = c.exitCode !== undefined ? ` (exit code ${c.exitCode})` : '';
      return { name, problem: 'exited', detail: `${name} ${c.state}${code}` };
    }
  }
}

interface Verdict {
  phase: DeckyPhase;
  ready: [ConditionStatus, string, string];
  progressing: [ConditionStatus, string, string];
  degraded: [ConditionStatus, string, string];
}

function details(slots: Slot[], problems: SlotProblem[]): string {
  return slots
    .filter((s) => s.problem && problems.includes(s.problem))
    .map((s) => s.detail)
    .join('; ');
}

function verdict(input: DeckyStatusInput): Verdict {
  if (!input.engineReachable) {
    const m = 'container engine unreachable: state unknown';
    return { phase: 'Unknown', ready: ['Unknown', 'EngineUnavailable', m], progressing: ['Unknown', 'EngineUnavailable', m], degraded: ['Unknown', 'EngineUnavailable', m] };
  }
  if (input.labelErrors && input.labelErrors.length > 0) {
    const m = `invalid labels: ${input.labelErrors.join('; ')}`;
    // tampered or truncated labels: reported as Degraded (nothing is deleted or recreated from them)
    return { phase: 'Degraded', ready: ['False', 'InvalidLabels', m], progressing: ['False', 'InvalidLabels', m], degraded: ['True', 'InvalidLabels', m] };
  }
  const slots = [classify('base', input.base, input)];
  for (const name of Object.keys(input.services).sort()) slots.push(classify(name, input.services[name], input));
  const has = (p: SlotProblem) => slots.some((s) => s.problem === p);
  const failures = input.healFailures ?? [];
  const threshold = input.healFailureThreshold ?? 3;
  const broken = has('crashloop') || has('exited') || has('paused') || has('missing') || has('starting');
  const lastFailure = failures[failures.length - 1];

  if (broken && lastFailure && failures.length >= threshold) {
    const m = `${failures.length} heal attempts failed, last: ${lastFailure.message}`;
    return { phase: 'Failed', ready: ['False', 'HealFailed', m], progressing: ['False', 'HealFailed', m], degraded: ['True', 'HealFailed', m] };
  }
  if (has('crashloop')) {
    const m = details(slots, ['crashloop']);
    return { phase: 'Degraded', ready: ['False', 'CrashLoopBackOff', m], progressing: ['False', 'CrashLoopBackOff', m], degraded: ['True', 'CrashLoopBackOff', m] };
  }
  if (has('exited') || has('paused')) {
    const reason = has('exited') ? 'ContainerExited' : 'ContainerPaused';
    const m = details(slots, ['exited', 'paused']);
    const progressing: Verdict['progressing'] = lastFailure
      ? ['False', 'HealFailed', `heal failed: ${lastFailure.message}`]
      : ['True', 'Healing', `healing: ${m}`];
    return { phase: 'Degraded', ready: ['False', reason, m], progressing, degraded: ['True', reason, m] };
  }
  if (has('missing') || has('starting')) {
    const m = details(slots, ['missing', 'starting']);
    return { phase: 'Pending', ready: ['False', 'ContainersStarting', m], progressing: ['True', 'ContainersStarting', m], degraded: ['False', 'AsExpected', 'no failures'] };
  }
  const all = `all ${slots.length} containers running`;
  if (has('outdated')) {
    return { phase: 'Running', ready: ['True', 'AllRunning', all], progressing: ['True', 'NewGeneration', details(slots, ['outdated'])], degraded: ['False', 'AsExpected', 'no failures'] };
  }
  return { phase: 'Running', ready: ['True', 'AllRunning', all], progressing: ['False', 'AllRunning', all], degraded: ['False', 'AsExpected', 'no failures'] };
}

/** Computes a decky's status; lastTransitionTime carries over while a condition keeps its status. */
export function computeDeckyStatus(input: DeckyStatusInput): DeckyStatus {
  const v = verdict(input);
  const make = (type: ConditionType, [status, reason, message]: [ConditionStatus, string, string]): Condition => {
    const prev = input.previous?.conditions.find((c) => c.type === type);
    return {
      type,
      status,
      reason,
      message,
      lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : input.now,
      observedGeneration: input.generation,
    };
  };
  const conditions = [make('Ready', v.ready), make('Progressing', v.progressing), make('Degraded', v.degraded)];
  const main = v.phase === 'Pending' ? conditions[1]! : v.phase === 'Running' ? conditions[0]! : conditions[2]!;
  return { phase: v.phase, observedGeneration: input.generation, message: main.message, conditions };
}

/* ------------------------------------------------------------------ */
/* Crash-loop detection                                                */
/* ------------------------------------------------------------------ */

export interface CrashLoopOptions {
  /** restarts tolerated within the window (more = crash loop; default 3) */
  maxRestarts?: number;
  /** window, ms (default 10 minutes); a loop ends after a whole window without restarts */
  windowMs?: number;
  /** delay growth while looping (default 10 s doubling up to 5 min) */
  backoff?: BackoffOptions;
  clock: Clock;
}

export interface CrashLoopVerdict {
  crashLooping: boolean;
  restartsInWindow: number;
  /** ms to wait from the last restart before healing again (0 when not looping) */
  delayMs: number;
  /** epoch ms from which a heal is allowed (absent when not looping) */
  retryAt?: number;
}

/** Tracks restarts per container key (e.g. `web-01/ssh`). */
export class CrashLoopDetector {
  private readonly restarts = new Map<string, number[]>();
  private readonly lastCount = new Map<string, number>();
  private readonly retryAt = new Map<string, number>();
  private readonly delay = new Map<string, number>();
  private readonly backoff: KeyedBackoff;
  private readonly max: number;
  private readonly windowMs: number;
  private readonly clock: Clock;

  constructor(opts: CrashLoopOptions) {
    this.max = opts.maxRestarts ?? 3;
    this.windowMs = opts.windowMs ?? 10 * 60_000;
    this.clock = opts.clock;
    this.backoff = new KeyedBackoff({ baseMs: 10_000, maxMs: 5 * 60_000, ...opts.backoff });
  }

  /** A restart or heal of `key` happened (now, or at `at`). */
  recordRestart(key: string, at = this.clock.now(), times = 1): CrashLoopVerdict {
    const list = this.prune(key, at);
    for (let i = 0; i < times; i++) list.push(at);
    this.restarts.set(key, list);
    if (list.length > this.max) {
      const d = this.backoff.when(key);
      this.delay.set(key, d);
      this.retryAt.set(key, at + d);
    }
    return this.verdict(key, at);
  }

  /** Feeds Docker's RestartCount; increases since the last observation count as restarts. */
  observeRestartCount(key: string, count: number, at = this.clock.now()): CrashLoopVerdict {
    const last = this.lastCount.get(key);
    this.lastCount.set(key, count);
    if (last !== undefined && count > last) return this.recordRestart(key, at, count - last);
    return this.verdict(key, at);
  }

  verdict(key: string, at = this.clock.now()): CrashLoopVerdict {
    const list = this.prune(key, at);
    const looping = this.backoff.numRequeues(key) > 0;
    const retryAt = this.retryAt.get(key);
    return {
      crashLooping: looping,
      restartsInWindow: list.length,
      delayMs: looping ? (this.delay.get(key) ?? 0) : 0,
      ...(looping && retryAt !== undefined ? { retryAt } : {}),
    };
  }

  /** Whether the controller may heal `key` now (false while its back-off delay runs). */
  mayHeal(key: string, at = this.clock.now()): boolean {
    const v = this.verdict(key, at);
    return !v.crashLooping || v.retryAt === undefined || at >= v.retryAt;
  }

  /** Keys currently crash-looping, sorted. */
  looping(at = this.clock.now()): string[] {
    return [...this.restarts.keys()].filter((k) => this.verdict(k, at).crashLooping).sort();
  }

  /** Drops all history of `key` (the container is gone for good). */
  forget(key: string): void {
    this.restarts.delete(key);
    this.lastCount.delete(key);
    this.retryAt.delete(key);
    this.delay.delete(key);
    this.backoff.forget(key);
  }

  private prune(key: string, at: number): number[] {
    const list = (this.restarts.get(key) ?? []).filter((t) => t > at - this.windowMs);
    if (list.length === 0) {
      // a whole window without restarts: the loop (if any) is over
      this.backoff.forget(key);
      this.retryAt.delete(key);
      this.delay.delete(key);
      this.restarts.delete(key);
    } else this.restarts.set(key, list);
    return list;
  }
}
