/**
 * Shared helpers of the benchmark scripts (scripts/bench-apply.mjs, scripts/bench/*):
 * the decnetctl runner, bounded parallelism, statistics, the engine floor (decnet's own
 * create bodies sent straight through dockerode), cleanup by label, and the record of the
 * machine and versions every result carries.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { parseManifests, plan, resolveManifests } from '@decnet/api';
import { containerCreateBody, networkCreateBody, prepareServiceFiles, removeLab } from '@decnet/engine';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'packages/cli/bin/run.js');
export const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
export const pexec = promisify(execFile);
export const docker = new Docker();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Local images only: the runtime base of this version (built by the script when missing). */
export function imageEnv(env = process.env) {
  const base = env.DECNET_BASE_IMAGE || `decnet/runtime-base:${VERSION}`;
  return { DECNET_BASE_IMAGE: base, DECNET_IMAGE_BASE: env.DECNET_IMAGE_BASE || base };
}

/** Runs a command; resolves to { code, stdout, stderr, ms } (never rejects on exit code). */
export function run(cmd, argv, opts = {}) {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (opts.echo) process.stderr.write(d);
    });
    const timer = opts.timeoutMs ? setTimeout(() => {
      stderr += `\n(killed after ${opts.timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, opts.timeoutMs) : undefined;
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code: code ?? -1, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Like run, but throws with the command's stderr when it exits non-zero. */
export async function must(cmd, argv, opts = {}) {
  const r = await run(cmd, argv, opts);
  if (r.code !== 0) throw new Error(`${opts.what ?? `${cmd} ${argv.join(' ')}`} failed (${r.code}): ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  return r;
}

/** `decnetctl ...` (built CLI) with the given env; throws on a non-zero exit. */
export const decnetctl = (env, ...args) => must(process.execPath, [CLI, ...args], { env, what: `decnetctl ${args.join(' ')}` });

/** Runs fn over items with at most `par` in flight. */
export async function pool(items, par, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(par, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
export const spread = (xs) => `${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))}`;
/** { median, min, max, runs } of a list of milliseconds, rounded. */
export const stats = (xs) => ({ median: Math.round(median(xs)), min: Math.round(Math.min(...xs)), max: Math.round(Math.max(...xs)), runs: xs.map((x) => Math.round(x)) });
export const round = (x, d = 2) => Number(x.toFixed(d));
export const load1 = () => round(loadavg()[0]);

/** What this machine is and what ran on it. */
export async function machineInfo() {
  const out = async (cmd, argv) => (await run(cmd, argv)).stdout.trim();
  const composeLine = await out('docker-compose', ['version', '--short']).catch(() => '');
  return {
    date: new Date().toISOString(),
    machine: { nproc: availableParallelism(), memGiB: round(totalmem() / 2 ** 30, 1), kernel: release(), os: osName(), loadAvg: loadavg().map((x) => round(x)) },
    versions: {
      node: process.version,
      docker: await out('docker', ['version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})']),
      dockerCompose: composeLine || undefined,
      decnet: VERSION,
    },
  };
}

function osName() {
  if (!existsSync('/etc/os-release')) return undefined;
  return /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
}

/** MemAvailable of the host, bytes. */
export const memAvailable = () => Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))[1]) * 1024;

/** A lab fleet with deckies `<prefix>-NNN` (explicit IPs from .10 on, so a larger manifest keeps them). */
export function fleetManifest({ fleet, subnet, gateway, ipBase, count, services, prefix = fleet }) {
  const [a, b, c, d] = ipBase.split('.').map(Number);
  const ip = (i) => {
    const n = ((a * 256 + b) * 256 + c) * 256 + d + i;
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  };
  return [
    `apiVersion: decnet.io/v1alpha1\nkind: Fleet\nmetadata: { name: ${fleet} }\nspec:\n  network: { subnet: ${subnet}, gateway: ${gateway} }\n  lab: true\n`,
    ...Array.from({ length: count }, (_, i) => `apiVersion: decnet.io/v1alpha1\nkind: Decky\nmetadata: { name: ${deckyName(prefix, i)} }\nspec: { fleet: ${fleet}, ip: ${ip(i)}, services: [${services.join(', ')}], distro: debian, nmapOS: linux }\n`),
  ].join('---\n');
}
export const deckyName = (prefix, i) => `${prefix}-${String(i + 1).padStart(3, '0')}`;

/** The plan decnet would run for `manifest` on an empty host (what the floor and compose replay). */
export function emptyHostPlan(manifest, hostId, baseImage) {
  const parsed = parseManifests([{ file: 'bench.yaml', text: manifest }]);
  if (parsed.issues.length > 0) throw new Error(JSON.stringify(parsed.issues.slice(0, 3)));
  const { resolution, issues } = resolveManifests(parsed.manifests, { version: VERSION, baseImage });
  if (issues.length > 0) throw new Error(JSON.stringify(issues.slice(0, 3)));
  return plan({ hostId, containers: [], networks: [], labs: [] }, resolution, { hostId });
}

/** Container ops of a plan grouped by decky (base first, then its services, in plan order). */
export function opsByDecky(p) {
  const byDecky = new Map();
  for (const op of p.ops) if (op.op === 'create-container') byDecky.set(op.decky, [...(byDecky.get(op.decky) ?? []), op]);
  return byDecky;
}

/** Writes the config files and quarantine dirs the plan's service containers mount (before timing). */
export async function prepareFiles(p, stateDir) {
  for (const op of p.ops) if (op.op === 'create-container' && op.role === 'service') await prepareServiceFiles(stateDir, op);
}

/** Engine floor: creates the fleet network (unless it exists) and create+starts the containers of `deckies`. */
export async function floorUp(p, { stateDir, parent, par, deckies, createNetwork = true }) {
  if (createNetwork) {
    const net = p.ops.find((o) => o.op === 'create-network');
    await docker.createNetwork(networkCreateBody(net, parent));
  }
  const groups = [...opsByDecky(p).entries()].filter(([d]) => !deckies || deckies.includes(d)).map(([, ops]) => ops);
  await pool(groups, par, async (ops) => {
    for (const op of ops) {
      const c = await docker.createContainer(containerCreateBody(op, { stateDir }));
      await c.start();
    }
  });
}

/** Force-removes every container of a host id (services before bases), with parallelism `par`. */
export async function removeHostContainers(hostId, par = 8) {
  const list = await docker.listContainers({ all: true, filters: { label: [`com.decnet.host=${hostId}`] } });
  const services = list.filter((c) => c.Labels['com.decnet.role'] === 'service');
  const others = list.filter((c) => c.Labels['com.decnet.role'] !== 'service');
  const rm = (c) => docker.getContainer(c.Id).remove({ force: true }).catch((e) => (e.statusCode === 404 ? undefined : Promise.reject(e)));
  await pool(services, par, rm);
  await pool(others, par, rm);
  return list.length;
}

/** Removes everything a bench run could have left for `hostId` and `fleets`: containers, networks, labs. */
export async function cleanupHost(hostId, fleets) {
  await removeHostContainers(hostId);
  for (const fleet of fleets) {
    try {
      await removeNetwork(`decnet-${fleet}`);
    } finally {
      await removeLab(fleet); // also when the engine refuses to drop the network
    }
  }
}

/**
 * Removes a network; gone is fine. A loaded engine may still hold endpoints of containers
 * it has just removed ("has active endpoints"), so that answer is retried for up to 60 s.
 */
export async function removeNetwork(name) {
  for (let i = 0; ; i++) {
    try {
      await docker.getNetwork(name).remove();
      return;
    } catch (e) {
      if (e.statusCode === 404) return;
      if (!/active endpoints/.test(e.message) || i >= 60) throw e;
      await sleep(1000);
    }
  }
}

/** Ids of a host's containers by name. */
export async function containerIds(hostId) {
  const list = await docker.listContainers({ all: true, filters: { label: [`com.decnet.host=${hostId}`] } });
  return new Map(list.map((c) => [c.Names[0].replace(/^\//, ''), c.Id]));
}

/** Memory of a container (cgroup v1 or v2): anonymous rss of its cgroup, bytes. */
export function cgroupRss(id, pid) {
  const v1 = `/sys/fs/cgroup/memory/docker/${id}/memory.stat`;
  if (existsSync(v1)) return Number(/^total_rss (\d+)$/m.exec(readFileSync(v1, 'utf8'))?.[1]);
  const rel = /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
  const stat = rel && `/sys/fs/cgroup${rel}/memory.stat`;
  return stat && existsSync(stat) ? Number(/^anon (\d+)$/m.exec(readFileSync(stat, 'utf8'))?.[1]) : undefined;
}

/** CPU seconds a container has used (cgroup v1 cpuacct or v2 cpu.stat). */
export function cgroupCpuSeconds(id, pid) {
  const v1 = `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`;
  if (existsSync(v1)) return Number(readFileSync(v1, 'utf8')) / 1e9;
  const rel = /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
  const stat = rel && `/sys/fs/cgroup${rel}/cpu.stat`;
  return stat && existsSync(stat) ? Number(/^usage_usec (\d+)$/m.exec(readFileSync(stat, 'utf8'))?.[1]) / 1e6 : undefined;
}

/** utime+stime of a process, seconds; VmRSS, MiB. */
export const procCpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
export const procRssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
