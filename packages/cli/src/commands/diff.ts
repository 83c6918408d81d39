import { Command, Flags } from '@oclif/core';
import { formatPlan } from '@decnet/api';
import { InvalidSubmissionError, prepare } from '../lib/apply.js';
import { hostContext, hostFlags } from '../lib/context.js';
import { fail } from '../lib/errors.js';
import { loadManifests } from '../lib/manifests.js';
import { outputFlag, renderJson } from '../lib/output.js';

export default class Diff extends Command {
  static override description = 'Print the plan `apply` would execute. Exit 0: no changes, 1: changes, >1: error';
  static override flags = {
    ...hostFlags,
    file: Flags.string({ char: 'f', description: 'manifest file or directory (repeatable)', required: true, multiple: true }),
    prune: Flags.boolean({ description: 'plan as `apply --prune` would' }),
    force: Flags.boolean({ description: 'plan as `apply --force` would' }),
    'base-image': Flags.string({ description: 'as for apply', env: 'DECNET_BASE_IMAGE' }),
    output: outputFlag(['table', 'json'], 'table'),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Diff);
    try {
      const parsed = await loadManifests(flags.file);
      if (parsed.issues.length > 0) throw new InvalidSubmissionError(parsed.issues);
      const { hostId, engine } = await hostContext(flags);
      const { plan } = await prepare(engine, parsed.manifests, { hostId, prune: flags.prune, force: flags.force, baseImage: flags['base-image'] });
      process.stdout.write(flags.output === 'json' ? renderJson({ ops: plan.ops, conflicts: plan.conflicts, generations: plan.generations }) : formatPlan(plan));
      if (plan.conflicts.length > 0) return this.exit(2);
      return this.exit(plan.ops.length === 0 ? 0 : 1);
    } catch (err) {
      fail(this, err, 2);
    }
  }
}
