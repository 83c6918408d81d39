import { Command, Flags } from '@oclif/core';
import { fail } from '../../lib/errors.js';
import { buildImages, honeypotBase } from '../../lib/images.js';

export default class ImagesBuild extends Command {
  static override description = 'Build the decnet honeypot image (decnet/honeypot:<version>) locally from the Dockerfile in the repo; never pulls';
  static override examples = ['decnetctl images build', 'decnetctl images build --base-image decnet/runtime-base:0.1.0'];
  static override flags = {
    'base-image': Flags.string({ description: 'local image with node on PATH (default node:20-bookworm-slim)', env: 'DECNET_IMAGE_BASE' }),
    tag: Flags.string({ description: 'image tag (default decnet/honeypot:<version>)' }),
    quiet: Flags.boolean({ char: 'q', description: 'print only the tag' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImagesBuild);
    try {
      if (!flags.quiet) process.stderr.write(`building from ${honeypotBase(flags['base-image'])}\n`);
      const { tag, id } = await buildImages({ baseImage: flags['base-image'], tag: flags.tag, onProgress: flags.quiet ? undefined : (l) => process.stderr.write(l.endsWith('\n') ? l : `${l}\n`) });
      process.stdout.write(flags.quiet ? `${tag}\n` : `built ${tag} (${id.replace(/^sha256:/, '').slice(0, 12)})\n`);
    } catch (err) {
      fail(this, err);
    }
  }
}
