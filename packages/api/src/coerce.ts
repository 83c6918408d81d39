/**
 * Service persona config coercion, the one function every entry path uses
 * (manifest, INI import): typed values, unknown keys rejected, secrets split out.
 */
import type { ConfigField, ConfigSchema } from './catalog-services.js';
import type { ConfigValue } from './types.js';

export interface CoerceProblem {
  /** config key the problem is about */
  key: string;
  message: string;
}

export interface CoercedConfig {
  /** coerced non-secret values */
  config: Record<string, ConfigValue>;
  /** values of secret-typed keys */
  secrets: Record<string, string>;
  problems: CoerceProblem[];
}

type Coerced = { ok: true; value: ConfigValue } | { ok: false; message: string };

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'no value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

function asText(value: unknown, expected: string): Coerced {
  if (typeof value === 'string') return { ok: true, value };
  if (typeof value === 'number' && Number.isSafeInteger(value)) return { ok: true, value: String(value) };
  if (typeof value === 'number' || typeof value === 'boolean') {
    return { ok: false, message: `expected ${expected}, got ${describe(value)} (quote it to keep it as written)` };
  }
  return { ok: false, message: `expected ${expected}, got ${describe(value)}` };
}

function decodeB64(text: string): Coerced {
  const payload = text.slice(4).replace(/\s+/g, '');
  if (payload.length % 4 !== 0 || !BASE64_RE.test(payload)) {
    return { ok: false, message: 'malformed base64 after "b64:" (expected standard base64 with padding)' };
  }
  try {
    return { ok: true, value: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(payload, 'base64')) };
  } catch {
    return { ok: false, message: 'base64 after "b64:" does not decode to UTF-8 text' };
  }
}

function listOf(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((s) => s.trim());
  return undefined;
}

/** Coerce one value to a field's type. */
export function coerceValue(field: ConfigField, value: unknown): Coerced {
  switch (field.type) {
    case 'string':
    case 'secret':
      return asText(value, 'a string');
    case 'textarea': {
      const r = asText(value, 'text');
      return r.ok && typeof r.value === 'string' && r.value.startsWith('b64:') ? decodeB64(r.value) : r;
    }
    case 'int': {
      let n: number | undefined;
      if (typeof value === 'number') n = value;
      else if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) n = Number(value.trim());
      if (n === undefined || !Number.isSafeInteger(n)) return { ok: false, message: `expected an integer, got ${describe(value)}` };
      if ((field.min !== undefined && n < field.min) || (field.max !== undefined && n > field.max)) {
        return { ok: false, message: `expected an integer from ${field.min ?? '-inf'} to ${field.max ?? 'inf'}, got ${n}` };
      }
      return { ok: true, value: n };
    }
    case 'bool': {
      if (typeof value === 'boolean') return { ok: true, value };
      const text = typeof value === 'string' ? value.trim().toLowerCase() : typeof value === 'number' ? String(value) : undefined;
      if (text !== undefined && TRUE.has(text)) return { ok: true, value: true };
      if (text !== undefined && FALSE.has(text)) return { ok: true, value: false };
      return { ok: false, message: `expected a boolean (true/1/yes/on or false/0/no/off), got ${describe(value)}` };
    }
    case 'enum': {
      const values = field.values ?? [];
      if (typeof value === 'string' && values.includes(value)) return { ok: true, value };
      return { ok: false, message: `expected one of ${values.join(', ')}, got ${describe(value)}` };
    }
    case 'multi-enum': {
      const values = field.values ?? [];
      const items = listOf(value);
      if (items === undefined) return { ok: false, message: `expected a list (or comma-separated string) of ${values.join(', ')}, got ${describe(value)}` };
      const bad = items.filter((v) => !values.includes(v));
      if (bad.length > 0) return { ok: false, message: `unknown value${bad.length > 1 ? 's' : ''} ${bad.join(', ')}; expected any of ${values.join(', ')}` };
      return { ok: true, value: [...new Set(items)] };
    }
  }
}

/**
 * Coerce a service's raw persona config against its schema. Unknown keys are
 * problems naming the known ones; secret-typed values go to `secrets`, never `config`.
 */
export function coerceServiceConfig(service: string, raw: Readonly<Record<string, unknown>>, schema: ConfigSchema): CoercedConfig {
  const out: CoercedConfig = { config: {}, secrets: {}, problems: [] };
  const known = Object.keys(schema);
  for (const key of Object.keys(raw).sort()) {
    const field = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (field === undefined) {
      out.problems.push({
        key,
        message:
          known.length === 0
            ? `service ${service} takes no persona config (got key "${key}")`
            : `unknown key "${key}" for service ${service}; known keys: ${known.join(', ')}`,
      });
      continue;
    }
    const r = coerceValue(field, raw[key]);
    if (!r.ok) out.problems.push({ key, message: r.message });
    else if (field.type === 'secret') out.secrets[key] = r.value as string;
    else out.config[key] = r.value;
  }
  return out;
}
