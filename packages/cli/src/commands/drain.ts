import { Args, Command, Flags } from '@oclif/core';
import { fail } from '../lib/errors.js';
import { connectRegistry, formatConflicts, registryFlags } from '../lib/registry-apply.js';
import { drainHost, formatDrain } from '../lib/registry-view.js';

export default class Drain extends Command {
  static override description = 'Move every decky of a registry host to other Ready hosts (each keeps its IP); nothing moves by itself';
  static override examples = ['decnetctl drain host worker-b --registry redis://10.0.0.5:6379', 'decnetctl drain host worker-b --dry-run'];
  static override args = {
    kind: Args.string({ description: 'host', required: true, options: ['host'] }),
    name: Args.string({ description: 'host id', required: true }),
  };
  static override flags = {
    ...registryFlags,
    'dry-run': Flags.boolean({ description: 'print the moves and change nothing' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Drain);
    try {
      const registry = await connectRegistry(flags);
      const o = await drainHost(registry, args.name, { dryRun: flags['dry-run'] }).finally(() => registry.close());
      process.stdout.write(formatDrain(args.name, o));
      if (o.result.conflicts.length > 0) {
        process.stderr.write(formatConflicts(o.result.conflicts));
        return this.exit(1);
      }
    } catch (err) {
      fail(this, err);
    }
  }
}
