/**
 * Building the honeypot image: the Dockerfile in docker/ plus the single
 * esbuild bundle dist/honeypot.mjs, sent to the engine as a build context.
 * Never pulls: the base image must already exist locally.
 */
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Dockerode from 'dockerode';
import { DecnetError } from '@decnet/api';

export const HONEYPOT_IMAGE_REPO = 'decnet/honeypot';
export const DEFAULT_BASE_IMAGE = 'node:20-bookworm-slim';

export function honeypotImageTag(version: string): string {
  return `${HONEYPOT_IMAGE_REPO}:${version}`;
}

/** Where the build inputs live when running from the built package (dist/image.js). */
export function defaultBundlePath(): string {
  return fileURLToPath(new URL('./honeypot.mjs', import.meta.url));
}
export function defaultDockerfilePath(): string {
  return fileURLToPath(new URL('../docker/Dockerfile', import.meta.url));
}

export interface BuildHoneypotOptions {
  /** local image with `node` on PATH, e.g. node:20-bookworm-slim */
  baseImage?: string;
  tag: string;
  /** one call per build output line */
  onProgress?: (line: string) => void;
  /** overrides for the build inputs (default: next to this module) */
  bundlePath?: string;
  dockerfilePath?: string;
  labels?: Record<string, string>;
}

interface BuildMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

async function requireFile(path: string, what: string, hint: string): Promise<void> {
  try {
    if (!(await stat(path)).isFile()) throw new Error('not a file');
  } catch {
    throw new DecnetError('E_HONEYPOT_BUILD_INPUT', `${what} not found at ${path}`, hint);
  }
}

/** Build the honeypot image; resolves with the image id. */
export async function buildHoneypotImage(docker: Dockerode, opts: BuildHoneypotOptions): Promise<string> {
  const baseImage = opts.baseImage ?? DEFAULT_BASE_IMAGE;
  const bundle = opts.bundlePath ?? defaultBundlePath();
  const dockerfile = opts.dockerfilePath ?? defaultDockerfilePath();
  await requireFile(bundle, 'honeypot bundle', 'run `npm run build` in packages/honeypots (it produces dist/honeypot.mjs)');
  await requireFile(dockerfile, 'honeypot Dockerfile', 'the @decnet/honeypots package is incomplete; reinstall it');
  try {
    await docker.getImage(baseImage).inspect();
  } catch (err) {
    const code = (err as { statusCode?: number }).statusCode;
    if (code === 404)
      throw new DecnetError('E_BASE_IMAGE_MISSING', `base image ${baseImage} is not present on this Docker engine`, `decnet never pulls: run \`docker pull ${baseImage}\` (or load it) first, or pass another local base image`);
    throw new DecnetError('E_DOCKER', `cannot inspect base image ${baseImage}: ${(err as Error).message}`, 'is the Docker engine reachable?');
  }
  const ctxDir = await mkdtemp(join(tmpdir(), 'decnet-honeypot-build-'));
  try {
    await copyFile(bundle, join(ctxDir, 'honeypot.mjs'));
    await copyFile(dockerfile, join(ctxDir, 'Dockerfile'));
    const stream = await docker.buildImage(
      { context: ctxDir, src: ['Dockerfile', 'honeypot.mjs'] },
      { t: opts.tag, buildargs: { BASE_IMAGE: baseImage }, rm: true, forcerm: true, labels: { 'org.opencontainers.image.title': 'decnet honeypot', ...opts.labels } } satisfies Dockerode.ImageBuildOptions,
    );
    const output = await new Promise<BuildMessage[]>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: Error | null, res: BuildMessage[]) => (err ? reject(err) : resolve(res)),
        (m: BuildMessage) => {
          const line = (m.stream ?? m.status ?? m.error ?? '').trimEnd();
          if (line) opts.onProgress?.(line);
        },
      );
    });
    const failed = output.find((m) => m.error || m.errorDetail);
    if (failed) throw new DecnetError('E_HONEYPOT_BUILD', `image build failed: ${failed.errorDetail?.message ?? failed.error}`, `check that ${baseImage} has node on PATH`);
    const info = await docker.getImage(opts.tag).inspect();
    return info.Id;
  } finally {
    await rm(ctxDir, { recursive: true, force: true });
  }
}
