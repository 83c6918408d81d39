#!/usr/bin/env node
// What decnet's own scripts and tests leave on a machine, found by their labels,
// tags and name prefixes (nothing else on the machine is looked at):
//   node scripts/leftovers.mjs --clean   remove all of it (a clean slate, as on a fresh machine)
//   node scripts/leftovers.mjs --check   list what a test run left behind; exit 1 naming it
// --check keeps the product images the test command itself builds (decnet/runtime-base:<v>,
// :latest, decnet/honeypot:<v>) and, with --tmp DIR, looks for files the run's tests left in DIR.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const args = process.argv.slice(2);
const mode = args.includes('--clean') ? 'clean' : args.includes('--check') ? 'check' : undefined;
if (!mode) {
  console.error('usage: leftovers.mjs --clean | --check [--tmp DIR]');
  process.exit(2);
}
const tmpArg = args.includes('--tmp') ? args[args.indexOf('--tmp') + 1] : undefined;
const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
const KEEP_IMAGES = new Set([`decnet/runtime-base:${version}`, 'decnet/runtime-base:latest', `decnet/honeypot:${version}`]);

function sh(cmd, argv, { ok = false } = {}) {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (err) {
    if (ok) return '';
    throw err;
  }
}
const lines = (s) => s.split('\n').map((l) => l.trim()).filter(Boolean);
const dockerUp = () => sh('docker', ['info', '--format', '{{.ID}}'], { ok: true }) !== '';

/** Containers: decnet's label, or the name prefixes of tests that run bare containers. */
function containers() {
  if (!dockerUp()) return [];
  const byLabel = lines(sh('docker', ['ps', '-a', '--filter', 'label=com.decnet.managed=true', '--format', '{{.ID}} {{.Names}} {{.Label "com.decnet.role"}}']));
  const byName = lines(sh('docker', ['ps', '-a', '--filter', 'name=^decnet-', '--format', '{{.ID}} {{.Names}} -']));
  const all = new Map([...byLabel, ...byName].map((l) => [l.split(' ')[0], l]));
  // service containers first: they hold their base's namespace
  return [...all.values()].sort((a, b) => Number(b.endsWith(' service')) - Number(a.endsWith(' service'))).map((l) => ({ id: l.split(' ')[0], name: l.split(' ')[1] }));
}

function networks() {
  if (!dockerUp()) return [];
  const byLabel = lines(sh('docker', ['network', 'ls', '--filter', 'label=com.decnet.managed=true', '--format', '{{.ID}} {{.Name}}']));
  const byName = lines(sh('docker', ['network', 'ls', '--filter', 'name=^decnet-', '--format', '{{.ID}} {{.Name}}']));
  return [...new Map([...byLabel, ...byName].map((l) => [l.split(' ')[0], l.split(' ')[1]])).entries()].map(([id, name]) => ({ id, name }));
}

/** Volumes: decnet's label (fleet settings volumes). */
function volumes() {
  if (!dockerUp()) return [];
  return lines(sh('docker', ['volume', 'ls', '--filter', 'label=com.decnet.managed=true', '--format', '{{.Name}}'])).map((name) => ({ name }));
}

/** decnet/* images (tags) and untagged images our builds left (labelled as the honeypot image). */
function images() {
  if (!dockerUp()) return [];
  const tagged = lines(sh('docker', ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).filter((l) => l.startsWith('decnet/'));
  const dangling = lines(sh('docker', ['images', '--filter', 'dangling=true', '--filter', 'label=org.opencontainers.image.title=decnet honeypot', '--format', '<none> {{.ID}}']));
  return [...tagged, ...dangling].map((l) => ({ ref: l.split(' ')[0], id: l.split(' ')[1] }));
}

const netns = () => lines(sh('ip', ['netns', 'list'], { ok: true })).map((l) => l.split(/\s+/)[0]).filter((n) => n.startsWith('decnet-'));
/** Links our lab plumbing and private test daemons make: dnl<hash>p/a veths and dn* bridges. */
const links = () =>
  lines(sh('ip', ['-o', 'link', 'show'], { ok: true }))
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter((n) => /^dn[a-z0-9]+$/.test(n));
/** Private dockerd instances of the e2e tests (their data roots and run dirs are /var/lib|/run/decnet-<name>). */
const privateDaemons = () => lines(sh('pgrep', ['-a', '-f', 'dockerd .*--data-root /var/lib/decnet-'], { ok: true }));
/** Redis servers the registry tests start: they run in a scratch dir named decnet-registry-redis-*. */
const testRedis = () =>
  lines(sh('pgrep', ['-a', 'redis-server'], { ok: true })).filter((l) => {
    try {
      return /\/decnet-registry-redis-/.test(readlinkSync(`/proc/${l.split(' ')[0]}/cwd`));
    } catch {
      return false;
    }
  });
const dirsUnder = (root, re) => (existsSync(root) ? readdirSync(root).filter((n) => re.test(n)).map((n) => join(root, n)) : []);
const stateDirs = () => [...dirsUnder('/var/lib', /^decnet(-.+)?$/), ...dirsUnder('/run', /^decnet-/)];

if (mode === 'clean') {
  for (const line of [...privateDaemons(), ...testRedis()]) {
    const pid = Number(line.split(' ')[0]);
    try {
      process.kill(pid, 'SIGKILL');
      console.error(`leftovers: killed ${line.slice(0, 120)}`);
    } catch {
      /* gone already */
    }
  }
  for (const c of containers()) sh('docker', ['rm', '-f', '-v', c.id], { ok: true });
  for (const n of networks()) sh('docker', ['network', 'rm', n.id], { ok: true });
  for (const v of volumes()) sh('docker', ['volume', 'rm', v.name], { ok: true });
  for (const i of images()) sh('docker', ['image', 'rm', '-f', i.ref === '<none>' ? i.id : i.ref], { ok: true });
  for (const n of netns()) sh('ip', ['netns', 'delete', n], { ok: true });
  for (const l of links()) sh('ip', ['link', 'delete', l], { ok: true });
  for (const d of [...stateDirs(), ...dirsUnder(tmpdir(), /^decnet-/)]) {
    sh('umount', ['-R', '-l', d], { ok: true });
    rmSync(d, { recursive: true, force: true });
  }
  console.error('leftovers: clean slate');
  process.exit(0);
}

const found = [];
for (const c of containers()) found.push(`container ${c.name}`);
for (const v of volumes()) found.push(`volume ${v.name}`);
for (const n of networks()) found.push(`network ${n.name}`);
for (const i of images()) if (!KEEP_IMAGES.has(i.ref)) found.push(`image ${i.ref} (${i.id})`);
for (const n of netns()) found.push(`network namespace ${n}`);
for (const l of links()) found.push(`link ${l}`);
for (const p of privateDaemons()) found.push(`process ${p.slice(0, 160)}`);
for (const p of testRedis()) found.push(`process ${p.slice(0, 160)}`);
for (const d of stateDirs()) found.push(`state dir ${d}`);
if (tmpArg && existsSync(tmpArg)) for (const f of readdirSync(tmpArg)) found.push(`temp file ${join(tmpArg, f)}`);
if (found.length) {
  console.error(`leftovers: the test run left ${found.length} thing(s) behind:`);
  for (const f of found) console.error(`  - ${f}`);
  process.exit(1);
}
console.error('leftovers: the test run left nothing behind');
