import { Args, Command, Flags } from '@oclif/core';
import { containerName, groupObserved, inspectLabels } from '@decnet/api';
import { hostContext, hostFlags } from '../lib/context.js';
import { fail } from '../lib/errors.js';
import { outputFlag, renderJson, renderYaml } from '../lib/output.js';

export default class LabelsCmd extends Command {
  static override description = 'Decode the com.decnet.* labels of a decky (its base container) or of any container/network name or id, and check them';
  static override examples = ['decnetctl labels web-01', 'decnetctl labels web-01-ssh --raw'];
  static override args = { name: Args.string({ description: 'decky, container name or id', required: true }) };
  static override flags = {
    ...hostFlags,
    raw: Flags.boolean({ description: 'print the raw labels' }),
    output: outputFlag(['table', 'json', 'yaml'], 'table'),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(LabelsCmd);
    try {
      const { hostId, engine } = await hostContext(flags);
      // a decky name means the container carrying its current spec: the highest generation
      // (after a mutation or a service-only change the base keeps an older one)
      const decky = groupObserved(await engine.observe(hostId)).deckies.find((d) => d.name === args.name);
      const current = decky?.containers
        .filter((c) => c.decoded)
        .sort((a, b) => (b.decoded!.generation ?? 0) - (a.decoded!.generation ?? 0) || (a.role === 'base' ? -1 : 1))[0];
      const target =
        (current && (await engine.inspectContainer(current.container.id))) ??
        (await engine.inspectContainer(containerName(args.name, 'base'))) ??
        (await engine.inspectNetwork(args.name));
      if (!target) throw new Error(`no container or network named ${args.name}`);
      const labels = target.labels;
      if (flags.raw) {
        const own = Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith('com.decnet.')).sort(([a], [b]) => (a < b ? -1 : 1)));
        return void process.stdout.write(flags.output === 'json' ? renderJson(own) : Object.entries(own).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
      }
      const report = inspectLabels(labels);
      const foreignHost = report.hostId !== undefined && report.hostId !== hostId;
      const data = { object: target.name, id: target.id, thisHost: hostId, foreignHost, ...report };
      // every output format exits non-zero when the labels are invalid
      if (flags.output === 'json' || flags.output === 'yaml') {
        process.stdout.write(flags.output === 'json' ? renderJson(data) : renderYaml(data));
        if (!report.result.ok) return this.exit(1);
        return;
      }
      const out: string[] = [];
      out.push(`Object:        ${target.name} (${target.id.slice(0, 12)})`);
      out.push(`Kind:          ${report.kind}${report.role ? ` (${report.role}${report.service ? ` ${report.service}` : ''})` : ''}`);
      out.push(`Managed:       ${report.managed}`);
      out.push(`Host:          ${report.hostId ?? '<none>'}${foreignHost ? `  (NOT this host ${hostId}: never touched from here)` : ''}`);
      out.push(`Fleet/decky:   ${report.fleet ?? '<none>'}/${report.decky ?? '-'}`);
      out.push(`Generation:    ${report.generation ?? '<none>'}`);
      out.push(`Hash:          stored ${report.storedHash ?? '<none>'}`);
      out.push(`               computed ${report.computedHash ?? '<none>'}`);
      out.push(`Spec:          ${report.specBytes ?? 0} bytes in ${report.chunks.declared ?? (report.chunks.present.length || 1)} chunk(s)${report.chunks.missing.length ? `, MISSING chunk(s) ${report.chunks.missing.join(', ')}` : ''}`);
      out.push('Checks:');
      for (const c of report.checks) out.push(`  [${c.ok ? 'ok' : 'FAIL'}] ${c.name}: ${c.detail}`);
      if (report.missingKeys.length) out.push(`Missing keys:  ${report.missingKeys.join(', ')}`);
      if (report.unknownKeys.length) out.push(`Unknown keys:  ${report.unknownKeys.join(', ')}`);
      out.push(report.result.ok ? 'Verdict:       labels are valid' : `Verdict:       INVALID (${report.result.error.code}): ${report.result.error.message}`);
      if (report.spec !== undefined) out.push('Spec:', renderYaml(report.spec).trimEnd().replace(/^/gm, '  '));
      process.stdout.write(out.join('\n') + '\n');
      if (!report.result.ok) return this.exit(1);
    } catch (err) {
      fail(this, err);
    }
  }
}
