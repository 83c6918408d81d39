import { Command, Flags } from '@oclif/core';
import { formatIssue, resolveManifests } from '@decnet/api';
import { fail } from '../lib/errors.js';
import { loadManifests } from '../lib/manifests.js';
import { outputFlag, renderJson } from '../lib/output.js';
import { DECNET_VERSION } from '../lib/version.js';

export default class Validate extends Command {
  static override description = 'Validate manifests offline (schema, cross-document rules, resolution). Exit 0 valid, 1 invalid';
  static override examples = ['decnetctl validate -f examples/'];
  static override flags = {
    file: Flags.string({ char: 'f', description: 'manifest file or directory (repeatable)', required: true, multiple: true }),
    output: outputFlag(['table', 'json'], 'table'),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Validate);
    try {
      const parsed = await loadManifests(flags.file);
      const resolved = parsed.issues.length === 0 ? resolveManifests(parsed.manifests, { version: DECNET_VERSION }) : undefined;
      const issues = [...parsed.issues, ...(resolved?.issues ?? [])];
      const warnings = resolved?.warnings ?? [];
      if (flags.output === 'json') {
        process.stdout.write(renderJson({ valid: issues.length === 0, issues, warnings, deckies: resolved?.resolution.deckies.length ?? 0 }));
        if (issues.length > 0) return this.exit(1);
        return;
      }
      for (const w of warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
      if (issues.length === 0) {
        const r = resolved!.resolution;
        process.stdout.write(`valid: ${parsed.manifests.length} document(s), ${r.fleets.length} fleet(s), ${r.deckies.length} decky(s)\n`);
      } else {
        for (const i of issues) process.stderr.write(`${formatIssue(i)}\n`);
        process.stderr.write(`invalid: ${issues.length} problem(s)\n`);
      }
      if (issues.length > 0) return this.exit(1);
    } catch (err) {
      fail(this, err);
    }
  }
}
