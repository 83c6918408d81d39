/**
 * The label codec for `com.decnet.*` (DESIGN.md, Labels). Encoding is
 * deterministic; decoding never throws, whatever it is given, and reports a typed
 * error instead. A spec longer than MAX_LABEL_BYTES is split into
 * `com.decnet.spec.0..N-1` on UTF-8 character boundaries, with
 * `com.decnet.spec-chunks` = N so that a missing chunk is detectable.
 */
import { canonicalJson, sha256Hex } from './canonical.js';
import type { Role } from './plan-types.js';
import type { FleetSettings } from './fleet-settings.js';
import { fleetSettingsSchema, resolvedDeckySchema, resolvedFleetSchema } from './spec-schema.js';
import { DecnetError, type Labels, type ResolvedDecky, type ResolvedFleet } from './types.js';

export const LABEL_PREFIX = 'com.decnet.';
export const LABEL_MANAGED = 'com.decnet.managed';
export const LABEL_FLEET = 'com.decnet.fleet';
export const LABEL_HOST = 'com.decnet.host';
export const LABEL_DECKY = 'com.decnet.decky';
export const LABEL_ROLE = 'com.decnet.role';
export const LABEL_SERVICE = 'com.decnet.service';
export const LABEL_SPEC = 'com.decnet.spec';
export const LABEL_SPEC_HASH = 'com.decnet.spec-hash';
export const LABEL_HASH_VERSION = 'com.decnet.hash-version';
export const LABEL_GENERATION = 'com.decnet.generation';
export const LABEL_SPEC_CHUNKS = 'com.decnet.spec-chunks';
/** `true` on a fleet's settings volume (fleet-settings.ts) */
export const LABEL_SETTINGS = 'com.decnet.settings';
/** `com.decnet.spec.<i>`: chunk i of a spec longer than MAX_LABEL_BYTES. */
export const specChunkKey = (i: number): string => `${LABEL_SPEC}.${i}`;

/** Version of the hashing rules (canonical JSON + sha256 of the resolved spec). */
export const HASH_VERSION = '1';
/** Portable ceiling for one label value on containerd-backed engines, in UTF-8 bytes. */
export const MAX_LABEL_BYTES = 4096;

export type LabelErrorCode =
  | 'NotManaged'
  | 'MissingLabel'
  | 'ChunkMissing'
  | 'BadJson'
  | 'HashMismatch'
  | 'UnknownHashVersion'
  | 'InvalidSpec';

export interface LabelError {
  code: LabelErrorCode;
  message: string;
  hint?: string;
}

export type LabelResult<T> = { ok: true; value: T } | { ok: false; error: LabelError };

export interface DecodedDeckyLabels {
  kind: 'decky';
  spec: ResolvedDecky;
  hostId: string;
  fleet: string;
  decky: string;
  role: Role;
  service?: string;
  generation: number;
  hash: string;
}

export interface DecodedFleetLabels {
  kind: 'fleet';
  spec: ResolvedFleet;
  hostId: string;
  fleet: string;
  hash: string;
}

export interface DecodedSettingsLabels {
  kind: 'settings';
  spec: FleetSettings;
  hostId: string;
  fleet: string;
  hash: string;
}

export type DecodedLabels = DecodedDeckyLabels | DecodedFleetLabels | DecodedSettingsLabels;

export interface DeckyLabelOptions {
  hostId: string;
  role: Role;
  /** required for role 'service': a service of the spec */
  service?: string;
  generation: number;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

/** Labels of a decky container (base or service). Throws DecnetError on a programming error. */
export function encodeDeckyLabels(spec: ResolvedDecky, opts: DeckyLabelOptions): Labels {
  assertNoSecrets(spec);
  if (!Number.isSafeInteger(opts.generation) || opts.generation < 1) {
    throw new DecnetError('InvalidGeneration', `generation must be a positive integer, got ${opts.generation}`);
  }
  if (opts.role === 'service') {
    if (!opts.service || !spec.services.some((s) => s.name === opts.service)) {
      throw new DecnetError('UnknownService', `decky ${spec.name} has no service "${opts.service ?? ''}"`);
    }
  } else if (opts.service !== undefined) {
    throw new DecnetError('InvalidRole', `base container of ${spec.name} cannot carry a service label`);
  }
  const labels: Labels = {
    [LABEL_MANAGED]: 'true',
    [LABEL_FLEET]: spec.fleet,
    [LABEL_HOST]: opts.hostId,
    [LABEL_DECKY]: spec.name,
    [LABEL_ROLE]: opts.role,
    ...(opts.service !== undefined ? { [LABEL_SERVICE]: opts.service } : {}),
    [LABEL_GENERATION]: String(opts.generation),
  };
  return { ...labels, ...specLabels(spec) };
}

/** Labels of a fleet's docker network. */
export function encodeFleetLabels(fleet: ResolvedFleet, hostId: string): Labels {
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_FLEET]: fleet.name,
    [LABEL_HOST]: hostId,
    ...specLabels(fleet),
  };
}

/** Labels of a fleet's settings volume. */
export function encodeSettingsLabels(settings: FleetSettings, hostId: string): Labels {
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_FLEET]: settings.name,
    [LABEL_HOST]: hostId,
    [LABEL_SETTINGS]: 'true',
    ...specLabels(settings),
  };
}

function specLabels(spec: ResolvedDecky | ResolvedFleet | FleetSettings): Labels {
  const json = canonicalJson(spec);
  const out: Labels = { [LABEL_SPEC_HASH]: sha256Hex(json), [LABEL_HASH_VERSION]: HASH_VERSION };
  const chunks = splitUtf8(json, MAX_LABEL_BYTES);
  if (chunks.length === 1) {
    out[LABEL_SPEC] = json;
  } else {
    out[LABEL_SPEC_CHUNKS] = String(chunks.length);
    chunks.forEach((c, i) => (out[specChunkKey(i)] = c));
  }
  return out;
}

/**
 * Split a string into pieces of at most maxBytes UTF-8 bytes each, never inside a
 * character. Deterministic: each piece is as long as it can be.
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return [text];
  const out: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + maxBytes, bytes.length);
    // back off continuation bytes (10xxxxxx) so the cut falls on a character start
    while (end < bytes.length && end > start && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    out.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
  }
  return out;
}

/** Specs hold no secret values by construction; refuse to label one that does. */
function assertNoSecrets(spec: ResolvedDecky): void {
  for (const s of spec.services) {
    for (const key of s.secretKeys) {
      if (Object.hasOwn(s.config, key)) {
        throw new DecnetError(
          'SecretInSpec',
          `decky ${spec.name} service ${s.name}: secret key "${key}" has a value in the spec; it must never reach labels`,
        );
      }
    }
  }
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

const fail = (code: LabelErrorCode, message: string, hint?: string): { ok: false; error: LabelError } => ({
  ok: false,
  error: hint === undefined ? { code, message } : { code, message, hint },
});

/** Own string value of a label, or undefined (never reads prototypes, never throws on odd values). */
export function labelValue(labels: unknown, key: string): string | undefined {
  if (labels === null || typeof labels !== 'object' || !Object.hasOwn(labels, key)) return undefined;
  const v = (labels as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

/** The keys that make a label set a container's rather than a network's. */
const CONTAINER_KEYS = [LABEL_DECKY, LABEL_ROLE, LABEL_SERVICE, LABEL_GENERATION];

/** Read the spec text, joining chunks; reports which chunks are missing. */
export function readSpecText(labels: unknown): LabelResult<string> {
  const single = labelValue(labels, LABEL_SPEC);
  const countText = labelValue(labels, LABEL_SPEC_CHUNKS);
  if (countText === undefined) {
    if (single === undefined) {
      if (labelValue(labels, specChunkKey(0)) !== undefined) {
        return fail('ChunkMissing', `${LABEL_SPEC_CHUNKS} is missing while spec chunks are present`);
      }
      return fail('MissingLabel', `label ${LABEL_SPEC} is missing`);
    }
    return { ok: true, value: single };
  }
  if (single !== undefined) {
    return fail('ChunkMissing', `both ${LABEL_SPEC} and ${LABEL_SPEC_CHUNKS} are present`);
  }
  if (!/^[1-9][0-9]{0,3}$/.test(countText)) {
    return fail('ChunkMissing', `${LABEL_SPEC_CHUNKS} is not a chunk count: "${countText.slice(0, 40)}"`);
  }
  const count = Number(countText);
  const parts: string[] = [];
  const missing: number[] = [];
  for (let i = 0; i < count; i++) {
    const part = labelValue(labels, specChunkKey(i));
    if (part === undefined) missing.push(i);
    else parts.push(part);
  }
  if (missing.length > 0) {
    return fail('ChunkMissing', `spec chunk(s) ${missing.join(', ')} of ${count} missing`);
  }
  if (labelValue(labels, specChunkKey(count)) !== undefined) {
    return fail('ChunkMissing', `unexpected spec chunk ${count} beyond ${LABEL_SPEC_CHUNKS}=${count}`);
  }
  return { ok: true, value: parts.join('') };
}

/** Decode the labels of a decnet container or network. Never throws. */
export function decodeLabels(labels: unknown): LabelResult<DecodedLabels> {
  try {
    return decodeUnsafe(labels);
  } catch (e) {
    return fail('InvalidSpec', `labels could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function decodeUnsafe(labels: unknown): LabelResult<DecodedLabels> {
  if (labelValue(labels, LABEL_MANAGED) !== 'true') {
    return fail('NotManaged', `not managed by decnet (${LABEL_MANAGED} is not "true")`);
  }
  const hostId = labelValue(labels, LABEL_HOST);
  if (hostId === undefined) return fail('MissingLabel', `label ${LABEL_HOST} is missing`);
  const fleet = labelValue(labels, LABEL_FLEET);
  if (fleet === undefined) return fail('MissingLabel', `label ${LABEL_FLEET} is missing`);
  const version = labelValue(labels, LABEL_HASH_VERSION);
  if (version === undefined) return fail('MissingLabel', `label ${LABEL_HASH_VERSION} is missing`);
  if (version !== HASH_VERSION) {
    return fail('UnknownHashVersion', `hash version "${version.slice(0, 40)}" is not supported (this decnet knows "${HASH_VERSION}")`, 'upgrade decnet');
  }
  const hash = labelValue(labels, LABEL_SPEC_HASH);
  if (hash === undefined) return fail('MissingLabel', `label ${LABEL_SPEC_HASH} is missing`);
  const text = readSpecText(labels);
  if (!text.ok) return text;
  if (sha256Hex(text.value) !== hash) {
    return fail('HashMismatch', `spec does not match ${LABEL_SPEC_HASH} (labels altered or truncated)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.value);
  } catch (e) {
    return fail('BadJson', `spec is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (labelValue(labels, LABEL_SETTINGS) === 'true') return decodeSettings(raw, text.value, hostId, fleet, hash);
  const isContainer = CONTAINER_KEYS.some((k) => labelValue(labels, k) !== undefined);
  return isContainer ? decodeDecky(labels, raw, text.value, hostId, fleet, hash) : decodeFleet(raw, text.value, hostId, fleet, hash);
}

function issues(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

function decodeFleet(raw: unknown, text: string, hostId: string, fleet: string, hash: string): LabelResult<DecodedLabels> {
  const parsed = resolvedFleetSchema.safeParse(raw);
  if (!parsed.success) return fail('InvalidSpec', `fleet spec is invalid: ${issues(parsed.error)}`);
  const spec = parsed.data as ResolvedFleet;
  if (canonicalJson(spec) !== text) return fail('InvalidSpec', 'fleet spec is not canonical JSON');
  if (spec.name !== fleet) return fail('InvalidSpec', `fleet label "${fleet}" does not match the spec's name "${spec.name}"`);
  return { ok: true, value: { kind: 'fleet', spec, hostId, fleet, hash } };
}

function decodeSettings(raw: unknown, text: string, hostId: string, fleet: string, hash: string): LabelResult<DecodedLabels> {
  const parsed = fleetSettingsSchema.safeParse(raw);
  if (!parsed.success) return fail('InvalidSpec', `fleet settings are invalid: ${issues(parsed.error)}`);
  const spec = parsed.data as FleetSettings;
  if (canonicalJson(spec) !== text) return fail('InvalidSpec', 'fleet settings are not canonical JSON');
  if (spec.name !== fleet) return fail('InvalidSpec', `fleet label "${fleet}" does not match the settings' name "${spec.name}"`);
  return { ok: true, value: { kind: 'settings', spec, hostId, fleet, hash } };
}

function decodeDecky(
  labels: unknown,
  raw: unknown,
  text: string,
  hostId: string,
  fleet: string,
  hash: string,
): LabelResult<DecodedLabels> {
  const decky = labelValue(labels, LABEL_DECKY);
  if (decky === undefined) return fail('MissingLabel', `label ${LABEL_DECKY} is missing`);
  const role = labelValue(labels, LABEL_ROLE);
  if (role === undefined) return fail('MissingLabel', `label ${LABEL_ROLE} is missing`);
  const genText = labelValue(labels, LABEL_GENERATION);
  if (genText === undefined) return fail('MissingLabel', `label ${LABEL_GENERATION} is missing`);
  const parsed = resolvedDeckySchema.safeParse(raw);
  if (!parsed.success) return fail('InvalidSpec', `decky spec is invalid: ${issues(parsed.error)}`);
  const spec = parsed.data as ResolvedDecky;
  if (canonicalJson(spec) !== text) return fail('InvalidSpec', 'decky spec is not canonical JSON');
  if (spec.name !== decky) return fail('InvalidSpec', `decky label "${decky}" does not match the spec's name "${spec.name}"`);
  if (spec.fleet !== fleet) return fail('InvalidSpec', `fleet label "${fleet}" does not match the spec's fleet "${spec.fleet}"`);
  if (!/^[1-9][0-9]{0,14}$/.test(genText)) return fail('InvalidSpec', `generation "${genText.slice(0, 40)}" is not a positive integer`);
  const generation = Number(genText);
  const service = labelValue(labels, LABEL_SERVICE);
  if (role === 'base') {
    if (service !== undefined) return fail('InvalidSpec', `base container carries ${LABEL_SERVICE}="${service}"`);
    return { ok: true, value: { kind: 'decky', spec, hostId, fleet, decky, role, generation, hash } };
  }
  if (role !== 'service') return fail('InvalidSpec', `role "${role.slice(0, 40)}" is neither base nor service`);
  if (service === undefined) return fail('MissingLabel', `label ${LABEL_SERVICE} is missing on a service container`);
  if (!spec.services.some((s) => s.name === service)) {
    return fail('InvalidSpec', `service "${service}" is not a service of decky ${decky}`);
  }
  return { ok: true, value: { kind: 'decky', spec, hostId, fleet, decky, role, service, generation, hash } };
}
