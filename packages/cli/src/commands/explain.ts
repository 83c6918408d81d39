import { Args, Command, Flags } from '@oclif/core';
import { fail } from '../lib/errors.js';
import { explain, explanationJson, renderExplanation } from '../lib/explain.js';
import { outputFlag, renderJson } from '../lib/output.js';

export default class Explain extends Command {
  static override description = 'Document a manifest field (type, description, default, allowed values, child fields), like kubectl explain';
  static override examples = [
    'decnetctl explain fleet',
    'decnetctl explain fleet.spec.alerts',
    'decnetctl explain decky.spec.serviceConfig.smb',
    'decnetctl explain deckyset.spec.template --recursive',
    'decnetctl explain fleet.spec.network -o json',
  ];
  static override args = { path: Args.string({ description: 'RESOURCE[.FIELD...], e.g. fleet.spec.alerts', required: true }) };
  static override flags = {
    recursive: Flags.boolean({ description: 'print every field of the subtree', default: false }),
    output: outputFlag(['table', 'json'], 'table'),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Explain);
    try {
      const e = explain(args.path);
      process.stdout.write(flags.output === 'json' ? renderJson(explanationJson(e, flags.recursive)) : renderExplanation(e, flags.recursive));
    } catch (err) {
      fail(this, err, 2);
    }
  }
}
