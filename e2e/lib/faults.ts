/**
 * Conventions of the fault-injection suite (e2e/faults): every scenario prints
 * what it checked (`checked: ...`), a failure names its step, and with
 * DECNET_FAULTS_KEEP=1 the engine state is left in place for inspection.
 * Fleets are named ef-*, subnets 10.238.x.0/24.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, run, tempDir } from './cli.js';
import { IMAGE_BASE, type Ctl } from './apply-fixtures.js';

export const KEEP = process.env['DECNET_FAULTS_KEEP'] === '1';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
export const HONEYPOT_IMAGE = `decnet/honeypot:${VERSION}`;

/** One line per verified fact, so a passing run documents what it proved. */
export function checked(what: string): void {
  console.log(`checked: ${what} [+${((Date.now() - T0) / 1000).toFixed(1)}s]`);
}
const T0 = Date.now();

/** Runs one named step; a failure inside says which step it was. */
export async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    err.message = `step "${name}" failed: ${err.message}`;
    throw err;
  }
}

/** Runs a cleanup unless DECNET_FAULTS_KEEP=1 asked to keep the state (then says what was kept). */
export async function cleanup(what: string, fn: () => Promise<void>): Promise<void> {
  if (KEEP) {
    console.log(`DECNET_FAULTS_KEEP=1: kept ${what} for inspection`);
    return;
  }
  await fn();
}

/** A fresh state dir for one scenario's decnetctl/controller. */
export function stateDir(tag: string): string {
  return KEEP ? mkdtempSync(join(tmpdir(), `decnet-${tag}-`)) : tempDir(tag);
}

/** Base + one container per service, for each decky: the names an apply must leave, sorted. */
export function expectedNames(deckies: ReadonlyArray<{ name: string; services?: readonly string[] }>): string[] {
  return deckies.flatMap((d) => [d.name, ...(d.services ?? []).map((s) => `${d.name}-${s}`)]).sort();
}

/** Makes sure the honeypot image exists in the main engine (built offline from the local base image). */
export async function ensureHoneypotImage(ctl: Ctl): Promise<void> {
  if ((await run('docker', ['image', 'inspect', HONEYPOT_IMAGE])).code === 0) return;
  const r = await ctl(['images', 'build', '--base-image', IMAGE_BASE]);
  if (r.code !== 0) throw new Error(`cannot build ${HONEYPOT_IMAGE}: ${r.stderr}`);
}
