import { Command, Flags } from '@oclif/core';
import { DecnetError, formatIssue, resolveManifests } from '@decnet/api';
import { honeypotImageTag } from '@decnet/honeypots';
import { hostContext, hostFlags } from '../../lib/context.js';
import { fail } from '../../lib/errors.js';
import { imagesOfResolution, pullImages } from '../../lib/images.js';
import { loadManifests } from '../../lib/manifests.js';
import { outputFlag, renderJson } from '../../lib/output.js';
import { DECNET_VERSION } from '../../lib/version.js';

export default class ImagesPull extends Command {
  static override description = 'Pull the images the given manifests need (decky base images and service images; decnet/honeypot is built, never pulled), with credentials from the docker config';
  static override examples = ['decnetctl images pull -f fleet.yaml', 'decnetctl images pull -f fleet/ --base-image registry.example:5000/base:1'];
  static override flags = {
    ...hostFlags,
    file: Flags.string({ char: 'f', description: 'manifest file or directory (repeatable, - for stdin)', required: true, multiple: true }),
    'base-image': Flags.string({ description: 'image of base containers for deckies without spec.baseImage', env: 'DECNET_BASE_IMAGE' }),
    missing: Flags.boolean({ description: 'pull only images not present on the engine' }),
    output: outputFlag(['table', 'json'], 'table'),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImagesPull);
    try {
      const parsed = await loadManifests(flags.file);
      const resolved = parsed.issues.length === 0 ? resolveManifests(parsed.manifests, { version: DECNET_VERSION, baseImage: flags['base-image'] }) : undefined;
      const issues = [...parsed.issues, ...(resolved?.issues ?? [])];
      if (issues.length > 0 || !resolved) {
        for (const i of issues) process.stderr.write(`${formatIssue(i)}\n`);
        throw new DecnetError('InvalidManifests', `${issues.length} problem(s) in the manifests; nothing was pulled`);
      }
      let images = imagesOfResolution(resolved.resolution.deckies, honeypotImageTag(DECNET_VERSION));
      const { engine } = await hostContext(flags);
      if (flags.missing) {
        const present = await Promise.all(images.map((i) => engine.imageExists(i)));
        images = images.filter((_, k) => !present[k]);
      }
      const json = flags.output === 'json';
      const r = await pullImages(engine, images, { mode: json ? 'quiet' : process.stderr.isTTY ? 'tty' : 'lines' });
      if (json) process.stdout.write(renderJson({ ok: r.failed.length === 0, ...r }));
      else process.stdout.write(`${r.pulled.length} image(s) pulled${r.failed.length > 0 ? `, ${r.failed.length} failed:\n${r.failed.map((f) => `  ${f.image}: ${f.message}${f.hint ? ` (${f.hint})` : ''}`).join('\n')}` : ''}\n`);
      if (r.failed.length > 0) return this.exit(1);
    } catch (err) {
      fail(this, err);
    }
  }
}
