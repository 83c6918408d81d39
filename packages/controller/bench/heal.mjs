#!/usr/bin/env node
/**
 * Controller bench (real engine): deploys N deckies x 2 services (fleet e2c-bench,
 * 10.235.2.0/24, host id bench-controller), runs `decnetctl controller`, then measures
 *  - heal latency: `docker kill` of a service container -> running again, over K kills
 *    (distinct containers, so no crash-loop back-off kicks in): median, p95, max;
 *  - controller RSS and CPU while idle (no heals), over IDLE_S seconds;
 *  - duration of one full resync (observe + reconcile of every decky), from /metrics.
 * Env: BENCH_N (default 50), BENCH_KILLS (20), BENCH_IDLE_S (30). Prints JSON.
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const pexec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'packages/cli/bin/run.js');
const N = Number(process.env.BENCH_N ?? 50);
const KILLS = Number(process.env.BENCH_KILLS ?? 20);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 30);
const PORT = 19950;
const state = mkdtempSync(join(tmpdir(), 'decnet-bench-heal-'));
const env = { ...process.env, DECNET_HOST_ID: 'bench-controller', DECNET_STATE_DIR: state, DECNET_BASE_IMAGE: 'decnet/runtime-base:0.1.0', DECNET_IMAGE_BASE: 'decnet/runtime-base:0.1.0' };
const docker = new Docker();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => process.stderr.write(`[bench:heal] ${m}\n`);
const names = Array.from({ length: N }, (_, i) => `e2c-bh-${String(i + 1).padStart(3, '0')}`);

const cli = (args) => pexec(process.execPath, [CLI, ...args], { env, maxBuffer: 64 << 20 });
const metric = async (re) => {
  const t = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
  const m = re.exec(t);
  return m ? Number(m[1]) : undefined;
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (clock ticks, 100/s)
}
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

let ctl;
async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-bench-m-'));
  const docs = [
    'apiVersion: decnet.io/v1alpha1\nkind: Fleet\nmetadata: { name: e2c-bench }\nspec:\n  network: { mode: macvlan, subnet: 10.235.2.0/24, gateway: 10.235.2.1 }\n  lab: true',
    ...names.map((n, i) => `apiVersion: decnet.io/v1alpha1\nkind: Decky\nmetadata: { name: ${n} }\nspec: { fleet: e2c-bench, ip: 10.235.2.${10 + i}, services: [ssh, http], distro: debian }`),
  ];
  writeFileSync(join(dir, 'fleet.yaml'), docs.join('\n---\n'));
  let t = Date.now();
  await cli(['apply', '-f', join(dir, 'fleet.yaml'), '--timeout', '10m']);
  log(`applied ${N} deckies x 2 services in ${Date.now() - t} ms`);

  ctl = spawn(process.execPath, [CLI, 'controller', '--metrics-addr', `127.0.0.1:${PORT}`, '--resync', '30s', '--no-mutate'], { env: { ...env, DECNET_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
  t = Date.now();
  for (;;) {
    const running = await metric(/^decnet_deckies\{phase="Running"\} (\d+)/m).catch(() => undefined);
    if (running === N) break;
    if (Date.now() - t > 300_000) throw new Error(`only ${running} of ${N} deckies Running after 5 min`);
    await sleep(200);
  }
  const firstPass = await metric(/^decnet_resync_duration_seconds_sum ([\d.e-]+)/m);
  log(`controller ready: ${N} Running after ${Date.now() - t} ms (first full pass ${Math.round((firstPass ?? 0) * 1000)} ms)`);

  // idle: wait out the settle period, then sample RSS and CPU
  await sleep(5_000);
  const c0 = cpuTicks(ctl.pid);
  const rss = [];
  const i0 = Date.now();
  while (Date.now() - i0 < IDLE_S * 1000) {
    rss.push(rssMiB(ctl.pid));
    await sleep(1000);
  }
  const cpuPct = ((cpuTicks(ctl.pid) - c0) / 100 / ((Date.now() - i0) / 1000)) * 100;
  const resyncCount = await metric(/^decnet_resync_duration_seconds_count (\d+)/m);
  const resyncSum = await metric(/^decnet_resync_duration_seconds_sum ([\d.e-]+)/m);
  log(`idle: RSS ${Math.max(...rss).toFixed(1)} MiB max, CPU ${cpuPct.toFixed(2)} % over ${IDLE_S} s; ${resyncCount} full passes, mean ${Math.round((resyncSum / resyncCount) * 1000)} ms`);

  // heal latency
  const lat = [];
  for (let k = 0; k < KILLS; k++) {
    const name = `${names[k % N]}-${k < N ? 'ssh' : 'http'}`;
    const c = docker.getContainer(name);
    const before = (await c.inspect()).State.StartedAt;
    const t0 = performance.now();
    await c.kill();
    for (;;) {
      const s = (await c.inspect()).State;
      if (s.Running && s.StartedAt !== before) break;
      if (performance.now() - t0 > 60_000) throw new Error(`${name} not healed within 60 s`);
      await sleep(10);
    }
    lat.push(performance.now() - t0);
    await sleep(300);
  }
  const out = {
    deckies: N,
    containers: N * 3,
    heal: { kills: KILLS, medianMs: Math.round(pct(lat, 50)), p95Ms: Math.round(pct(lat, 95)), maxMs: Math.round(Math.max(...lat)) },
    idle: { seconds: IDLE_S, rssMiBMax: Number(Math.max(...rss).toFixed(1)), cpuPercent: Number(cpuPct.toFixed(2)) },
    fullResync: { passes: resyncCount, meanMs: Math.round((resyncSum / resyncCount) * 1000), firstPassMs: Math.round((firstPass ?? 0) * 1000) },
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

try {
  await main();
} finally {
  if (ctl && ctl.exitCode === null) {
    ctl.kill('SIGTERM');
    await new Promise((r) => ctl.once('exit', r));
  }
  log('cleaning up');
  await cli(['delete', 'fleet', 'e2c-bench']).catch((e) => log(`cleanup failed: ${e.message}`));
  rmSync(state, { recursive: true, force: true });
}
