import { Args, Command } from '@oclif/core';
import { labExec } from '@decnet/engine';
import { fail } from '../../lib/errors.js';

export default class LabExec extends Command {
  static override description = "Run a command inside a lab fleet's attacker network namespace; exits with the command's exit code";
  static override examples = ['decnetctl lab exec lab -- curl -sI http://10.213.0.10/', 'decnetctl lab exec lab -- ping -c1 10.213.0.10'];
  static override strict = false;
  static override args = { fleet: Args.string({ description: 'lab fleet name', required: true }) };

  async run(): Promise<void> {
    const { args } = await this.parse(LabExec);
    try {
      // oclif's argv sorts tokens by their first occurrence, so repeated tokens
      // (`ssh -o A -o B`) come back reordered: take the raw words after `--`
      // (or after the fleet name) verbatim.
      const dd = this.argv.indexOf('--');
      const cmd = this.argv.slice((dd >= 0 ? dd : this.argv.indexOf(args.fleet)) + 1);
      if (cmd.length === 0) throw new Error('usage: decnetctl lab exec FLEET -- CMD [ARGS...]');
      const code = await labExec(args.fleet, cmd);
      if (code !== 0) this.exit(code);
    } catch (err) {
      fail(this, err);
    }
  }
}
