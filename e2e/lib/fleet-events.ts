/**
 * A fleet's attacker events as a user reads them (`decnetctl events --fleet F -o json`),
 * and a poll for one that matches: every field of `want` equal, and `pred` true.
 */
import { until, type RunResult } from './cli.js';

export type Ev = Record<string, unknown> & { decky: string; service: string; event: string };

export function fleetEvents(ctl: (args: string[]) => Promise<RunResult>, fleet: string) {
  async function events(): Promise<Ev[]> {
    const r = await ctl(['events', '--fleet', fleet, '-o', 'json']);
    if (r.code !== 0) throw new Error(`events failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Ev[];
  }
  async function expectEvent(want: Record<string, unknown>, pred: (e: Ev) => boolean = () => true): Promise<Ev> {
    let seen: Ev[] = [];
    try {
      return await until(async () => {
        seen = await events();
        return seen.find((e) => Object.entries(want).every(([k, v]) => JSON.stringify(e[k]) === JSON.stringify(v)) && pred(e));
      }, 20_000, 500);
    } catch {
      const near = seen.filter((e) => e.decky === want['decky'] && e.service === want['service']).slice(-15);
      throw new Error(`no event like ${JSON.stringify(want)}; events of that service:\n${near.map((e) => JSON.stringify(e)).join('\n')}`);
    }
  }
  return { events, expectEvent };
}
