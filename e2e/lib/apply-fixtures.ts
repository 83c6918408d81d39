/**
 * Fixtures shared by the apply e2e files: manifests as objects rendered to YAML,
 * a decnetctl bound to one host id, engine snapshots, hand-made "foreign"
 * containers and a cleanup that also works when decnetctl itself is broken.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { labNames } from '@decnet/engine';
import { containers, decnetctl, docker, linkExists, netnsExists, tempDir, writeManifests, type RunResult } from './cli.js';

const pexec = promisify(execFile);

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
/** Local images only: what scripts/test.sh builds and exports (the same defaults as its build script). */
export const BASE_IMAGE = process.env.DECNET_BASE_IMAGE ?? `decnet/runtime-base:${VERSION}`;
export const IMAGE_BASE = process.env.DECNET_IMAGE_BASE ?? BASE_IMAGE;

export const API_VERSION = 'decnet.io/v1alpha1';

export interface DeckyDoc {
  name: string;
  fleet: string;
  ip?: string;
  services?: string[];
  nmapOS?: string;
  distro?: string;
  hostname?: string;
  archetype?: string;
  serviceConfig?: Record<string, Record<string, unknown>>;
}

export function fleetDoc(name: string, subnet: string, gateway: string): object {
  return { apiVersion: API_VERSION, kind: 'Fleet', metadata: { name }, spec: { network: { mode: 'macvlan', subnet, gateway }, lab: true } };
}

export function deckyDoc(d: DeckyDoc): object {
  const { name, ...spec } = d;
  return { apiVersion: API_VERSION, kind: 'Decky', metadata: { name }, spec };
}

/** Multi-document YAML. */
export function yamlDocs(docs: readonly object[]): string {
  return docs.map((d) => stringify(d)).join('---\n');
}

/** Writes the documents to a fresh temp file; returns its path. */
export function manifestFile(docs: readonly object[] | string, name = 'fleet.yaml'): string {
  const dir = writeManifests({});
  const path = join(dir, name);
  writeFileSync(path, typeof docs === 'string' ? docs : yamlDocs(docs));
  return path;
}

export type Ctl = (args: string[], input?: string) => Promise<RunResult>;

/**
 * decnetctl acting as host `hostId`, with the local images (and `env` on top, e.g. DOCKER_HOST,
 * DECNET_STATE_DIR); without a DECNET_STATE_DIR, a state dir of its own, removed when the file ends.
 */
export function ctlFor(hostId: string, env: Record<string, string> = {}): Ctl {
  let state = env['DECNET_STATE_DIR'];
  return (args, input) => {
    state ??= tempDir(`state-${hostId}`);
    return decnetctl(args, { env: { DECNET_HOST_ID: hostId, DECNET_BASE_IMAGE: BASE_IMAGE, DECNET_IMAGE_BASE: IMAGE_BASE, DECNET_STATE_DIR: state, ...env }, input });
  };
}

/** Human-readable result for assertion messages. */
export function show(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

export interface Snap {
  id: string;
  state: string;
  labels: Record<string, string>;
}

/** name -> id, state and labels of every container matching the label filter. */
export async function snapshot(filter: string): Promise<Record<string, Snap>> {
  return Object.fromEntries((await containers(filter)).map((c) => [c.name, { id: c.id, state: c.state, labels: c.labels }]));
}

/** Containers of a decky (base + services) on any host: name -> id. */
export async function deckyIds(decky: string, hostId: string): Promise<Record<string, string>> {
  const all = await containers(`com.decnet.decky=${decky}`);
  return Object.fromEntries(all.filter((c) => c.labels['com.decnet.host'] === hostId).map((c) => [c.name, c.id]));
}

export async function networkExists(name: string): Promise<boolean> {
  return (await docker('network', 'ls', '--format', '{{.Name}}')).split('\n').includes(name);
}

export async function networkId(name: string): Promise<string | undefined> {
  const out = await docker('network', 'ls', '--no-trunc', '--filter', `name=^${name}$`, '--format', '{{.ID}}');
  return out.trim() || undefined;
}

/** A long-running container decnet did not create (network none), with the given labels. */
export async function runForeign(name: string, labels: Record<string, string> = {}): Promise<string> {
  const args = ['run', '-d', '--name', name, '--network', 'none'];
  for (const [k, v] of Object.entries(labels)) args.push('--label', `${k}=${v}`);
  args.push(BASE_IMAGE, 'node', '-e', 'setInterval(() => {}, 1 << 30)');
  return (await docker(...args)).trim();
}

/** A created (not started) container carrying exactly these labels: for tampering tests. */
export async function createWithLabels(name: string, labels: Record<string, string>): Promise<string> {
  const args = ['create', '--name', name, '--network', 'none'];
  for (const [k, v] of Object.entries(labels)) args.push('--label', `${k}=${v}`);
  args.push(BASE_IMAGE, 'node', '-e', '0');
  return (await docker(...args)).trim();
}

export async function removeContainers(names: readonly string[]): Promise<void> {
  for (const n of names) await docker('rm', '-f', n).catch(() => undefined);
}

/** Everything a lab fleet leaves on the machine, for "nothing left behind" checks. */
export async function fleetLeftovers(fleet: string, hostId: string): Promise<string[]> {
  const left: string[] = [];
  const own = (await containers(`com.decnet.fleet=${fleet}`)).filter((c) => c.labels['com.decnet.host'] === hostId);
  left.push(...own.map((c) => `container ${c.name}`));
  if (await networkExists(`decnet-${fleet}`)) left.push(`network decnet-${fleet}`);
  const names = labNames(fleet);
  if (await netnsExists(names.netns)) left.push(`netns ${names.netns}`);
  if (await linkExists(names.parent)) left.push(`link ${names.parent}`);
  return left;
}

/**
 * Removes a fleet of this host: through decnetctl first, then by hand whatever is
 * left (only objects labelled with this host id, and the fleet's own lab names).
 */
export async function cleanupFleet(ctl: Ctl, fleet: string, hostId: string): Promise<void> {
  await ctl(['delete', 'fleet', fleet, '--force']).catch(() => undefined);
  const own = (await containers(`com.decnet.fleet=${fleet}`).catch(() => [])).filter((c) => c.labels['com.decnet.host'] === hostId);
  await removeContainers(own.map((c) => c.id));
  if (await networkExists(`decnet-${fleet}`)) await docker('network', 'rm', `decnet-${fleet}`).catch(() => undefined);
  const names = labNames(fleet);
  if (await netnsExists(names.netns)) await pexec('ip', ['netns', 'del', names.netns]).catch(() => undefined);
  if (await linkExists(names.parent)) await pexec('ip', ['link', 'del', names.parent]).catch(() => undefined);
}
