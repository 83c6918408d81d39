/**
 * A full, non-failing report over a label set, for `decnetctl labels`: every
 * check is run and reported on its own, so tampered labels are explained rather
 * than just rejected.
 */
import { canonicalJson, sha256Hex } from './canonical.js';
import {
  decodeLabels,
  HASH_VERSION,
  LABEL_DECKY,
  LABEL_FLEET,
  LABEL_GENERATION,
  LABEL_HASH_VERSION,
  LABEL_HOST,
  LABEL_MANAGED,
  LABEL_PREFIX,
  LABEL_ROLE,
  LABEL_SERVICE,
  LABEL_SPEC,
  LABEL_SPEC_CHUNKS,
  LABEL_SPEC_HASH,
  labelValue,
  readSpecText,
  specChunkKey,
  type DecodedLabels,
  type LabelResult,
} from './labels.js';
import { resolvedDeckySchema, resolvedFleetSchema } from './spec-schema.js';

export interface LabelCheck {
  name: 'managed' | 'required-keys' | 'hash-version' | 'chunks' | 'hash' | 'json' | 'spec' | 'canonical';
  ok: boolean;
  detail: string;
}

export interface LabelInspection {
  kind: 'decky' | 'fleet' | 'unknown';
  managed: boolean;
  hostId?: string;
  fleet?: string;
  decky?: string;
  role?: string;
  service?: string;
  generation?: string;
  hashVersion?: string;
  storedHash?: string;
  /** sha256 of the spec text as found (joined chunks) */
  computedHash?: string;
  /** byte size of the spec text */
  specBytes?: number;
  chunks: { declared?: number; present: number[]; missing: number[] };
  missingKeys: string[];
  /** other `com.decnet.*` keys that the codec does not know */
  unknownKeys: string[];
  /** the spec as parsed JSON, even when invalid */
  spec?: unknown;
  specIssues: string[];
  checks: LabelCheck[];
  /** what decodeLabels says */
  result: LabelResult<DecodedLabels>;
}

const KNOWN = new Set([
  LABEL_MANAGED, LABEL_FLEET, LABEL_HOST, LABEL_DECKY, LABEL_ROLE, LABEL_SERVICE,
  LABEL_SPEC, LABEL_SPEC_HASH, LABEL_HASH_VERSION, LABEL_GENERATION, LABEL_SPEC_CHUNKS,
]);
const CHUNK_RE = /^com\.decnet\.spec\.(0|[1-9][0-9]*)$/;

export function inspectLabels(labels: unknown): LabelInspection {
  const get = (k: string) => labelValue(labels, k);
  const keys = labels !== null && typeof labels === 'object' ? Object.keys(labels) : [];
  const isContainer = [LABEL_DECKY, LABEL_ROLE, LABEL_SERVICE, LABEL_GENERATION].some((k) => get(k) !== undefined);
  const kind = get(LABEL_MANAGED) === undefined && !keys.some((k) => k.startsWith(LABEL_PREFIX)) ? 'unknown' : isContainer ? 'decky' : 'fleet';
  const required = [LABEL_MANAGED, LABEL_HOST, LABEL_FLEET, LABEL_SPEC_HASH, LABEL_HASH_VERSION];
  if (isContainer) required.push(LABEL_DECKY, LABEL_ROLE, LABEL_GENERATION);
  if (isContainer && get(LABEL_ROLE) === 'service') required.push(LABEL_SERVICE);
  const missingKeys = required.filter((k) => get(k) === undefined);
  if (get(LABEL_SPEC) === undefined && get(LABEL_SPEC_CHUNKS) === undefined) missingKeys.push(LABEL_SPEC);

  const present = keys.flatMap((k) => (CHUNK_RE.test(k) ? [Number(k.slice(LABEL_SPEC.length + 1))] : [])).sort((a, b) => a - b);
  const countText = get(LABEL_SPEC_CHUNKS);
  const declared = countText !== undefined && /^[1-9][0-9]{0,3}$/.test(countText) ? Number(countText) : undefined;
  const missing = declared === undefined ? [] : Array.from({ length: declared }, (_, i) => i).filter((i) => get(specChunkKey(i)) === undefined);

  const report: LabelInspection = {
    kind,
    managed: get(LABEL_MANAGED) === 'true',
    chunks: declared === undefined ? { present, missing } : { declared, present, missing },
    missingKeys,
    unknownKeys: keys.filter((k) => k.startsWith(LABEL_PREFIX) && !KNOWN.has(k) && !CHUNK_RE.test(k)).sort(),
    specIssues: [],
    checks: [],
    result: decodeLabels(labels),
  };
  const opt = <K extends keyof LabelInspection>(k: K, v: LabelInspection[K] | undefined) => {
    if (v !== undefined) report[k] = v;
  };
  opt('hostId', get(LABEL_HOST));
  opt('fleet', get(LABEL_FLEET));
  opt('decky', get(LABEL_DECKY));
  opt('role', get(LABEL_ROLE));
  opt('service', get(LABEL_SERVICE));
  opt('generation', get(LABEL_GENERATION));
  opt('hashVersion', get(LABEL_HASH_VERSION));
  opt('storedHash', get(LABEL_SPEC_HASH));

  const check = (name: LabelCheck['name'], ok: boolean, detail: string) => report.checks.push({ name, ok, detail });
  check('managed', report.managed, report.managed ? `${LABEL_MANAGED}=true` : `${LABEL_MANAGED} is not "true"`);
  check('required-keys', missingKeys.length === 0, missingKeys.length === 0 ? 'all present' : `missing: ${missingKeys.join(', ')}`);
  const hv = report.hashVersion;
  check('hash-version', hv === HASH_VERSION, hv === undefined ? 'missing' : hv === HASH_VERSION ? `version ${hv}` : `unknown version "${hv}"`);

  const text = readSpecText(labels);
  check('chunks', text.ok, text.ok ? (declared === undefined ? 'single label' : `${declared} chunk(s) present`) : text.error.message);
  if (!text.ok) return report;
  report.computedHash = sha256Hex(text.value);
  report.specBytes = Buffer.byteLength(text.value, 'utf8');
  const hashOk = report.computedHash === report.storedHash;
  check('hash', hashOk, hashOk ? 'spec matches spec-hash' : `stored ${report.storedHash ?? '(none)'}, computed ${report.computedHash}`);

  let raw: unknown;
  try {
    raw = JSON.parse(text.value);
  } catch (e) {
    check('json', false, e instanceof Error ? e.message : String(e));
    return report;
  }
  check('json', true, 'parses');
  report.spec = raw;
  const parsed = (kind === 'decky' ? resolvedDeckySchema : resolvedFleetSchema).safeParse(raw);
  if (parsed.success) {
    check('spec', true, `valid ${kind === 'decky' ? 'decky' : 'fleet'} spec`);
    const canonical = canonicalJson(parsed.data) === text.value;
    check('canonical', canonical, canonical ? 'canonical JSON' : 'not canonical JSON');
  } else {
    report.specIssues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    check('spec', false, `${report.specIssues.length} issue(s)`);
  }
  return report;
}
