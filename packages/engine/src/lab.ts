/**
 * Lab plumbing with `ip` (execFile, never a shell): for fleet F a veth pair whose host
 * end is the MACVLAN parent (no address) and whose other end lives in netns
 * `decnet-lab-<F>` holding the fleet's gateway address: the attacker's seat.
 * Never touches a physical NIC: only links whose names this file derives are changed.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { DecnetError } from '@decnet/api';

const run = promisify(execFile);

export const LAB_NETNS_PREFIX = 'decnet-lab-';

export interface LabNames {
  netns: string;
  /** host end: the MACVLAN parent */
  parent: string;
  /** end inside the netns: holds the gateway address */
  attacker: string;
}

/** Deterministic link names (<= 15 chars: IFNAMSIZ) and netns name of a fleet's lab. */
export function labNames(fleet: string): LabNames {
  assertFleetName(fleet);
  const h = createHash('sha256').update(fleet, 'utf8').digest('hex').slice(0, 8);
  return { netns: `${LAB_NETNS_PREFIX}${fleet}`, parent: `dnl${h}p`, attacker: `dnl${h}a` };
}

function assertFleetName(fleet: string): void {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(fleet)) {
    throw new DecnetError('InvalidName', `fleet name ${JSON.stringify(fleet)} is not a DNS label`);
  }
}

/** Prefix length of an IPv4 CIDR ("10.0.0.0/24" -> 24). */
export function prefixLength(subnet: string): number {
  const m = /^\d{1,3}(?:\.\d{1,3}){3}\/(\d{1,2})$/.exec(subnet);
  const n = m?.[1] === undefined ? NaN : Number(m[1]);
  if (!(n >= 0 && n <= 32)) throw new DecnetError('InvalidSubnet', `not an IPv4 CIDR: ${subnet}`);
  return n;
}

async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('ip', args, { encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string; message?: string };
    if (e.code === 'ENOENT') {
      throw new DecnetError('IpMissing', 'the `ip` command was not found', 'install iproute2 (scripts/ensure-engine.sh does)');
    }
    const detail = (e.stderr || e.message || String(err)).trim();
    throw new DecnetError('LabError', `ip ${args.join(' ')}: ${detail}`, 'lab mode needs root and the veth module');
  }
}

async function netnsList(): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

async function linkExists(name: string, netns?: string): Promise<boolean> {
  try {
    await ip([...(netns ? ['-n', netns] : []), 'link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

/** Creates (idempotently) the veth pair and the attacker netns holding `gateway`. */
export async function ensureLab(fleet: string, subnet: string, gateway: string): Promise<LabNames> {
  const names = labNames(fleet);
  const prefix = prefixLength(subnet);
  if (!(await netnsList()).includes(names.netns)) await ip(['netns', 'add', names.netns]);
  const hostEnd = await linkExists(names.parent);
  const nsEnd = await linkExists(names.attacker, names.netns);
  if (!hostEnd || !nsEnd) {
    // half-built leftovers: remove whichever end exists, then build the pair afresh
    if (hostEnd) await ip(['link', 'del', 'dev', names.parent]);
    if (nsEnd) await ip(['-n', names.netns, 'link', 'del', 'dev', names.attacker]);
    if (await linkExists(names.attacker)) await ip(['link', 'del', 'dev', names.attacker]);
    await ip(['link', 'add', names.parent, 'type', 'veth', 'peer', 'name', names.attacker]);
    await ip(['link', 'set', 'dev', names.attacker, 'netns', names.netns]);
  }
  await ip(['link', 'set', 'dev', names.parent, 'up']);
  await ip(['-n', names.netns, 'addr', 'replace', `${gateway}/${prefix}`, 'dev', names.attacker]);
  await ip(['-n', names.netns, 'link', 'set', 'dev', names.attacker, 'up']);
  await ip(['-n', names.netns, 'link', 'set', 'dev', 'lo', 'up']);
  return names;
}

/** Deletes the fleet's netns and veth pair; a lab already gone is not an error. */
export async function removeLab(fleet: string): Promise<void> {
  const names = labNames(fleet);
  // the host end first: deleting it removes its peer at once, whereas a deleted netns
  // tears its links down later, asynchronously (racing a `link del` of our own)
  if (await linkExists(names.parent)) await ignoreGone(ip(['link', 'del', 'dev', names.parent]));
  if ((await netnsList()).includes(names.netns)) await ignoreGone(ip(['netns', 'del', names.netns]));
}

/** A link or netns that vanished between our check and our delete is what we wanted. */
async function ignoreGone(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!/cannot find device|no such file|does not exist/i.test((err as Error).message)) throw err;
  }
}

/** Fleets whose lab plumbing (netns and host veth end) exists on this host, sorted. */
export async function listLabs(): Promise<string[]> {
  const fleets: string[] = [];
  for (const ns of await netnsList()) {
    if (!ns.startsWith(LAB_NETNS_PREFIX)) continue;
    const fleet = ns.slice(LAB_NETNS_PREFIX.length);
    try {
      if (await linkExists(labNames(fleet).parent)) fleets.push(fleet);
    } catch {
      // not a name we could have made: not ours
    }
  }
  return fleets.sort();
}

/** Runs argv inside the fleet's attacker netns with inherited stdio; resolves to its exit code. */
export async function labExec(
  fleet: string,
  argv: string[],
  opts: { stdio?: 'inherit' | 'pipe' | 'ignore' } = {},
): Promise<number> {
  const names = labNames(fleet);
  if (argv.length === 0) throw new DecnetError('InvalidArgument', 'labExec needs a command');
  if (!(await netnsList()).includes(names.netns)) {
    throw new DecnetError('LabNotFound', `fleet ${fleet} has no lab namespace ${names.netns}`, 'apply a fleet with lab: true first');
  }
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', names.netns, ...argv], { stdio: opts.stdio ?? 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
