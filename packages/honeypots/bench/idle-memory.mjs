#!/usr/bin/env node
/**
 * Bench: the idle memory of each honeypot service container, the figure that decides how
 * many deckies a host holds.
 *
 *   node packages/honeypots/bench/idle-memory.mjs [--services smb,rdp,ldap,mssql,llmnr,ssh,http,https,imap,pop3,smtp,postgres,mongodb,elasticsearch,k8s,docker_api] [--idle 10] [--json]
 *
 * Deploys a lab fleet `benchi` (10.228.0.0/24) with one decky per service (Windows services
 * on a windows_server persona, the rest on linux), waits until every service has announced
 * service_start plus `--idle` seconds, samples each container's memory (cgroup rss, the VmRSS
 * of its processes, docker stats), then deletes the fleet (also on failure or Ctrl-C).
 * Needs root, Docker and a build (`npx turbo run build`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, ctl, docker, env, memory, mib, must, run } from './bench-lib.mjs';

const FLEET = 'benchi';
const WINDOWS = new Set(['smb', 'rdp', 'ldap', 'mssql', 'llmnr']);
const { values } = parseArgs({ options: { services: { type: 'string', default: 'smb,rdp,ldap,mssql,llmnr,ssh,http,https,imap,pop3,smtp,postgres,mongodb,elasticsearch,k8s,docker_api,vnc,mqtt,snmp,dns,tftp,sip,conpot' }, idle: { type: 'string', default: '10' }, json: { type: 'boolean', default: false } } });
const services = values.services.split(',').map((s) => s.trim()).filter(Boolean);
if (services.length === 0 || services.length > 200) throw new Error('--services: 1..200 names');
const idleSeconds = Number(values.idle);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => process.stderr.write(`idle-memory: ${m}\n`);

const manifest = [
  `apiVersion: decnet.io/v1alpha1\nkind: Fleet\nmetadata: { name: ${FLEET} }\nspec:\n  network: { subnet: 10.228.0.0/24, gateway: 10.228.0.1 }\n  lab: true`,
  ...services.map(
    (s, i) => `apiVersion: decnet.io/v1alpha1\nkind: Decky\nmetadata: { name: benchi-${s.replace(/_/g, '-')} }\nspec:\n  fleet: ${FLEET}\n  ip: 10.228.0.${10 + i}\n  nmapOS: ${WINDOWS.has(s) ? 'windows_server' : 'linux'}\n  services: [${s}]`,
  ),
].join('\n---\n');

async function cleanup() {
  const r = await ctl('delete', 'fleet', FLEET);
  if (r.code !== 0 && !/not found|nothing to delete|no such/i.test(r.stderr)) log(`cleanup: ${r.stderr}`);
}

async function main() {
  const e = env();
  if ((await run('docker', ['image', 'inspect', e.DECNET_BASE_IMAGE])).code !== 0) await must(run('bash', [join(ROOT, 'scripts/build-runtime-base.sh'), e.DECNET_BASE_IMAGE]), 'build-runtime-base');
  const dir = mkdtempSync(join(tmpdir(), 'decnet-benchi-'));
  // its own state dir (persona config files, quarantine), removed with the fleet
  process.env.DECNET_STATE_DIR ??= join(dir, 'state');
  await cleanup();
  try {
    writeFileSync(join(dir, 'fleet.yaml'), manifest);
    log(`deploying ${services.length} deckies`);
    await must(ctl('apply', '-f', dir, '-o', 'json'), 'apply');
    const names = services.map((s) => `benchi-${s.replace(/_/g, '-')}-${s}`);
    for (const n of names) {
      const end = Date.now() + 60_000;
      while (!(await docker('logs', n)).includes('"event":"service_start"')) {
        if (Date.now() > end) throw new Error(`${n} did not start`);
        await sleep(250);
      }
    }
    await sleep(idleSeconds * 1000);
    const rows = [];
    for (const [i, n] of names.entries()) {
      const info = JSON.parse(await docker('inspect', n))[0];
      const m = memory(info.Id, info.State.Pid);
      rows.push({ service: services[i], cgroupRss: m.cgroupRss, vmRss: m.vmRss, dockerStats: (await docker('stats', '--no-stream', '--format', '{{.MemUsage}}', n)).trim() });
    }
    const result = { idleSeconds, services: rows };
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else for (const r of rows) process.stdout.write(`${r.service.padEnd(14)} cgroup rss ${mib(r.cgroupRss)}, VmRSS ${mib(r.vmRss)}, docker stats ${r.dockerStats}\n`);
  } finally {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`idle-memory: ${err.message}\n`);
  process.exitCode = 1;
}
