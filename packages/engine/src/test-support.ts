/**
 * Helpers for the real-engine tests (not part of the build: see tsconfig exclude).
 * Everything they create is named t4* and labelled with a per-run host id.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { removeLab } from './lab.js';

export const run = promisify(execFile);
const SCRIPTS = fileURLToPath(new URL('../../../scripts/', import.meta.url));

/** The runtime base image (node + busybox; $DECNET_BASE_IMAGE or the default tag), built offline by our script when missing. */
export async function runtimeImage(): Promise<string> {
  const tag = process.env['DECNET_BASE_IMAGE'];
  const { stdout } = await run('bash', [`${SCRIPTS}build-runtime-base.sh`, ...(tag ? [tag] : [])], { encoding: 'utf8' });
  return stdout.trim().split('\n').pop() ?? '';
}

/** Removes every container and network labelled with hostId or named with prefix, and the labs. */
export async function cleanup(hostId: string, prefix: string, labs: string[]): Promise<void> {
  const docker = new Docker();
  const byLabel = await docker.listContainers({ all: true, filters: { label: [`com.decnet.host=${hostId}`] } });
  const byName = await docker.listContainers({ all: true, filters: { name: [`^/${prefix}`] } });
  // services first (they hold the base's namespace), then the rest
  const all = [...new Map([...byLabel, ...byName].map((c) => [c.Id, c])).values()].sort(
    (a, b) => Number(b.HostConfig?.NetworkMode?.startsWith('container:')) - Number(a.HostConfig?.NetworkMode?.startsWith('container:')),
  );
  for (const c of all) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
  const nets = await docker.listNetworks({ filters: { label: [`com.decnet.host=${hostId}`] } });
  const named = await docker.listNetworks({ filters: { name: [`decnet-${prefix}`] } });
  for (const n of [...nets, ...named]) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  const vols = (await docker.listVolumes({ filters: { label: [`com.decnet.host=${hostId}`] } })).Volumes ?? [];
  for (const v of vols) await docker.getVolume(v.Name).remove().catch(() => undefined);
  for (const f of labs) await removeLab(f).catch(() => undefined);
}

export async function poll<T>(fn: () => Promise<T | undefined>, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`poll timed out${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
