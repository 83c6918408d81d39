import { Args, Command } from '@oclif/core';
import { groupObserved } from '@decnet/api';
import { hostContext, hostFlags } from '../lib/context.js';
import { fail } from '../lib/errors.js';
import { outputFlag, renderJson, renderTable, renderYaml } from '../lib/output.js';
import { age, deckyViews, withControllerStatus } from '../lib/view.js';

export default class Describe extends Command {
  static override description = 'Show a decky in detail: resolved spec, containers with state, IP, MAC, sysctls, conditions, last errors';
  static override args = {
    kind: Args.string({ description: 'decky', required: true, options: ['decky'] }),
    name: Args.string({ description: 'decky name', required: true }),
  };
  static override flags = { ...hostFlags, output: outputFlag(['table', 'json', 'yaml'], 'table') };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Describe);
    try {
      const { hostId, engine } = await hostContext(flags);
      const d = (await withControllerStatus(deckyViews(groupObserved(await engine.observe(hostId))), engine.stateDir, hostId)).find((v) => v.name === args.name);
      if (!d) throw new Error(`decky ${args.name} not found on host ${hostId}`);
      // the list call has no start times or restart counts: inspect this decky's containers
      for (const c of d.containers) {
        const full = await engine.inspectContainer(c.id);
        if (full) Object.assign(c, { startedAt: full.startedAt, restartCount: full.restartCount, exitCode: full.exitCode });
      }
      if (flags.output === 'json') return void process.stdout.write(renderJson(d));
      if (flags.output === 'yaml') return void process.stdout.write(renderYaml(d));
      const s = d.spec;
      const out: string[] = [];
      const kv = (k: string, v: unknown) => out.push(`${`${k}:`.padEnd(16)}${v ?? '<none>'}`);
      kv('Name', d.name);
      kv('Fleet', d.fleet);
      kv('Host', d.host);
      kv('Phase', `${d.phase}${d.statusSource === 'controller' ? ' (from the controller)' : ''}`);
      kv('IP', d.ip);
      kv('MAC', d.mac);
      kv('Hostname', d.hostname);
      kv('Distro', `${d.distro ?? '<none>'} (${s?.baseImage ?? '?'})`);
      kv('Archetype', d.archetype);
      kv('OS profile', d.nmapOS);
      kv('Generation', d.generation);
      kv('Mutate every', s?.mutateInterval !== undefined ? `${s.mutateInterval}s` : undefined);
      if (d.mutation) kv('Last mutation', `${d.mutation.lastMutated} (previous services: ${d.mutation.previousServices.join(', ')})`);
      out.push('Sysctls:');
      for (const [k, v] of Object.entries(s?.sysctls ?? {})) out.push(`  ${k} = ${v}`);
      out.push('Services:');
      for (const svc of s?.services ?? []) {
        const cfg = Object.entries(svc.config).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
        const secrets = svc.secretKeys.map((k) => `${k}=<secret>`);
        out.push(`  ${svc.name}  ports ${svc.ports.map((p) => `${p.port}/${p.proto}`).join(',')}  image ${svc.image}${cfg.length + secrets.length ? `\n    config: ${[...cfg, ...secrets].join(' ')}` : ''}`);
      }
      out.push('Containers:');
      out.push(
        renderTable(d.containers, [
          { header: 'name', get: (c) => c.name },
          { header: 'role', get: (c) => c.service ?? c.role },
          { header: 'state', get: (c) => `${c.state}${c.exitCode ? ` (exit ${c.exitCode})` : ''}` },
          { header: 'id', get: (c) => c.id },
          { header: 'gen', get: (c) => c.generation },
          { header: 'restarts', get: (c) => c.restartCount ?? 0 },
          { header: 'started', get: (c) => age(c.startedAt) },
        ])
          .trimEnd()
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n'),
      );
      out.push('Conditions:');
      for (const c of d.status.conditions) out.push(`  ${c.type.padEnd(12)} ${c.status.padEnd(8)} ${c.reason}: ${c.message}`);
      out.push(`Errors:${d.errors.length === 0 ? ' <none>' : ''}`);
      for (const e of d.errors) out.push(`  ${e}`);
      process.stdout.write(out.join('\n') + '\n');
    } catch (err) {
      fail(this, err);
    }
  }
}
