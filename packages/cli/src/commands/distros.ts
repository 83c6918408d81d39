import { Command } from '@oclif/core';
import { DISTROS, DISTRO_NAMES } from '@decnet/api';
import { outputFlag, render } from '../lib/output.js';

export default class Distros extends Command {
  static override description = 'List distros: slug, default base image and hostname style';
  static override flags = { output: outputFlag(['table', 'json', 'yaml', 'name']) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Distros);
    const rows = DISTRO_NAMES.map((n) => DISTROS[n]!);
    process.stdout.write(
      render(flags.output, rows, [
        { header: 'name', get: (d) => d.slug },
        { header: 'image', get: (d) => d.image },
        { header: 'hostname-style', get: (d) => d.family },
      ]),
    );
  }
}
