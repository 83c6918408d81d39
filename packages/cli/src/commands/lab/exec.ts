import { Args, Command } from '@oclif/core';
import { labExec } from '@decnet/engine';
import { fail } from '../../lib/errors.js';

export default class LabExec extends Command {
  static override description = "Run a command inside a lab fleet's attacker network namespace; exits with the command's exit code";
  static override examples = ['decnetctl lab exec lab -- curl -sI http://10.213.0.10/', 'decnetctl lab exec lab -- ping -c1 10.213.0.10'];
  static override strict = false;
  static override args = { fleet: Args.string({ description: 'lab fleet name', required: true }) };

  async run(): Promise<void> {
    const { args, argv } = await this.parse(LabExec);
    try {
      const cmd = (argv as string[]).slice(1);
      if (cmd.length === 0) throw new Error('usage: decnetctl lab exec FLEET -- CMD [ARGS...]');
      const code = await labExec(args.fleet, cmd);
      if (code !== 0) this.exit(code);
    } catch (err) {
      fail(this, err);
    }
  }
}
