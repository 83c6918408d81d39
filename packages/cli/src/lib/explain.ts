/**
 * `decnetctl explain`: the documentation of a manifest field, kubectl style. The
 * source of truth is the JSON Schema generated from the same zod schemas as the
 * CRDs (`kindJsonSchemas`), plus the service catalogue for `serviceConfig.<service>`.
 */
import { API_VERSION, DecnetError, SERVICE_NAMES, kindJsonSchemas, serviceDef, type ConfigField, type KindJsonSchema } from '@decnet/api';

type Json = Record<string, unknown>;

export interface ExplainField {
  name: string;
  /** kubectl-like: string, integer, boolean, Object, []Object, map[string]Object, integer|string */
  type: string;
  description?: string;
  required?: boolean;
  default?: unknown;
  values?: readonly unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  /** child fields (for arrays: of the items; for maps: of the values; for serviceConfig: the services) */
  fields: ExplainField[];
}

export interface Explanation {
  kind: string;
  version: string;
  /** the normalised path, e.g. fleet.spec.alerts */
  path: string;
  field: ExplainField;
}

/** A placeholder child of a map: any key matches it. */
const ANY_KEY = '<key>';

function typeOf(node: Json): string {
  const branches = (node['anyOf'] ?? node['oneOf']) as Json[] | undefined;
  if (branches) return [...new Set(branches.map(typeOf))].join('|');
  if (node['const'] !== undefined && node['type'] === undefined) return typeof node['const'];
  switch (node['type']) {
    case 'object': {
      if (node['properties']) return 'Object';
      const ap = node['additionalProperties'];
      if (ap && typeof ap === 'object' && Object.keys(ap).length > 0) return `map[string]${typeOf(ap as Json)}`;
      return 'Object';
    }
    case 'array':
      return `[]${node['items'] && typeof node['items'] === 'object' ? typeOf(node['items'] as Json) : 'any'}`;
    case undefined:
      return 'any';
    default:
      return String(node['type']);
  }
}

function childrenOf(node: Json, path: string[]): ExplainField[] {
  if (node['type'] === 'array' && node['items'] && typeof node['items'] === 'object') return childrenOf(node['items'] as Json, path);
  if (node['type'] !== 'object') return [];
  const props = node['properties'] as Record<string, Json> | undefined;
  if (props) {
    const required = new Set((node['required'] as string[] | undefined) ?? []);
    return Object.entries(props).map(([k, v]) => fromSchema(k, v, required.has(k), [...path, k]));
  }
  const ap = node['additionalProperties'];
  if (path[path.length - 1] === 'serviceConfig') return SERVICE_NAMES.map(serviceField);
  if (ap && typeof ap === 'object' && Object.keys(ap).length > 0) {
    const keyNode = node['propertyNames'] as Json | undefined;
    const value = fromSchema(ANY_KEY, ap as Json, false, [...path, ANY_KEY]);
    if (typeof keyNode?.['description'] === 'string') value.description = `any key: ${keyNode['description']}${value.description ? `; ${value.description}` : ''}`;
    return [value];
  }
  return [];
}

function fromSchema(name: string, node: Json, required: boolean, path: string[]): ExplainField {
  const f: ExplainField = { name, type: typeOf(node), fields: childrenOf(node, path) };
  if (typeof node['description'] === 'string') f.description = node['description'];
  if (required) f.required = true;
  if (node['default'] !== undefined) f.default = node['default'];
  if (Array.isArray(node['enum'])) f.values = node['enum'];
  else if (node['const'] !== undefined) f.values = [node['const']];
  // an array of enums/patterns: show the item's constraints too
  const items = node['type'] === 'array' && node['items'] && typeof node['items'] === 'object' ? (node['items'] as Json) : undefined;
  if (!f.values && Array.isArray(items?.['enum'])) f.values = items['enum'] as unknown[];
  const pattern = node['pattern'] ?? items?.['pattern'];
  if (typeof pattern === 'string') f.pattern = pattern;
  for (const k of ['minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems'] as const) {
    const v = node[k];
    if (typeof v === 'number' && Math.abs(v) < Number.MAX_SAFE_INTEGER) f[k] = v;
  }
  return f;
}

/** serviceConfig.<service>: its persona config keys from the service catalogue. */
function serviceField(service: string): ExplainField {
  const def = serviceDef(service)!;
  return {
    name: service,
    type: 'Object',
    description: `persona config of ${service} (${def.description})`,
    fields: Object.entries(def.config).map(([k, c]) => configField(k, c)),
  };
}

function configField(name: string, c: ConfigField): ExplainField {
  const f: ExplainField = { name, type: c.type, fields: [] };
  if (c.description) f.description = c.description;
  if (c.default !== undefined) f.default = c.default;
  if (c.values) f.values = c.values;
  if (c.min !== undefined) f.minimum = c.min;
  if (c.max !== undefined) f.maximum = c.max;
  return f;
}

function findKind(name: string): KindJsonSchema | undefined {
  const n = name.toLowerCase();
  return kindJsonSchemas().find((k) => [k.kind.toLowerCase(), k.singular, k.plural, ...k.shortNames].includes(n));
}

/** Resolve `fleet.spec.alerts` (also `alerts[].name`, `alerts[0]`) to its field; unknown segment: a DecnetError naming the known children. */
export function explain(path: string): Explanation {
  const segments = path
    .replace(/\[\d*\]/g, '')
    .split('.')
    .filter((s) => s !== '');
  const kinds = kindJsonSchemas();
  if (segments.length === 0) throw new DecnetError('UnknownField', 'explain needs a resource or field path', `known resources: ${kinds.map((k) => k.singular).join(', ')}`);
  const info = findKind(segments[0]!);
  if (!info) throw new DecnetError('UnknownField', `unknown resource "${segments[0]}"`, `known resources: ${kinds.map((k) => k.singular).join(', ')}`);
  let field = fromSchema(info.kind, info.schema, false, []);
  field.type = 'Object';
  const walked = [info.singular];
  for (const seg of segments.slice(1)) {
    const next = field.fields.find((c) => c.name === seg) ?? field.fields.find((c) => c.name === ANY_KEY);
    if (!next) {
      const known = field.fields.map((c) => c.name);
      throw new DecnetError(
        'UnknownField',
        `field "${seg}" does not exist in ${walked.join('.')}`,
        known.length ? `known fields of ${walked.join('.')}: ${known.join(', ')}` : `${walked.join('.')} (${field.type}) has no fields`,
      );
    }
    field = next;
    walked.push(seg);
  }
  return { kind: info.kind, version: API_VERSION, path: walked.join('.'), field };
}

const oneLine = (s: string | undefined) => (s ?? '').split('\n')[0]!;

function constraints(f: ExplainField): string[] {
  const out: string[] = [];
  if (f.default !== undefined) out.push(`DEFAULT:  ${JSON.stringify(f.default)}`);
  if (f.values) out.push(`VALUES:   ${f.values.map((v) => String(v)).join(' | ')}`);
  if (f.pattern) out.push(`PATTERN:  ${f.pattern}`);
  const range = (lo: number | undefined, hi: number | undefined, what: string) => {
    if (lo !== undefined || hi !== undefined) out.push(`${what}${lo ?? ''}..${hi ?? ''}`);
  };
  range(f.minimum, f.maximum, 'RANGE:    ');
  range(f.minLength, f.maxLength, 'LENGTH:   ');
  range(f.minItems, f.maxItems, 'ITEMS:    ');
  return out;
}

function fieldLines(fields: ExplainField[], recursive: boolean, depth = 0): { left: string; right: string }[] {
  const rows: { left: string; right: string }[] = [];
  for (const c of fields) {
    const left = `${'  '.repeat(depth)}${c.name}`;
    const tail = [c.required ? '-required-' : '', c.default !== undefined ? `(default ${JSON.stringify(c.default)})` : ''].filter(Boolean).join(' ');
    const values = c.values && c.values.length <= 8 ? `one of ${c.values.map(String).join('|')}` : '';
    const desc = [oneLine(c.description), values].filter(Boolean).join('; ');
    rows.push({ left, right: `<${c.type}>${tail ? ` ${tail}` : ''}\t${desc}` });
    if (recursive) rows.push(...fieldLines(c.fields, true, depth + 1));
  }
  return rows;
}

/** kubectl-explain-like text. */
export function renderExplanation(e: Explanation, recursive = false): string {
  const f = e.field;
  const lines = [`KIND:     ${e.kind}`, `VERSION:  ${e.version}`, ''];
  if (e.path.includes('.')) lines.push(`FIELD:    ${f.name} <${f.type}>${f.required ? ' -required-' : ''}`, `PATH:     ${e.path}`, '');
  lines.push('DESCRIPTION:', `    ${f.description ?? '<empty>'}`);
  const cons = constraints(f);
  if (cons.length) lines.push('', ...cons);
  if (f.fields.length) {
    lines.push('', 'FIELDS:');
    const rows = fieldLines(f.fields, recursive);
    const width = Math.max(...rows.map((r) => r.left.length));
    const typeWidth = Math.max(...rows.map((r) => r.right.split('\t')[0]!.length));
    for (const r of rows) {
      const [type, desc] = r.right.split('\t') as [string, string];
      lines.push(`  ${r.left.padEnd(width)}   ${desc ? `${type.padEnd(typeWidth)}   ${desc}` : type}`.trimEnd());
    }
  }
  return `${lines.join('\n')}\n`;
}

/** JSON output: children only one level deep unless recursive. */
export function explanationJson(e: Explanation, recursive = false): Explanation {
  const trim = (f: ExplainField, depth: number): ExplainField => ({ ...f, fields: recursive || depth === 0 ? f.fields.map((c) => trim(c, depth + 1)) : [] });
  return { ...e, field: trim(e.field, 0) };
}
