/**
 * Image entrypoint: `node honeypot.mjs`. Reads the mounted service config,
 * starts the named service on 0.0.0.0 and serves until SIGTERM.
 */
import { configPath, loadRuntimeConfig } from './config.js';
import type { RunningService } from './types.js';
import { installProcessGuards, makeLogger, onShutdown, startFromConfig } from './runner.js';

async function main(): Promise<void> {
  const log = makeLogger();
  installProcessGuards(log);
  let running: RunningService | undefined;
  onShutdown(() => running, log);
  try {
    const cfg = loadRuntimeConfig(configPath());
    running = (await startFromConfig(cfg, { bindHost: process.env['DECNET_BIND_HOST'] || '0.0.0.0' })).running;
    log('serving', { service: cfg.service, decky: cfg.decky, ports: running.ports });
  } catch (err) {
    const e = err as { code?: string; message?: string; hint?: string };
    log('startup failed', { level: 'fatal', code: e.code, err: e.message ?? String(err), hint: e.hint });
    process.exit(2);
  }
}

void main();
