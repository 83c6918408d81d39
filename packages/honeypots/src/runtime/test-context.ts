/**
 * A ServiceContext for unit tests: binds 127.0.0.1 on port 0 (unless ports are
 * given), collects emitted events in memory and writes uploads to a temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePersona, type AttackerEvent, type ConfigValue, type OsProfileName, type Persona, type ServicePort } from '@decnet/api';
import { afterAll } from 'vitest';
import { createEmitter } from './emit.js';
import type { ServiceContext } from './types.js';

export interface TestContext {
  ctx: ServiceContext;
  /** every event emitted so far, parsed */
  events: AttackerEvent[];
  /** diagnostics passed to ctx.log */
  logs: { msg: string; extra?: Record<string, unknown> }[];
  /** resolve with the first event matching `pred` (already emitted or future), reject after `timeoutMs` */
  waitFor(pred: (e: AttackerEvent) => boolean, timeoutMs?: number): Promise<AttackerEvent>;
  /** remove the quarantine dir */
  cleanup(): void;
}

const scratchDirs: string[] = [];
/** A temp dir removed when the test file ends (a test run leaves nothing behind). */
export function scratchDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  scratchDirs.push(d);
  return d;
}
// registered while the importing test file is collected: runs after that file's tests
afterAll(() => {
  for (const d of scratchDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function makeTestContext(
  service: string,
  config: Record<string, ConfigValue> = {},
  ports: ServicePort[] = [{ port: 0, proto: 'tcp' }],
  opts: {
    decky?: string;
    hostname?: string;
    nmapOS?: OsProfileName;
    persona?: Persona;
    otherServices?: { name: string; config: Record<string, ConfigValue> }[];
    /** keep the catalogue port numbers in ctx.ports but bind ephemeral ports (running.ports has the real ones) */
    ephemeral?: boolean;
    /** apply-time TLS identities by style */
    tls?: Record<string, { cert: string; key: string }>;
  } = {},
): TestContext {
  const events: AttackerEvent[] = [];
  const logs: TestContext['logs'] = [];
  const waiters: { pred: (e: AttackerEvent) => boolean; resolve: (e: AttackerEvent) => void }[] = [];
  const quarantineDir = scratchDir(`decnet-hp-${service}-`);
  const decky = opts.decky ?? 'test-decky';
  const emit = createEmitter({
    decky,
    service,
    write: (line) => {
      const ev = JSON.parse(line) as AttackerEvent;
      events.push(ev);
      for (const w of [...waiters]) {
        if (w.pred(ev)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(ev);
        }
      }
    },
  });
  const hostname = opts.hostname ?? 'SRV-TEST-42';
  const persona = opts.persona ?? resolvePersona({ hostname, nmapOS: opts.nmapOS ?? 'linux', services: [{ name: service, config }, ...(opts.otherServices ?? [])] });
  const ctx: ServiceContext = {
    decky,
    service,
    hostname,
    persona,
    ports,
    config,
    ...(opts.ephemeral ? { listenPort: () => 0 } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
    quarantineDir,
    bindHost: '127.0.0.1',
    emit,
    log: (msg, extra) => {
      logs.push(extra === undefined ? { msg } : { msg, extra });
    },
  };
  return {
    ctx,
    events,
    logs,
    waitFor(pred, timeoutMs = 5000) {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (e: AttackerEvent) => {
            clearTimeout(t);
            resolve(e);
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no matching event within ${timeoutMs} ms; got: ${events.map((e) => e.event).join(', ')}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    cleanup() {
      rmSync(quarantineDir, { recursive: true, force: true });
    },
  };
}
