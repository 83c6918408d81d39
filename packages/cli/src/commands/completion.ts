import { Args, Command } from '@oclif/core';
import { SHELLS, completionCommands, completionScript, type Shell } from '../lib/completion.js';

export default class Completion extends Command {
  static override description = 'Print a shell completion script (commands, flags, flag values, get deckies|fleets)';
  static override examples = [
    'decnetctl completion bash',
    'decnetctl completion zsh',
    'decnetctl completion fish',
  ];
  static override args = { shell: Args.string({ description: 'bash | zsh | fish', required: true, options: [...SHELLS] }) };

  async run(): Promise<void> {
    const { args } = await this.parse(Completion);
    process.stdout.write(completionScript(args.shell as Shell, completionCommands(this.config.commands)));
  }
}
