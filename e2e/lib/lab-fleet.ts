/**
 * One lab fleet per e2e file, applied once: `up` checks the build, the stock clients and the
 * local image, applies the manifest and waits until every service container has announced
 * service_start (Running is not listening yet); `down` deletes the fleet and fails loudly if
 * anything of it is left.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, containers, docker, run, until, writeManifests, type RunResult } from './cli.js';

type Ctl = (args: string[], timeoutMs?: number) => Promise<RunResult>;

export function labFleet(ctl: Ctl, fleet: string, manifest: string, opts: { clients: string[]; image: string; services: number; startTimeoutMs?: number }) {
  return {
    async up(): Promise<void> {
      if (!existsSync(join(ROOT, 'packages/cli/dist'))) throw new Error(`${CLI} needs a build first: npx turbo run build`);
      const missing = [];
      for (const c of opts.clients) if ((await run('sh', ['-c', `command -v ${c}`])).code !== 0) missing.push(c);
      if (missing.length > 0) throw new Error(`missing stock clients ${missing.join(', ')}: run bash scripts/test-deps.sh`);
      if ((await run('docker', ['image', 'inspect', opts.image])).code !== 0) {
        const b = await run('bash', [join(ROOT, 'scripts/build-runtime-base.sh'), opts.image], { timeoutMs: 600_000 });
        if (b.code !== 0) throw new Error(`cannot build ${opts.image}: ${b.stderr}`);
      }
      await ctl(['delete', 'fleet', fleet]); // leftovers of an interrupted run
      const r = await ctl(['apply', '-f', writeManifests({ 'fleet.yaml': manifest }), '-o', 'json'], 600_000);
      if (r.code !== 0 || (JSON.parse(r.stdout) as { ok?: boolean }).ok !== true) throw new Error(`apply failed (${r.code}): ${r.stdout}\n${r.stderr}`);
      const services = (await containers(`com.decnet.fleet=${fleet}`)).filter((c) => c.labels['com.decnet.role'] === 'service');
      if (services.length !== opts.services) throw new Error(`expected ${opts.services} service containers, found ${services.map((c) => c.name).join(', ')}`);
      for (const c of services) await until(async () => (await docker('logs', c.name)).includes('"event":"service_start"'), opts.startTimeoutMs ?? 60_000);
    },
    async down(): Promise<void> {
      const r = await ctl(['delete', 'fleet', fleet]);
      const left = [(await docker('ps', '-aq', '--filter', `label=com.decnet.fleet=${fleet}`)).trim(), (await docker('volume', 'ls', '-q', '--filter', `label=com.decnet.fleet=${fleet}`)).trim()].filter(Boolean).join(' ');
      if (r.code !== 0 || left) throw new Error(`cleanup of ${fleet} failed: ${r.stderr} ${left}`);
    },
  };
}
