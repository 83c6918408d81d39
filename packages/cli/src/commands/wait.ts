import { Args, Command, Flags } from '@oclif/core';
import { groupObserved } from '@decnet/api';
import { hostContext, hostFlags } from '../lib/context.js';
import { durationMs, fail } from '../lib/errors.js';
import { deckyViews, withControllerStatus } from '../lib/view.js';

export default class Wait extends Command {
  static override description = 'Wait until a condition of a decky holds (exit 0), or time out (exit 1 with its last status)';
  static override examples = ['decnetctl wait --for=condition=Ready decky/web-01', 'decnetctl wait --for=condition=Degraded=false decky/web-01 --timeout 5m'];
  static override args = { target: Args.string({ description: 'decky/NAME', required: true }) };
  static override flags = {
    ...hostFlags,
    for: Flags.string({ description: 'condition=Ready|Progressing|Degraded[=true|false] (default true)', required: true }),
    timeout: Flags.string({ description: 'how long to wait', default: '2m' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Wait);
    try {
      const m = /^condition=(Ready|Progressing|Degraded)(?:=(true|false|unknown))?$/i.exec(flags.for);
      if (!m) throw new Error(`--for ${JSON.stringify(flags.for)}: expected condition=Ready, condition=Progressing or condition=Degraded[=false]`);
      const type = m[1]!.charAt(0).toUpperCase() + m[1]!.slice(1).toLowerCase();
      const want = (m[2] ?? 'true').toLowerCase();
      const t = /^(?:decky|deckies)\/(.+)$/.exec(args.target);
      if (!t) throw new Error(`target ${JSON.stringify(args.target)}: expected decky/NAME`);
      const name = t[1]!;
      const deadline = Date.now() + durationMs(flags.timeout, '--timeout');
      const { hostId, engine } = await hostContext(flags);
      let last = 'not observed yet';
      for (;;) {
        try {
          const views = await withControllerStatus(deckyViews(groupObserved(await engine.observe(hostId))), engine.stateDir, hostId);
          const d = views.find((v) => v.name === name);
          const c = d?.status.conditions.find((x) => x.type === type);
          if (c && c.status.toLowerCase() === want) {
            process.stdout.write(`decky/${name} condition met: ${type}=${c.status} (${c.reason})\n`);
            return;
          }
          last = d ? `phase ${d.phase}, ${type}=${c?.status ?? '?'}: ${c?.reason ?? ''}: ${c?.message ?? d.status.message}` : `decky ${name} not found on host ${hostId}`;
        } catch (err) {
          last = (err as Error).message;
        }
        if (Date.now() >= deadline) {
          process.stderr.write(`timed out after ${flags.timeout} waiting for decky/${name} ${type}=${want}: ${last}\n`);
          return this.exit(1);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (err) {
      fail(this, err);
    }
  }
}
