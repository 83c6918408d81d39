/**
 * Images a plan needs. decnet's own honeypot image is built locally when missing
 * (offline, from a local base image). Other images follow the pull policy
 * (apply --pull / $DECNET_PULL): missing (default) pulls absent ones, always pulls
 * every one, never refuses on a missing one before anything is changed.
 */
import Docker from 'dockerode';
import { DecnetError, type Op, type Plan, type ResolvedDecky } from '@decnet/api';
import { authForImage, type Engine, type ExecutionSummary } from '@decnet/engine';
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

export const PULL_POLICIES = ['missing', 'always', 'never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export function pullPolicy(value: string | undefined): PullPolicy {
  const v = value ?? 'missing';
  if ((PULL_POLICIES as readonly string[]).includes(v)) return v as PullPolicy;
  throw new DecnetError('InvalidFlag', `--pull ${v}: expected one of ${PULL_POLICIES.join(', ')}`, 'set --pull or $DECNET_PULL to missing, always or never');
}

export interface ImageFailure {
  image: string;
  code: string;
  message: string;
  hint?: string;
}

export interface DroppedDecky {
  decky: string;
  image: string;
  message: string;
}

/**
 * Pure: the plan without the ops of every decky that needs one of the failed images
 * (a create-container of that image), and the deckies affected. All of a decky's ops
 * go (teardown of its old containers included), so a decky being recreated keeps
 * running as it was.
 */
export function dropDeckiesNeeding(plan: Plan, failed: ReadonlyMap<string, string>): { plan: Plan; dropped: DroppedDecky[] } {
  const hit = new Map<string, DroppedDecky>();
  for (const op of plan.ops) {
    if (op.op !== 'create-container' || hit.has(op.decky)) continue;
    const message = failed.get(op.container.image);
    if (message !== undefined) hit.set(op.decky, { decky: op.decky, image: op.container.image, message });
  }
  if (hit.size === 0) return { plan, dropped: [] };
  const keep = (op: Op) => !('decky' in op && op.decky && hit.has(op.decky));
  const generations = Object.fromEntries(Object.entries(plan.generations).filter(([d]) => !hit.has(d)));
  return { plan: { ...plan, ops: plan.ops.filter(keep), generations }, dropped: [...hit.values()].sort((a, b) => a.decky.localeCompare(b.decky)) };
}

type Out = { write(s: string): unknown; columns?: number };

/** Per-image status: one redrawn line per image on a terminal, plain lines otherwise. */
export function pullReporter(images: readonly string[], mode: 'tty' | 'lines' | 'quiet', out: Out = process.stderr) {
  const state = new Map(images.map((i) => [i, 'waiting']));
  let drawn = 0;
  const cols = (out.columns ?? 100) - 1;
  const redraw = () => {
    let s = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const [i, st] of state) s += `\r\x1b[2K${`pulling ${i} ... ${st}`.slice(0, cols)}\n`;
    drawn = state.size;
    out.write(s);
  };
  return {
    start(image: string) {
      state.set(image, '');
      if (mode === 'tty') redraw();
      else if (mode === 'lines') out.write(`pulling ${image} ...\n`);
    },
    progress(image: string, line: string) {
      state.set(image, line);
      if (mode === 'tty') redraw();
    },
    done(image: string, digest?: string) {
      const st = `done${digest ? ` (${digest})` : ''}`;
      state.set(image, st);
      if (mode === 'tty') redraw();
      else if (mode === 'lines') out.write(`pulling ${image} ... ${st}\n`);
    },
    failed(image: string, message: string) {
      state.set(image, `FAILED: ${message}`);
      if (mode === 'tty') redraw();
      else if (mode === 'lines') out.write(`pulling ${image} ... FAILED: ${message}\n`);
    },
  };
}

/** Run fn over items, at most `limit` at once. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export interface PullImagesResult {
  pulled: Array<{ image: string; digest?: string }>;
  failed: ImageFailure[];
}

/** Pull images (at most 4 at once) with credentials from Docker's config; failures are returned, not thrown (unless the engine is unreachable). */
export async function pullImages(engine: Engine, images: readonly string[], opts: { mode: 'tty' | 'lines' | 'quiet'; out?: Out; env?: NodeJS.ProcessEnv; parallel?: number }): Promise<PullImagesResult> {
  const out = opts.out ?? process.stderr;
  const rep = pullReporter(images, opts.mode, out);
  const res: PullImagesResult = { pulled: [], failed: [] };
  const hints = new Set<string>();
  await pool(images, opts.parallel ?? 4, async (image) => {
    const { auth, hint } = authForImage(image, opts.env);
    if (hint) hints.add(hint);
    rep.start(image);
    try {
      const r = await engine.pullImage(image, { ...(auth ? { auth } : {}), onProgress: (l) => rep.progress(image, l) });
      res.pulled.push({ image, ...(r.digest ? { digest: r.digest } : {}) });
      rep.done(image, r.digest);
    } catch (err) {
      if (err instanceof DecnetError && err.code === 'EngineUnavailable') throw err;
      const e = err instanceof DecnetError ? err : undefined;
      const message = err instanceof Error ? err.message : String(err);
      res.failed.push({ image, code: e?.code ?? 'PullFailed', message, ...(e?.hint ? { hint: e.hint } : {}) });
      rep.failed(image, message);
    }
  });
  if (opts.mode !== 'quiet') for (const h of hints) out.write(`hint: ${h}\n`);
  res.pulled.sort((a, b) => a.image.localeCompare(b.image));
  res.failed.sort((a, b) => a.image.localeCompare(b.image));
  return res;
}

export interface EnsureResult {
  built: string[];
  pulled: Array<{ image: string; digest?: string }>;
  failed: ImageFailure[];
}

/**
 * The pull policy over the images a plan needs: decnet's own image is built when
 * missing (never pulled); with `never` a missing image throws ImageMissing as before.
 */
export async function ensureImagesWithPolicy(
  engine: Engine,
  images: readonly string[],
  opts: { pull: PullPolicy; imageBase?: string; log?: (msg: string) => void; mode: 'tty' | 'lines' | 'quiet'; out?: Out },
): Promise<EnsureResult> {
  if (opts.pull === 'never') return { built: await ensureImages(engine, images, opts), pulled: [], failed: [] };
  const own = honeypotImageTag(DECNET_VERSION);
  const built: string[] = [];
  const toPull: string[] = [];
  for (const image of images) {
    if (image === own) {
      if (!(await engine.imageExists(image))) {
        opts.log?.(`building ${own} from ${honeypotBase(opts.imageBase)} ...`);
        await buildImages({ baseImage: opts.imageBase, tag: own });
        built.push(own);
      }
    } else if (opts.pull === 'always' || !(await engine.imageExists(image))) toPull.push(image);
  }
  const r = toPull.length > 0 ? await pullImages(engine, toPull, { mode: opts.mode, ...(opts.out ? { out: opts.out } : {}) }) : { pulled: [], failed: [] };
  return { built, ...r };
}

/** Record the deckies dropped for a failed pull as failed in an execution summary . */
export function markDropped(s: ExecutionSummary, dropped: readonly DroppedDecky[]): ExecutionSummary {
  if (dropped.length === 0) return s;
  const deckies = { ...s.deckies };
  for (const d of dropped) {
    deckies[d.decky] = { status: 'failed', done: 0, skipped: 0, failure: { index: -1, op: 'create-container', target: d.image, code: 'PullFailed', message: d.message } };
  }
  return { ...s, ok: false, deckies };
}

/** Pure: the images resolved deckies need (base images and service images), without decnet's own image, sorted. */
export function imagesOfResolution(deckies: readonly ResolvedDecky[], own: string): string[] {
  const set = new Set<string>();
  for (const d of deckies) {
    set.add(d.baseImage);
    for (const s of d.services) set.add(s.image);
  }
  set.delete(own);
  return [...set].sort();
}
