/**
 * Helpers shared by the honeypot benches: decnetctl and docker as child processes with the
 * local images, and the memory of a container (cgroup v1/v2 rss, VmRSS of its processes).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const pexec = promisify(execFile);
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = join(ROOT, 'packages/cli/bin/run.js');

export const env = () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  const base = process.env.DECNET_BASE_IMAGE ?? `decnet/runtime-base:${version}`;
  return { ...process.env, DECNET_HOST_ID: process.env.DECNET_HOST_ID ?? 'bench-honeypots', DECNET_BASE_IMAGE: base, DECNET_IMAGE_BASE: process.env.DECNET_IMAGE_BASE ?? base };
};

export function run(cmd, argv, opts = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, argv, { env: opts.env ?? env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}
export const ctl = (...argv) => run(process.execPath, [CLI, ...argv]);
export async function must(p, what) {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r;
}
export const docker = async (...argv) => (await pexec('docker', argv, { maxBuffer: 512 * 1024 * 1024 })).stdout;

/** Memory of a container: rss of its memory cgroup and the summed VmRSS of its processes (bytes). */
export function memory(id, pid) {
  const v1 = `/sys/fs/cgroup/memory/docker/${id}/memory.stat`;
  let cgroupRss;
  if (existsSync(v1)) cgroupRss = Number(/^total_rss (\d+)$/m.exec(readFileSync(v1, 'utf8'))?.[1]);
  else {
    const rel = /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
    const stat = rel && `/sys/fs/cgroup${rel}/memory.stat`;
    if (stat && existsSync(stat)) cgroupRss = Number(/^anon (\d+)$/m.exec(readFileSync(stat, 'utf8'))?.[1]);
  }
  let vmRss = 0;
  const procs = `/sys/fs/cgroup/memory/docker/${id}/cgroup.procs`;
  const pids = existsSync(procs) ? readFileSync(procs, 'utf8').split('\n').filter(Boolean) : [String(pid)];
  for (const p of pids) {
    try {
      vmRss += Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      /* process gone */
    }
  }
  return { cgroupRss, vmRss };
}

export const mib = (b) => (b === undefined || Number.isNaN(b) ? 'n/a' : `${(b / 1048576).toFixed(1)} MiB`);
