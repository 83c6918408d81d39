/**
 * The honeypot process: config -> service module -> listening service,
 * with a `service_start` event, graceful SIGTERM and process-level guards so
 * a bug triggered by one attacker never takes the decky's service down.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePersona, type ServiceRuntimeConfig } from '@decnet/api';
import { getService } from '../services/index.js';
import { DEFAULT_QUARANTINE_DIR, QUARANTINE_ENV } from './config.js';
import { createEmitter } from './emit.js';
import type { RunningService, ServiceContext } from './types.js';

export interface RunnerOptions {
  bindHost?: string;
  env?: NodeJS.ProcessEnv;
  /** event sink (default stdout) */
  write?: (line: string) => void;
  /** diagnostics sink (default stderr) */
  logWrite?: (line: string) => void;
}

function stderrWrite(line: string): void {
  try {
    process.stderr.write(line);
  } catch {
    /* ignore */
  }
}

/** First usable quarantine dir: $DECNET_QUARANTINE_DIR, /tmp/decnet-quarantine, os.tmpdir(). */
export function quarantineDir(env: NodeJS.ProcessEnv): string {
  for (const d of [env[QUARANTINE_ENV], DEFAULT_QUARANTINE_DIR, join(tmpdir(), 'decnet-quarantine')]) {
    if (!d) continue;
    try {
      mkdirSync(d, { recursive: true, mode: 0o700 });
      return d;
    } catch {
      /* read-only or missing: try the next */
    }
  }
  return tmpdir();
}

export function makeLogger(write: (line: string) => void = stderrWrite) {
  return (msg: string, extra?: Record<string, unknown>) => {
    try {
      write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg, ...extra })}\n`);
    } catch {
      /* ignore */
    }
  };
}

export async function startFromConfig(cfg: ServiceRuntimeConfig, opts: RunnerOptions = {}): Promise<{ ctx: ServiceContext; running: RunningService }> {
  const mod = getService(cfg.service);
  if (!mod) throw new Error(`no implementation for service "${cfg.service}" and no generic fallback`);
  const emit = createEmitter({ decky: cfg.decky, service: cfg.service, ...(opts.write ? { write: opts.write } : {}) });
  const ctx: ServiceContext = {
    decky: cfg.decky,
    service: cfg.service,
    hostname: cfg.hostname,
    persona: cfg.persona ?? resolvePersona({ hostname: cfg.hostname, nmapOS: 'linux', services: [{ name: cfg.service, config: cfg.config }] }),
    ports: cfg.ports,
    config: cfg.config,
    ...(cfg.tls ? { tls: cfg.tls } : {}),
    ...(cfg.sshHostKeys ? { sshHostKeys: cfg.sshHostKeys } : {}),
    quarantineDir: quarantineDir(opts.env ?? process.env),
    bindHost: opts.bindHost ?? '0.0.0.0',
    emit,
    log: makeLogger(opts.logWrite),
  };
  const running = await mod.start(ctx);
  emit({ event: 'service_start', implementation: mod.name, ports: running.ports, hostname: cfg.hostname, pid: process.pid });
  return { ctx, running };
}

/** Keep serving after a stray exception; log it to stderr. */
export function installProcessGuards(log: (msg: string, extra?: Record<string, unknown>) => void): void {
  process.on('uncaughtException', (err) => log('uncaught exception', { level: 'error', err: String(err?.stack ?? err) }));
  process.on('unhandledRejection', (reason) => log('unhandled rejection', { level: 'error', err: String((reason as Error)?.stack ?? reason) }));
  process.stdout.on?.('error', () => undefined);
}

/**
 * Install SIGTERM/SIGINT handlers (call this before starting the service, so a
 * signal can never hit the default action); `running()` is the service once up.
 */
export function onShutdown(running: () => RunningService | undefined, log: (msg: string) => void, graceMs = 3000): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    const force = setTimeout(() => process.exit(0), graceMs);
    force.unref();
    const svc = running();
    if (!svc) return process.exit(0);
    svc.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
