import { Args, Command, Flags } from '@oclif/core';
import { readFile } from 'node:fs/promises';
import { importIni } from '@decnet/api';
import { fail } from '../lib/errors.js';
import { outputFlag, renderJson, renderYamlDocs } from '../lib/output.js';

export default class ImportIni extends Command {
  static override description = "Convert the original DECNET's INI fleet file into decnet manifests (YAML or JSON on stdout)";
  static override examples = ['decnetctl import-ini decnet.ini > fleet.yaml', 'decnetctl import-ini decnet.ini --lab --fleet lab -o json'];
  static override args = { file: Args.string({ description: 'INI file', required: true }) };
  static override flags = {
    fleet: Flags.string({ description: 'name of the imported fleet', default: 'default' }),
    lab: Flags.boolean({ description: 'import as a lab fleet (isolated veth parent instead of the INI interface)' }),
    output: outputFlag(['yaml', 'json'], 'yaml'),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ImportIni);
    try {
      const text = await readFile(args.file, 'utf8');
      const { manifests, issues } = importIni(text, { file: args.file, fleetName: flags.fleet, lab: flags.lab });
      if (issues.length > 0) {
        for (const i of issues) process.stderr.write(`${i.file}${i.line ? `:${i.line}` : ''}: ${i.section ? `[${i.section}] ` : ''}${i.key ? `${i.key}: ` : ''}${i.message}\n`);
        process.stderr.write(`import failed: ${issues.length} problem(s)\n`);
        return this.exit(1);
      }
      process.stdout.write(flags.output === 'json' ? renderJson(manifests) : renderYamlDocs(manifests));
    } catch (err) {
      fail(this, err);
    }
  }
}
