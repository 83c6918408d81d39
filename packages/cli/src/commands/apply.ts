import { Command, Flags } from '@oclif/core';
import { DecnetError, formatIssue, formatPlan, formatSummary } from '@decnet/api';
import { withHostLock } from '@decnet/engine';
import { InvalidSubmissionError, imagesNeeded, prepare } from '../lib/apply.js';
import { hostContext, hostFlags } from '../lib/context.js';
import { durationMs, fail } from '../lib/errors.js';
import { dropDeckiesNeeding, ensureImagesWithPolicy, markDropped, PULL_POLICIES, pullPolicy } from '../lib/images.js';
import { loadManifests } from '../lib/manifests.js';
import { outputFlag, renderJson } from '../lib/output.js';
import { progressReporter } from '../lib/progress.js';
import { failureReport, runPlan, waitReady } from '../lib/run-plan.js';
import { applyWithRegistry, registryFlags } from '../lib/registry-apply.js';

export default class Apply extends Command {
  static override description = 'Make the deckies of the given manifests real on this host (additive; --prune removes the rest of their fleets)';
  static override examples = ['decnetctl apply -f examples/lab-single.yaml', 'decnetctl apply -f fleet/ --prune', 'decnetctl apply -f fleet.yaml --dry-run', 'decnetctl apply -f fleet.yaml --registry redis://10.0.0.5:6379 --cluster lab'];
  static override flags = {
    ...hostFlags,
    file: Flags.string({ char: 'f', description: 'manifest file or directory (repeatable, - for stdin)', required: true, multiple: true }),
    prune: Flags.boolean({ description: 'remove deckies of the submitted fleets that are not in the submission' }),
    'dry-run': Flags.boolean({ description: 'print the plan and change nothing' }),
    force: Flags.boolean({ description: 'recreate a fleet whose network spec changed, with all its deckies' }),
    wait: Flags.boolean({ description: 'wait until every submitted decky is Running', default: true, allowNo: true }),
    timeout: Flags.string({ description: 'how long --wait waits', default: '5m' }),
    parallelism: Flags.integer({ description: 'engine operations in flight at once', default: 8, min: 1, max: 64 }),
    'base-image': Flags.string({ description: 'image of base containers for deckies without spec.baseImage', env: 'DECNET_BASE_IMAGE' }),
    'image-base': Flags.string({ description: 'base image for building decnet/honeypot when it is missing', env: 'DECNET_IMAGE_BASE' }),
    pull: Flags.string({ description: 'pull images from their registry: missing (absent ones), always, never (refuse on a missing image); decnet/honeypot is built, never pulled', options: [...PULL_POLICIES], default: 'missing', env: 'DECNET_PULL' }),
    output: outputFlag(['table', 'json'], 'table'),
    ...registryFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Apply);
    const json = flags.output === 'json';
    try {
      const parsed = await loadManifests(flags.file);
      if (parsed.issues.length > 0) throw new InvalidSubmissionError(parsed.issues);
      if (parsed.manifests.length === 0) throw new DecnetError('InvalidManifests', `no manifest in ${flags.file.join(', ')}: nothing to apply`, 'a manifest is a YAML document with apiVersion, kind, metadata and spec; an empty or null document is not one');
      const timeoutMs = durationMs(flags.timeout, '--timeout');
      if (flags.registry) {
        const code = await applyWithRegistry(parsed.manifests, { ...flags, prune: flags.prune, dryRun: flags['dry-run'], baseImage: flags['base-image'], timeoutMs, timeoutText: flags.timeout, json });
        if (code !== 0) return this.exit(code);
        return;
      }
      const { hostId, engine } = await hostContext(flags);
      const result = await withHostLock(
        async () => {
          const p = await prepare(engine, parsed.manifests, { hostId, prune: flags.prune, force: flags.force, baseImage: flags['base-image'] });
          if (p.plan.conflicts.length > 0 || flags['dry-run']) return { p, summary: undefined };
          const mode = json ? 'quiet' : process.stderr.isTTY ? 'tty' : 'lines';
          const imgs = await ensureImagesWithPolicy(engine, imagesNeeded(p.plan), { pull: pullPolicy(flags.pull), imageBase: flags['image-base'], log: (m) => process.stderr.write(`${m}\n`), mode });
          const failedImages = new Map(imgs.failed.map((f) => [f.image, f.message]));
          const kept = dropDeckiesNeeding(p.plan, failedImages);
          p.plan = kept.plan;
          const summary = markDropped(await runPlan(engine, kept.plan, { parallelism: flags.parallelism, secrets: p.secrets, alertSecrets: p.alertSecrets, progress: progressReporter(kept.plan, mode) }), kept.dropped);
          if (!Object.values(summary.deckies).some((r) => r.failure?.code === 'StaleTask')) return { p, summary };
          // containers left half-started by an engine crash were removed: plan and run once more
          const again = await prepare(engine, parsed.manifests, { hostId, prune: flags.prune, force: flags.force, baseImage: flags['base-image'] });
          if (again.plan.conflicts.length > 0) return { p, summary };
          const keptAgain = dropDeckiesNeeding(again.plan, failedImages);
          const retry = markDropped(await runPlan(engine, keptAgain.plan, { parallelism: flags.parallelism, secrets: again.secrets, alertSecrets: again.alertSecrets, progress: progressReporter(keptAgain.plan, mode) }), keptAgain.dropped);
          return { p, summary: { ...retry, writes: summary.writes + retry.writes } };
        },
        { stateDir: engine.stateDir },
      );
      const { p, summary } = result;
      for (const w of p.warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
      if (p.plan.conflicts.length > 0) {
        process.stderr.write(formatPlan(p.plan));
        return this.exit(1);
      }
      if (!summary) {
        process.stdout.write(json ? renderJson({ dryRun: true, plan: p.plan.ops, text: formatPlan(p.plan) }) : formatPlan(p.plan));
        return;
      }
      const wait = flags.wait && summary.ok && p.deckies.length > 0 ? await waitReady(engine, hostId, p.deckies, timeoutMs) : undefined;
      if (json) {
        process.stdout.write(renderJson({ ok: summary.ok && (wait?.notReady.length ?? 0) === 0, writes: summary.writes, summary, wait }));
      } else {
        process.stdout.write(p.plan.ops.length === 0 ? `No changes: ${p.deckies.length} decky(s) already as submitted, 0 engine writes.\n` : `${formatSummary(p.plan)} (${summary.writes} engine writes in ${Math.round(summary.durationMs)} ms)\n`);
        if (wait) process.stdout.write(wait.notReady.length === 0 ? `${wait.ready.length} decky(s) Running.\n` : `Not ready after ${flags.timeout}: ${wait.notReady.map((n) => `${n.name} (${n.reason})`).join('; ')}\n`);
      }
      if (!summary.ok) {
        process.stderr.write(`apply failed for some deckies; the others were applied:\n${failureReport(summary)}\n`);
        return this.exit(1);
      }
      if (wait && wait.notReady.length > 0) return this.exit(1);
    } catch (err) {
      fail(this, err);
    }
  }
}
