/** Small pure helpers for the INI import: shell-like splitting, seeded picks, names. */
import { mulberry32 } from './random.js';

/** Split a command line like a POSIX shell would (quotes, backslash escapes), without expansion. */
export function shellSplit(text: string): { argv: string[] } | { error: string } {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1] as string)) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 < text.length) word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) return { error: `unterminated ${quote === '"' ? 'double' : 'single'} quote` };
  if (inWord) argv.push(word);
  return { argv };
}

/** 32-bit FNV-1a hash of a string. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1). */
export function seededRandom(seed: string): () => number {
  return mulberry32(fnv1a(seed));
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Explain why a name is not a DNS label (RFC 1123 style), or undefined when it is one. */
export function dnsLabelProblem(name: string, maxLength = 63): string | undefined {
  if (name.length > maxLength) return `it is ${name.length} characters long (at most ${maxLength})`;
  if (DNS_LABEL.test(name)) return undefined;
  if (/[A-Z]/.test(name)) return 'it has upper-case letters';
  if (/^-|-$/.test(name)) return 'it starts or ends with "-"';
  return 'it may only hold lower-case letters, digits and "-"';
}

/** A DNS-label spelling of an arbitrary name, to suggest in messages. */
export function suggestDnsLabel(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}
