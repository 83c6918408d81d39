/**
 * Deterministic hostnames and choices: everything random in resolution is drawn
 * from a PRNG seeded by the decky name, so re-applying never renames a host.
 */
import { createHash } from 'node:crypto';
import type { DistroFamily } from './catalog-distros.js';
import { mulberry32 } from './random.js';

export const HOSTNAME_WORDS = [
  'alpha', 'atlas', 'bravo', 'cedar', 'comet', 'delta', 'ember', 'falcon', 'gamma', 'granite',
  'harbor', 'helix', 'indigo', 'juno', 'kepler', 'lumen', 'mercury', 'nova', 'onyx', 'orion',
  'phoenix', 'quartz', 'raven', 'sierra', 'titan', 'vega',
] as const;

/** Unsigned 32-bit hash of a string (first 4 bytes of its sha256). */
export function stableHash(text: string): number {
  return createHash('sha256').update(text, 'utf8').digest().readUInt32BE(0);
}

/** A small seeded PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: string): () => number {
  return mulberry32(stableHash(seed));
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick from an empty list');
  return items[Math.floor(rand() * items.length)]!;
}

/** Hostname for a decky, by distro family, deterministic for its name. */
export function generateHostname(deckyName: string, family: DistroFamily): string {
  const rand = seededRandom(`hostname:${deckyName}`);
  const word = pick(rand, HOSTNAME_WORDS);
  const nn = 10 + Math.floor(rand() * 90);
  switch (family) {
    case 'generic':
      return `SRV-${word.toUpperCase()}-${nn}`;
    case 'rhel':
      return `${word}${nn}.localdomain`;
    case 'minimal':
      return `${word}-${nn}`;
    case 'rolling': {
      const others = HOSTNAME_WORDS.filter((w) => w !== word);
      return `${word}-${pick(rand, others)}`;
    }
  }
}

/**
 * Hostname for a Windows workstation as Windows Setup names it when nobody renames it:
 * DESKTOP- and seven upper-case letters and digits, deterministic for the decky name.
 */
export function windowsDesktopHostname(deckyName: string): string {
  const rand = seededRandom(`hostname:${deckyName}`);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `DESKTOP-${Array.from({ length: 7 }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('')}`;
}
