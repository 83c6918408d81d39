import { Args, Command, Flags } from '@oclif/core';
import { formatPlan, formatSummary, groupObserved, resolveManifests } from '@decnet/api';
import { withHostLock } from '@decnet/engine';
import { InvalidSubmissionError, knownState, prepareDelete } from '../lib/apply.js';
import { hostContext, hostFlags } from '../lib/context.js';
import { fail } from '../lib/errors.js';
import { loadManifests } from '../lib/manifests.js';
import { outputFlag, renderJson } from '../lib/output.js';
import { progressReporter } from '../lib/progress.js';
import { failureReport, runPlan } from '../lib/run-plan.js';
import { DECNET_VERSION } from '../lib/version.js';
import { deleteHosts, registryFlags } from '../lib/registry-apply.js';

export default class Delete extends Command {
  static override description = 'Delete deckies (base and service containers), whole fleets (plus network and lab plumbing), or what a manifest names';
  static override examples = ['decnetctl delete decky web-01 web-02', 'decnetctl delete fleet lab', 'decnetctl delete -f examples/lab-single.yaml', 'decnetctl delete host worker-b --registry redis://10.0.0.5:6379'];
  static override strict = false;
  static override args = {
    kind: Args.string({ description: 'decky | fleet | host (omit with -f; host needs --registry)', options: ['decky', 'deckies', 'fleet', 'fleets', 'host'] }),
  };
  static override flags = {
    ...hostFlags,
    file: Flags.string({ char: 'f', description: 'delete the fleets and deckies these manifests name', multiple: true }),
    'dry-run': Flags.boolean({ description: 'print the plan and change nothing' }),
    force: Flags.boolean({ description: 'also remove deckies whose labels are invalid (altered, truncated or duplicated containers)' }),
    parallelism: Flags.integer({ default: 8, min: 1, max: 64 }),
    output: outputFlag(['table', 'json'], 'table'),
    ...registryFlags,
  };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(Delete);
    try {
      const names = (argv as string[]).slice(args.kind ? 1 : 0);
      if (args.kind === 'host') return void process.stdout.write(await deleteHosts(names, flags));
      const { hostId, engine } = await hostContext(flags);
      const target: { deckies: string[]; fleets: string[] } = { deckies: [], fleets: [] };
      if (flags.file) {
        const parsed = await loadManifests(flags.file);
        if (parsed.issues.length > 0) throw new InvalidSubmissionError(parsed.issues);
        const known = knownState(groupObserved(await engine.observe(hostId)));
        const { resolution, issues } = resolveManifests(parsed.manifests, { version: DECNET_VERSION, knownFleets: known.fleets, observedDeckies: known.deckies });
        if (issues.length > 0) throw new InvalidSubmissionError(issues);
        target.fleets = resolution.fleets.map((f) => f.name);
        target.deckies = resolution.deckies.filter((d) => !target.fleets.includes(d.fleet) && known.deckies.some((k) => k.name === d.name)).map((d) => d.name);
      } else if (args.kind?.startsWith('fleet')) target.fleets = names;
      else if (args.kind?.startsWith('deck')) target.deckies = names;
      if (target.deckies.length + target.fleets.length === 0) throw new Error('nothing to delete: name deckies or fleets, or pass -f FILE');
      const result = await withHostLock(
        async () => {
          const p = await prepareDelete(engine, hostId, target, { force: flags.force });
          if (flags['dry-run'] || p.plan.conflicts.length > 0) return { p, summary: undefined };
          const mode = flags.output === 'json' ? 'quiet' : process.stderr.isTTY ? 'tty' : 'lines';
          return { p, summary: await runPlan(engine, p.plan, { parallelism: flags.parallelism, progress: progressReporter(p.plan, mode) }) };
        },
        { stateDir: engine.stateDir },
      );
      if (!result.summary) {
        process.stdout.write(formatPlan(result.p.plan));
        return this.exit(result.p.plan.conflicts.length > 0 ? 1 : 0);
      }
      const s = result.summary;
      process.stdout.write(flags.output === 'json' ? renderJson({ ok: s.ok, summary: s }) : `${formatSummary(result.p.plan)} (${s.writes} engine writes)\n`);
      if (!s.ok) {
        process.stderr.write(`${failureReport(s)}\n`);
        return this.exit(1);
      }
    } catch (err) {
      fail(this, err);
    }
  }
}
