/**
 * `get deckies -w`: after the first listing, print a row whenever a decky's phase,
 * generation or container states change (or it disappears). Polls the engine.
 */
import { groupObserved } from '@decnet/api';
import type { Engine } from '@decnet/engine';
import { renderJson } from './output.js';
import { deckyViews, type DeckyView } from './view.js';

const fingerprint = (d: DeckyView) => `${d.phase}|${d.generation}|${d.services.join(',')}|${d.containers.map((c) => `${c.name}:${c.state}`).join(',')}`;

export async function watchDeckies(
  engine: Engine,
  hostId: string,
  initial: DeckyView[],
  opts: { fleet?: string; name?: string; output: string; intervalMs?: number; signal?: AbortSignal },
): Promise<void> {
  const seen = new Map(initial.map((d) => [d.name, fingerprint(d)]));
  const line = (d: DeckyView | { name: string; fleet: string; phase: string }) =>
    opts.output === 'json' ? renderJson(d).replace(/\n\s*/g, ' ').trim() + '\n' : `${d.name}\t${d.fleet}\t${d.phase}\t${'ip' in d ? (d.ip ?? '') : ''}\t${'services' in d ? d.services.join(',') : ''}\n`;
  while (!opts.signal?.aborted) {
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
    let views: DeckyView[];
    try {
      views = deckyViews(groupObserved(await engine.observe(hostId))).filter((d) => (!opts.name || d.name === opts.name) && (!opts.fleet || d.fleet === opts.fleet));
    } catch (err) {
      process.stderr.write(`watch: ${(err as Error).message} (state unknown, retrying)\n`);
      continue;
    }
    for (const d of views) {
      const fp = fingerprint(d);
      if (seen.get(d.name) !== fp) {
        seen.set(d.name, fp);
        process.stdout.write(line(d));
      }
    }
    for (const name of [...seen.keys()]) {
      if (!views.some((d) => d.name === name)) {
        seen.delete(name);
        process.stdout.write(line({ name, fleet: '', phase: 'Deleted' }));
      }
    }
  }
}
