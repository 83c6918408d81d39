/**
 * Multi-document YAML -> validated manifests, keeping source positions so every
 * issue (syntax, schema, and later cross-document ones) names file, document,
 * kind/name, field path and line:column.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { formatPath, type ManifestIssue } from './errors.js';
import { MANIFEST_KINDS, manifestSchemas, type Manifest, type ManifestKind } from './schemas.js';
import { API_VERSION } from './types.js';

export interface Position {
  line: number;
  col: number;
}

/** Where a manifest came from; `locate` maps a field path to the line:column of its YAML node. */
export interface ManifestSource {
  file?: string;
  doc?: number;
  /** position of the node at `path` (or of its nearest existing ancestor); `key` points at the map key instead of the value */
  locate(path: readonly PropertyKey[], key?: boolean): Position | undefined;
}

const sources = new WeakMap<object, ManifestSource>();

/** Source of a manifest returned by parseManifests / validateManifests (undefined for hand-made objects). */
export function sourceOf(manifest: object): ManifestSource | undefined {
  return sources.get(manifest);
}

export interface ParseResult {
  /** the valid documents, in input order */
  manifests: Manifest[];
  issues: ManifestIssue[];
}

export interface SourceText {
  file: string;
  text: string;
}

export interface SourceObject {
  value: unknown;
  file?: string;
  doc?: number;
  source?: ManifestSource;
}

function yamlLocator(doc: Document, lc: LineCounter): ManifestSource['locate'] {
  return (path, key = false) => {
    let node: unknown = doc.contents;
    let keyNode: unknown;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        keyNode = undefined;
        node = node.items[seg];
      } else break;
    }
    const target = (key && keyNode ? keyNode : node) as Node | null | undefined;
    const offset = target?.range?.[0];
    return offset === undefined ? undefined : lc.linePos(offset);
  };
}

/** Parse YAML sources (multi-document) into validated manifests plus issues. */
export function parseManifests(inputs: readonly SourceText[]): ParseResult {
  const objects: SourceObject[] = [];
  const issues: ManifestIssue[] = [];
  for (const { file, text } of inputs) {
    const lc = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [];
    list.forEach((doc, i) => {
      const docNo = i + 1;
      if (doc.errors.length > 0) {
        for (const err of doc.errors) {
          const pos = lc.linePos(err.pos[0]);
          issues.push({ code: 'E_YAML', message: `YAML syntax error: ${err.message.split('\n')[0]}`, file, doc: docNo, path: '', ...pos });
        }
        return;
      }
      if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return; // empty document (comments only, trailing ---)
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (err) {
        const pos = doc.contents.range ? lc.linePos(doc.contents.range[0]) : {};
        issues.push({ code: 'E_YAML', message: `YAML error: ${(err as Error).message}`, file, doc: docNo, path: '', ...pos });
        return;
      }
      objects.push({ value, file, doc: docNo, source: { file, doc: docNo, locate: yamlLocator(doc, lc) } });
    });
  }
  const validated = validateManifests(objects);
  return { manifests: validated.manifests, issues: [...issues, ...validated.issues].sort(byPosition(inputs.map((s) => s.file))) };
}

function byPosition(files: string[]) {
  const rank = (i: ManifestIssue) => (i.file === undefined ? -1 : files.indexOf(i.file));
  return (a: ManifestIssue, b: ManifestIssue) =>
    rank(a) - rank(b) || (a.doc ?? 0) - (b.doc ?? 0) || (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v === 'string' ? JSON.stringify(v) : `${typeof v} ${String(v)}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/** Messages for zod issues our schemas do not phrase themselves. */
function genericMessage(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type': {
      const expected = TYPE_NAMES[iss.expected] ?? iss.expected;
      return iss.input === undefined ? `missing required field (expected ${expected})` : `expected ${expected}, got ${describe(iss.input)}`;
    }
    case 'too_small':
      if (iss.origin === 'array') return `expected at least ${String(iss.minimum)} item${iss.minimum === 1 ? '' : 's'}`;
      if (iss.origin === 'string') return 'must not be empty';
      return `expected at least ${String(iss.minimum)}, got ${describe(iss.input)}`;
    case 'too_big':
      if (iss.origin === 'array') return `expected at most ${String(iss.maximum)} items`;
      return `expected at most ${String(iss.maximum)}, got ${describe(iss.input)}`;
    case 'invalid_value':
      return `expected ${iss.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${describe(iss.input)}`;
    case 'invalid_key':
      return iss.issues[0]?.message;
    default:
      return undefined;
  }
}

/** Validate already-parsed objects (YAML documents, or objects built by an importer). */
export function validateManifests(objects: readonly SourceObject[]): ParseResult {
  const manifests: Manifest[] = [];
  const issues: ManifestIssue[] = [];
  for (const obj of objects) {
    const where = { file: obj.file, doc: obj.doc };
    const at = (path: readonly PropertyKey[], key = false) => obj.source?.locate(path, key) ?? {};
    const v = obj.value;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      issues.push({ code: 'E_SCHEMA', ...where, path: '', message: `expected a mapping with apiVersion, kind, metadata and spec, got ${describe(v)}`, ...at([]) });
      continue;
    }
    const raw = v as Record<string, unknown>;
    const kind = raw['kind'];
    const rawName = (raw['metadata'] as Record<string, unknown> | undefined)?.['name'];
    const name = typeof rawName === 'string' ? rawName : undefined;
    if (typeof kind !== 'string' || !(MANIFEST_KINDS as readonly string[]).includes(kind)) {
      const message =
        kind === undefined
          ? `missing required field (expected one of ${MANIFEST_KINDS.join(', ')})`
          : `unknown kind ${describe(kind)}; expected one of ${MANIFEST_KINDS.join(', ')} (apiVersion ${API_VERSION})`;
      issues.push({ code: 'E_SCHEMA', ...where, name, path: 'kind', message, ...at(['kind']) });
      continue;
    }
    const schema = manifestSchemas[kind as ManifestKind];
    const result = schema.safeParse(v, { reportInput: true, error: genericMessage });
    if (result.success) {
      const manifest = result.data as Manifest;
      if (obj.source) sources.set(manifest, obj.source);
      else if (obj.file !== undefined || obj.doc !== undefined) sources.set(manifest, { ...where, locate: () => undefined });
      manifests.push(manifest);
      continue;
    }
    for (const iss of result.error.issues) {
      const unknownKey = iss.code === 'unrecognized_keys' ? iss.keys[0] : undefined;
      const pos = unknownKey !== undefined ? at([...iss.path, unknownKey], true) : at(iss.path);
      issues.push({ code: 'E_SCHEMA', ...where, kind, name, path: formatPath(iss.path), message: iss.message, ...pos });
    }
  }
  return { manifests, issues };
}
