/**
 * Scenario 5, density: with a controller running, grow one lab fleet by `step` deckies
 * (x 3 services) at a time until a step fails (apply not Running within its bound, or the
 * controller not reporting every decky Running), memory headroom would fall under 2 GiB,
 * the time budget would be exceeded, or `max` is reached. After each step it idles and
 * samples: cgroup rss of every service and base container, controller RSS and CPU, and
 * the CPU the whole fleet uses while nobody talks to it.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICES } from './converge.mjs';
import {
  CLI, cgroupCpuSeconds, cgroupRss, cleanupHost, docker, fleetManifest, load1, median, memAvailable, procCpuSeconds, procRssMiB, round, run, sleep,
} from './lib.mjs';

const FLEET = 'benchcd';
const NET = { subnet: '10.233.4.0/22', gateway: '10.233.4.1', ipBase: '10.233.4.10' };
const GiB = 2 ** 30;
const MiB = 2 ** 20;
const HEADROOM = 2 * GiB;

async function metric(port, re) {
  const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = re.exec(t);
  return m ? Number(m[1]) : undefined;
}

/** Samples every container of the host: rss by role, and CPU seconds summed. */
async function sampleContainers(hostId) {
  const list = await docker.listContainers({ filters: { label: [`com.decnet.host=${hostId}`] } });
  const out = { service: [], base: [], cpu: 0 };
  for (const c of list) {
    let pid;
    let rss;
    let cpu;
    try {
      pid = (await docker.getContainer(c.Id).inspect()).State.Pid;
      rss = cgroupRss(c.Id, pid);
      cpu = cgroupCpuSeconds(c.Id, pid);
    } catch {
      continue; // gone between list and inspect (a heal in progress): not sampled
    }
    (c.Labels['com.decnet.role'] === 'service' ? out.service : out.base).push(rss ?? NaN);
    out.cpu += cpu ?? 0;
  }
  return out;
}

const mibStats = (xs) => ({ median: round(median(xs) / MiB, 1), mean: round(xs.reduce((a, b) => a + b, 0) / xs.length / MiB, 1), max: round(Math.max(...xs) / MiB, 1) });

export async function runDensity(ctx) {
  const { step, max, budgetMs, idleSeconds, hostId, log } = ctx;
  const env = { ...ctx.env, DECNET_HOST_ID: hostId };
  const port = 19961;
  const t0 = Date.now();
  const steps = [];
  let stop = { reason: 'max', detail: `reached --density-max ${max}` };
  await cleanupHost(hostId, [FLEET]);
  const ctl = spawn(process.execPath, [CLI, 'controller', '--metrics-addr', `127.0.0.1:${port}`, '--resync', '30s', '--no-mutate'], { env: { ...env, DECNET_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    let lastMs = 0;
    let lastMemDrop = 0;
    for (let n = step; n <= max; n += step) {
      const avail = memAvailable();
      if (avail - lastMemDrop < HEADROOM) {
        stop = { reason: 'memory', detail: `MemAvailable ${round(avail / GiB, 1)} GiB; the next step would leave less than 2 GiB` };
        break;
      }
      if (Date.now() - t0 + lastMs * 1.5 > budgetMs) {
        stop = { reason: 'time', detail: `the next step would exceed the ${Math.round(budgetMs / 60000)} min budget` };
        break;
      }
      const stepStart = Date.now();
      const file = join(ctx.dir, `density-${n}.yaml`);
      writeFileSync(file, fleetManifest({ fleet: FLEET, ...NET, count: n, services: SERVICES }));
      log(`density: applying ${n} deckies (+${step})`);
      const applied = await run(process.execPath, [CLI, 'apply', '-f', file, '--timeout', ctx.stepTimeout, '--parallelism', String(ctx.par)], { env });
      const applyMs = applied.ms;
      if (applied.code !== 0) {
        stop = { reason: 'not-ready', detail: `apply of ${n} deckies: ${(applied.stdout + applied.stderr).trim().split('\n').slice(-3).join(' / ').slice(0, 400)}` };
        break;
      }
      const r0 = Date.now();
      let running;
      for (;;) {
        running = await metric(port, /^decnet_deckies\{phase="Running"\} (\d+)/m).catch(() => undefined);
        if (running === n || Date.now() - r0 > 180_000) break;
        await sleep(500);
      }
      if (running !== n) {
        stop = { reason: 'not-ready', detail: `controller reports ${running} of ${n} deckies Running after 3 min` };
        break;
      }
      const readyMs = Date.now() - r0;
      await sleep(5000); // settle: the controller's follow-up pass, service start-up
      const c0 = procCpuSeconds(ctl.pid);
      const s0 = await sampleContainers(hostId);
      const i0 = Date.now();
      const ctlRss = [];
      while (Date.now() - i0 < idleSeconds * 1000) {
        ctlRss.push(procRssMiB(ctl.pid));
        await sleep(1000);
      }
      const secs = (Date.now() - i0) / 1000;
      const s1 = await sampleContainers(hostId);
      const row = {
        deckies: n,
        containers: n * 4,
        applyMs: Math.round(applyMs),
        controllerRunningAfterMs: readyMs,
        serviceRssMiB: mibStats(s1.service),
        baseRssMiB: mibStats(s1.base),
        controller: { rssMiBMax: round(Math.max(...ctlRss), 1), cpuPercent: round(((procCpuSeconds(ctl.pid) - c0) / secs) * 100) },
        fleetIdleCpuPercent: round(((s1.cpu - s0.cpu) / secs) * 100),
        memAvailableGiB: round(memAvailable() / GiB, 1),
        loadAvg1m: load1(),
      };
      steps.push(row);
      log(`  ${n} deckies Running; service rss median ${row.serviceRssMiB.median} MiB, controller ${row.controller.rssMiBMax} MiB / ${row.controller.cpuPercent} % CPU, fleet idle CPU ${row.fleetIdleCpuPercent} %, MemAvailable ${row.memAvailableGiB} GiB`);
      lastMs = Date.now() - stepStart;
      lastMemDrop = Math.max(0, avail - memAvailable());
    }
  } finally {
    if (ctl.exitCode === null) {
      ctl.kill('SIGTERM');
      await new Promise((r) => ctl.once('exit', r));
    }
    const del = await run(process.execPath, [CLI, 'delete', 'fleet', FLEET], { env });
    if (del.code !== 0) log(`density: delete fleet failed (${del.stderr.trim().slice(0, 200)}); removing by label`);
    await cleanupHost(hostId, [FLEET]);
  }
  const held = steps.at(-1);
  return { step, max, budgetMinutes: Math.round(budgetMs / 60000), idleSeconds, maxDeckiesHeld: held?.deckies ?? 0, stoppedBy: stop, totalMs: Date.now() - t0, steps };
}
