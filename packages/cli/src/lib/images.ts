/**
 * Images a plan needs. decnet's own honeypot image is built locally when missing
 * (offline, from a local base image); any other missing image is a clear error
 * before anything is changed.
 */
import Docker from 'dockerode';
import { DecnetError } from '@decnet/api';
import type { Engine } from '@decnet/engine';
import { buildHoneypotImage, DEFAULT_BASE_IMAGE, honeypotImageTag } from '@decnet/honeypots';
import { DECNET_VERSION } from './version.js';

/** Base of the honeypot image: flag > $DECNET_IMAGE_BASE > node:20-bookworm-slim. */
export function honeypotBase(flag?: string): string {
  return flag ?? process.env['DECNET_IMAGE_BASE'] ?? DEFAULT_BASE_IMAGE;
}

export async function buildImages(opts: { baseImage?: string; tag?: string; onProgress?: (line: string) => void }): Promise<{ tag: string; id: string }> {
  const tag = opts.tag ?? honeypotImageTag(DECNET_VERSION);
  const id = await buildHoneypotImage(new Docker(), { baseImage: honeypotBase(opts.baseImage), tag, onProgress: opts.onProgress, labels: { 'org.opencontainers.image.version': DECNET_VERSION } });
  return { tag, id };
}

/** Make sure every image exists: build decnet's honeypot image when missing, refuse on others. */
export async function ensureImages(engine: Engine, images: readonly string[], opts: { imageBase?: string; log?: (msg: string) => void } = {}): Promise<string[]> {
  const built: string[] = [];
  const absent: string[] = [];
  const own = honeypotImageTag(DECNET_VERSION);
  for (const image of images) {
    if (await engine.imageExists(image)) continue;
    if (image === own) {
      opts.log?.(`building ${own} from ${honeypotBase(opts.imageBase)} ...`);
      await buildImages({ baseImage: opts.imageBase, tag: own });
      built.push(own);
    } else absent.push(image);
  }
  if (absent.length > 0) {
    throw new DecnetError(
      'ImageMissing',
      `image${absent.length > 1 ? 's' : ''} not present on this engine: ${absent.join(', ')}; nothing was changed`,
      'pull or load them first (docker pull IMAGE), or choose local images with --base-image / $DECNET_BASE_IMAGE or spec.baseImage',
    );
  }
  return built;
}
