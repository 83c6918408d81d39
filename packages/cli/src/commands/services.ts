import { Command } from '@oclif/core';
import { SERVICE_CATALOG, SERVICE_NAMES } from '@decnet/api';
import { outputFlag, render } from '../lib/output.js';

export default class Services extends Command {
  static override description = 'List the honeypot service catalogue: ports and persona config keys';
  static override flags = { output: outputFlag(['table', 'wide', 'json', 'yaml', 'name']) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Services);
    const rows = SERVICE_NAMES.map((n) => SERVICE_CATALOG[n]!);
    process.stdout.write(
      render(flags.output, rows, [
        { header: 'name', get: (s) => s.name },
        { header: 'ports', get: (s) => s.ports.map((p) => `${p.port}/${p.proto}`).join(',') },
        { header: 'config', get: (s) => Object.entries(s.config).map(([k, f]) => `${k}:${f.type}${f.values ? `(${f.values.join('|')})` : ''}`).join(' ') || '-' },
        { header: 'description', get: (s) => s.description, wide: true },
      ]),
    );
  }
}
