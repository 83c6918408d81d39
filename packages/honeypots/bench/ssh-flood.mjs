#!/usr/bin/env node
/**
 * Bench: how many failed-login events one ssh honeypot service logs per second,
 * and how much memory its container holds idle and under that flood.
 *
 *   node packages/honeypots/bench/ssh-flood.mjs [--seconds 20] [--parallel 16] [--client-procs 2] [--json]
 *
 * Deploys a lab fleet `benchh` (10.231.0.0/24) with one ssh decky using the
 * built decnetctl, floods it from the lab namespace (`decnetctl lab exec`) with
 * ssh2 clients each trying 6 wrong passwords per connection (the service's
 * per-connection limit), counts the auth_attempt events that reached the
 * container's stdout, samples the container's memory (cgroup v1/v2 rss and the
 * VmRSS of its processes), then deletes the fleet (also on failure or Ctrl-C).
 * Needs root, Docker and a build (`npx turbo run build`).
 *
 * Internal mode, run inside the namespace:  ssh-flood.mjs client IP SECONDS PARALLEL [PROCS]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, ctl, docker, env, memory, mib, must, run } from './bench-lib.mjs';

const HERE = fileURLToPath(import.meta.url);
const FLEET = 'benchh';
const DECKY = 'benchh-ssh';
const IP = '10.231.0.10';
const ATTEMPTS_PER_CONN = 6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- client side
async function client(ip, seconds, parallel) {
  const { Client } = (await import('ssh2')).default;
  const deadline = Date.now() + seconds * 1000;
  const stats = { attempts: 0, connections: 0, errors: 0, errorSamples: [] };
  const one = (w) =>
    new Promise((done) => {
      const c = new Client();
      let tries = 0;
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        c.end();
        done();
      };
      stats.connections++;
      c.on('error', (e) => {
        if (!/authentication methods failed/i.test(e.message)) {
          stats.errors++;
          if (stats.errorSamples.length < 5) stats.errorSamples.push(e.message);
        }
        finish();
      });
      c.on('ready', finish);
      c.on('close', finish);
      c.connect({
        host: ip,
        port: 22,
        username: `bench${w}`,
        readyTimeout: 15_000,
        authHandler: (_left, _partial, cb) => {
          if (tries >= ATTEMPTS_PER_CONN || Date.now() > deadline) return cb(false);
          tries++;
          stats.attempts++;
          cb({ type: 'password', username: `bench${w}`, password: `wrong-${stats.attempts}` });
        },
      });
    });
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: parallel }, async (_, w) => {
      while (Date.now() < deadline) await one(w);
    }),
  );
  process.stdout.write(`${JSON.stringify({ ...stats, seconds: (Date.now() - t0) / 1000 })}\n`);
}

// ------------------------------------------------------------------ host side
function args() {
  const a = process.argv.slice(2);
  const num = (name, dflt) => {
    const i = a.indexOf(`--${name}`);
    const v = i >= 0 ? Number(a[i + 1]) : dflt;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
    return v;
  };
  return { seconds: num('seconds', 20), parallel: num('parallel', 16), procs: num('client-procs', 2), json: a.includes('--json') };
}


const MANIFEST = `apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: ${FLEET} }
spec:
  network: { subnet: 10.231.0.0/24, gateway: 10.231.0.1 }
  lab: true
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: ${DECKY} }
spec:
  fleet: ${FLEET}
  ip: ${IP}
  services: [ssh]
  serviceConfig:
    ssh: { ssh_version: SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10, users: "root:not-tried-by-the-bench" }
`;

/** CPU time a container has used, seconds (cgroup v1 cpuacct or v2 cpu.stat); undefined if unknown. */
function cpuSeconds(id, pid) {
  const v1 = `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`;
  if (existsSync(v1)) return Number(readFileSync(v1, 'utf8')) / 1e9;
  const rel = /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
  const stat = rel && `/sys/fs/cgroup${rel}/cpu.stat`;
  if (stat && existsSync(stat)) return Number(/^usage_usec (\d+)$/m.exec(readFileSync(stat, 'utf8'))?.[1]) / 1e6;
  return undefined;
}


const countAttempts = async (name) => (await docker('logs', name)).split('\n').filter((l) => l.includes('"event":"auth_attempt"')).length;

async function cleanup() {
  const r = await ctl('delete', 'fleet', FLEET);
  if (r.code !== 0 && !/not found|nothing to delete|no such/i.test(r.stderr)) process.stderr.write(`cleanup: ${r.stderr}`);
}

async function main() {
  const { seconds, parallel, procs, json } = args();
  const e = env();
  const t0 = Date.now();
  const log = (m) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);
  if ((await run('docker', ['image', 'inspect', e.DECNET_BASE_IMAGE])).code !== 0) {
    log(`building ${e.DECNET_BASE_IMAGE}`);
    await must(run('bash', [join(ROOT, 'scripts/build-runtime-base.sh'), e.DECNET_BASE_IMAGE]), 'build-runtime-base');
  }
  const dir = mkdtempSync(join(tmpdir(), 'decnet-benchh-'));
  // its own state dir (persona config files, quarantine), removed with the fleet
  process.env.DECNET_STATE_DIR ??= join(dir, 'state');
  await cleanup();
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    log('interrupted: cleaning up');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    writeFileSync(join(dir, 'fleet.yaml'), MANIFEST);
    log(`deploying ${FLEET}`);
    await must(ctl('apply', '-f', dir, '-o', 'json'), 'apply');
    const name = (await docker('ps', '-q', '--no-trunc', '--filter', `label=com.decnet.fleet=${FLEET}`, '--filter', 'label=com.decnet.role=service')).trim();
    const [info] = JSON.parse(await docker('inspect', name));
    const id = info.Id;
    const cname = info.Name.replace(/^\//, '');
    for (let i = 0; !(await docker('logs', cname)).includes('"event":"service_start"'); i++) {
      if (i > 120) throw new Error(`${cname} never logged service_start`);
      await sleep(250);
    }
    log('idle for 5 s');
    await sleep(5000);
    const idle = { ...memory(id, info.State.Pid), dockerStats: (await docker('stats', '--no-stream', '--format', '{{.MemUsage}}', id)).trim() };
    const before = await countAttempts(cname);
    const load = loadavg()[0];
    const cpu0 = cpuSeconds(id, info.State.Pid);

    log(`flooding ${IP}:22 from the lab namespace: ${parallel} connections from ${procs} client processes for ${seconds} s`);
    const samples = [];
    let flooding = true;
    const sampler = (async () => {
      while (flooding) {
        samples.push(memory(id, info.State.Pid));
        await sleep(500);
      }
    })();
    const flood = await ctl('lab', 'exec', FLEET, '--', process.execPath, HERE, 'client', IP, String(seconds), String(parallel), String(procs));
    flooding = false;
    const cpu1 = cpuSeconds(id, info.State.Pid);
    await sampler;
    if (flood.code !== 0) throw new Error(`flood client failed: ${flood.stderr}`);
    const c = JSON.parse(flood.stdout.trim().split('\n').pop());

    // events are written as they happen; wait until the log stops growing
    let logged = await countAttempts(cname);
    for (let last = -1; logged !== last; ) {
      last = logged;
      await sleep(1000);
      logged = await countAttempts(cname);
    }
    logged -= before;
    await sleep(5000);
    const after = memory(id, info.State.Pid);
    const [post] = JSON.parse(await docker('inspect', id));
    const peak = (k) => Math.max(...samples.map((s) => s[k] ?? 0));
    const machine = {
      nproc: availableParallelism(),
      memGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
      docker: (await docker('version', '--format', '{{.Server.Version}}')).trim(),
      loadAvg1mBeforeFlood: Number(load.toFixed(2)),
      date: new Date().toISOString(),
    };
    const result = {
      machine,
      seconds: c.seconds,
      parallel,
      clientProcs: procs,
      connections: c.connections,
      clientAttempts: c.attempts,
      clientErrors: c.errors,
      loggedAuthAttempts: logged,
      eventsPerSecond: Math.round(logged / c.seconds),
      serviceCpuSeconds: cpu0 === undefined || cpu1 === undefined ? undefined : Number((cpu1 - cpu0).toFixed(2)),
      eventsPerServiceCpuSecond: cpu0 === undefined || cpu1 === undefined ? undefined : Math.round(logged / (cpu1 - cpu0)),
      idle,
      peak: { cgroupRss: peak('cgroupRss'), vmRss: peak('vmRss') },
      afterFlood: after,
      restarts: post.RestartCount,
      running: post.State.Running,
    };
    log('done: deleting the fleet');
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else
      process.stdout.write(
        [
          `ssh flood: ${c.connections} connections, ${c.attempts} password attempts sent in ${c.seconds.toFixed(1)} s (${parallel} in parallel from ${procs} processes, ${c.errors} client errors${c.errorSamples.length ? `: ${c.errorSamples.join('; ')}` : ''})`,
          `auth_attempt events logged: ${logged} (${result.eventsPerSecond} events/s; the service used ${result.serviceCpuSeconds ?? 'n/a'} s of CPU: ${result.eventsPerServiceCpuSecond ?? 'n/a'} events per CPU-second)`,
          `memory idle:        cgroup rss ${mib(idle.cgroupRss)}, process VmRSS ${mib(idle.vmRss)}, docker stats ${idle.dockerStats}`,
          `memory under flood: cgroup rss ${mib(result.peak.cgroupRss)}, process VmRSS ${mib(result.peak.vmRss)} (peak of ${samples.length} samples)`,
          `memory 5 s after:   cgroup rss ${mib(after.cgroupRss)}, process VmRSS ${mib(after.vmRss)}`,
          `container: running=${post.State.Running} restarts=${post.RestartCount}`,
          `machine: ${machine.nproc} cpus, ${machine.memGiB} GiB, kernel ${machine.kernel}, node ${machine.node}, docker ${machine.docker}, 1-min load before the flood ${machine.loadAvg1mBeforeFlood}, ${machine.date}`,
          '',
        ].join('\n'),
      );
    if (interrupted) process.exitCode = 130;
  } finally {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Splits the connections over `procs` client processes (one ssh2 client process saturates a core). */
async function clients(ip, seconds, parallel, procs) {
  if (procs <= 1) return client(ip, seconds, parallel);
  const outs = await Promise.all(
    Array.from({ length: procs }, (_, i) => {
      const share = Math.floor(parallel / procs) + (i < parallel % procs ? 1 : 0);
      return run(process.execPath, [HERE, 'client', ip, String(seconds), String(share), '1'], { env: process.env });
    }),
  );
  const sum = { attempts: 0, connections: 0, errors: 0, errorSamples: [], seconds: 0 };
  for (const o of outs) {
    if (o.code !== 0) throw new Error(`client process failed: ${o.stderr}`);
    const r = JSON.parse(o.stdout.trim().split('\n').pop());
    sum.attempts += r.attempts;
    sum.connections += r.connections;
    sum.errors += r.errors;
    sum.errorSamples.push(...r.errorSamples.slice(0, 5 - sum.errorSamples.length));
    sum.seconds = Math.max(sum.seconds, r.seconds);
  }
  process.stdout.write(`${JSON.stringify(sum)}\n`);
}

if (process.argv[2] === 'client') {
  const [ip, seconds, parallel, procs] = process.argv.slice(3);
  await clients(ip, Number(seconds), Number(parallel), Number(procs ?? 1));
} else {
  try {
    await main();
  } catch (err) {
    process.stderr.write(`ssh-flood: ${err.message}\n`);
    process.exitCode = 1;
  }
}
