import { Command } from '@oclif/core';
import { ARCHETYPES, ARCHETYPE_NAMES } from '@decnet/api';
import { outputFlag, render } from '../lib/output.js';

export default class Archetypes extends Command {
  static override description = 'List archetypes: one slug sets services, preferred distros and OS profile';
  static override flags = { output: outputFlag(['table', 'json', 'yaml', 'name']) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Archetypes);
    const rows = ARCHETYPE_NAMES.map((n) => ARCHETYPES[n]!);
    process.stdout.write(
      render(flags.output, rows, [
        { header: 'name', get: (a) => a.name },
        { header: 'services', get: (a) => a.services.join(',') },
        { header: 'distros', get: (a) => a.preferredDistros.join(',') },
        { header: 'nmap-os', get: (a) => a.nmapOS },
      ]),
    );
  }
}
