import { Command, Flags } from '@oclif/core';
import { Controller, createLogger, type ReconcileResult } from '@decnet/controller';
import { opTarget } from '@decnet/engine';
import { hostContext, hostFlags } from '../lib/context.js';
import { fail } from '../lib/errors.js';
import { outputFlag, renderJson } from '../lib/output.js';

const BAD = new Set<ReconcileResult['result']>(['failed', 'unknown', 'invalid', 'locked', 'backoff']);

export default class Reconcile extends Command {
  static override description = 'One full reconcile pass over every decky of this host (what the controller does), then exit; non-zero if anything failed';
  static override examples = ['decnetctl reconcile --once', 'decnetctl reconcile --once -o json'];
  static override flags = {
    ...hostFlags,
    once: Flags.boolean({ description: 'one pass, then exit (the only mode; the daemon is `decnetctl controller`)', required: true }),
    output: outputFlag(['table', 'json'], 'table'),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Reconcile);
    try {
      const { hostId, engine } = await hostContext(flags);
      const logger = createLogger({ level: process.env['DECNET_LOG_LEVEL'] ?? 'warn' });
      const controller = new Controller({ engine, hostId, logger, watchEvents: false, persistStatus: false });
      const results = await controller.reconcileAll();
      if (flags.output === 'json') {
        process.stdout.write(renderJson(results.map((r) => ({ decky: r.decky, result: r.result, phase: r.status?.phase, ops: r.ops.map((o) => ({ op: o.op, target: opTarget(o), cause: o.cause })), error: r.error }))));
      } else {
        for (const r of results) {
          const what = r.ops.length ? `: ${r.ops.map((o) => `${o.op} ${opTarget(o)} (${o.cause})`).join(', ')}` : '';
          process.stdout.write(`${r.decky}\t${r.result}\t${r.status?.phase ?? '-'}${what}${r.error ? `\t${r.error.message}` : ''}\n`);
        }
        if (results.length === 0) process.stdout.write(`no deckies on host ${hostId}\n`);
      }
      if (results.some((r) => BAD.has(r.result))) this.exit(1);
    } catch (err) {
      fail(this, err);
    }
  }
}
