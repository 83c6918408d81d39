/**
 * Pure Elasticsearch REST core: routes, the bait cluster's answers and the
 * Jackson-style pretty printer ES uses (`"key" : value`, 2-space indent,
 * `{ }` / `[ ]` when empty). No I/O; the shell is elasticsearch.ts.
 */
import { createHash } from 'node:crypto';

/** a JSON double that Java prints with a fraction (50 -> 50.0) */
export class Dbl {
  constructor(readonly v: number) {}
}
export type J = null | boolean | number | string | Dbl | J[] | { [k: string]: J };

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}
function dbl(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  return Number.isInteger(v) ? `${v}.0` : String(v);
}

/** ES's compact or pretty JSON (pretty ends with a newline). */
export function esJson(v: J, pretty: boolean): string {
  if (!pretty) return compact(v);
  return `${prettyOf(v, '')}\n`;
}
function compact(v: J): string {
  if (v instanceof Dbl) return dbl(v.v);
  if (Array.isArray(v)) return `[${v.map(compact).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${compact(x)}`).join(',')}}`;
  if (typeof v === 'number') return num(v);
  return JSON.stringify(v);
}
function prettyOf(v: J, ind: string): string {
  const inner = `${ind}  `;
  if (v instanceof Dbl) return dbl(v.v);
  if (Array.isArray(v)) return v.length === 0 ? '[ ]' : `[\n${v.map((x) => inner + prettyOf(x, inner)).join(',\n')}\n${ind}]`;
  if (v !== null && typeof v === 'object') {
    const e = Object.entries(v);
    return e.length === 0 ? '{ }' : `{\n${e.map(([k, x]) => `${inner}${JSON.stringify(k)} : ${prettyOf(x, inner)}`).join(',\n')}\n${ind}}`;
  }
  if (typeof v === 'number') return num(v);
  return JSON.stringify(v);
}

export interface EsVersion {
  number: string;
  major: number;
  build_hash: string;
  build_date: string;
  lucene_version: string;
  minimum_wire_compatibility_version: string;
  minimum_index_compatibility_version: string;
}

/** Known release facts; others get the Lucene of their minor and a hash derived from the number. */
const RELEASES: Record<string, { hash: string; date: string }> = {
  '8.12.2': { hash: '48a287ab9497e852de30327444b0809e55d46466', date: '2024-02-19T10:04:32.774273190Z' },
};
const LUCENE: Record<string, string> = {
  '8.0': '9.0.0', '8.1': '9.0.0', '8.2': '9.1.0', '8.3': '9.2.0', '8.4': '9.3.0', '8.5': '9.4.1', '8.6': '9.4.2', '8.7': '9.5.0',
  '8.8': '9.6.0', '8.9': '9.7.0', '8.10': '9.7.0', '8.11': '9.8.0', '8.12': '9.9.2', '8.13': '9.10.0', '8.14': '9.10.0',
  '7.17': '8.11.1', '7.16': '8.10.1', '7.15': '8.9.0', '7.14': '8.9.0', '7.13': '8.8.2', '7.12': '8.8.0', '7.11': '8.7.0', '7.10': '8.7.0',
};

export function esVersion(configured: string): EsVersion {
  const number = /^\d{1,2}\.\d{1,3}\.\d{1,3}$/.test(configured) ? configured : '8.12.2';
  const [maj, min] = number.split('.').map(Number) as [number, number];
  const rel = RELEASES[number];
  const h = createHash('sha1').update(`es-${number}`).digest('hex');
  return {
    number,
    major: maj,
    build_hash: rel?.hash ?? h,
    build_date: rel?.date ?? '2024-01-15T09:12:43.114873150Z',
    lucene_version: LUCENE[`${maj}.${min}`] ?? (maj >= 8 ? '9.9.2' : '8.11.1'),
    minimum_wire_compatibility_version: maj >= 8 ? '7.17.0' : '6.8.0',
    minimum_index_compatibility_version: maj >= 8 ? '7.0.0' : '6.0.0-beta1',
  };
}

export interface EsIndex {
  name: string;
  uuid: string;
  docs: number;
  deleted: number;
  storeBytes: number;
  hidden?: boolean;
}

export interface EsState {
  nodeName: string;
  clusterName: string;
  clusterUuid: string;
  nodeId: string;
  ip: string;
  version: EsVersion;
  indices: Map<string, EsIndex>;
  seq: number;
}

const MAX_INDICES = 64;

function b64id(seed: string, len = 22): string {
  return createHash('sha256').update(seed).digest('base64url').slice(0, len);
}

export function newState(decky: string, hostname: string, clusterName: string, version: EsVersion, ip = '172.18.0.2'): EsState {
  const indices = new Map<string, EsIndex>();
  const bait: [string, number, number][] = [
    ['customers', 48213, 18_734_112],
    ['users', 3902, 1_204_551],
    ['orders', 221_907, 96_310_442],
    ['logs-2026.12', 1_482_330, 612_903_117],
    ['payments', 17_455, 9_102_883],
  ];
  for (const [name, docs, size] of bait) indices.set(name, { name, uuid: b64id(`${decky}\0index\0${name}`), docs, deleted: Math.floor(docs / 97), storeBytes: size });
  return { nodeName: hostname, clusterName, clusterUuid: b64id(`${decky}\0cluster`), nodeId: b64id(`${decky}\0node`), ip, version, indices, seq: 0 };
}

export interface EsRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Buffer;
}

export interface EsReply {
  status: number;
  contentType: string;
  body: string;
  fields: Record<string, unknown>;
}

const JSON_CT8 = 'application/json';
const JSON_CT7 = 'application/json; charset=UTF-8';
const TEXT_CT = 'text/plain; charset=UTF-8';

function decodeSeg(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A bounded JSON parse of a request body: undefined when not JSON or too deep/large. */
export function parseBody(body: Buffer): unknown {
  if (body.length === 0 || body.length > 65536) return undefined;
  const text = body.toString('utf8');
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  if (max > 64) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function humanSize(b: number): string {
  const units: [string, number][] = [['tb', 2 ** 40], ['gb', 2 ** 30], ['mb', 2 ** 20], ['kb', 2 ** 10]];
  for (const [u, n] of units) if (b >= n) return `${Math.round((b / n) * 10) / 10}${u}`;
  return `${b}b`;
}

/** ES cat table: columns padded to their widest cell, numbers right-aligned. */
function catTable(header: string[], rows: string[][], numeric: boolean[], v: boolean): string {
  const all = v ? [header, ...rows] : rows;
  const w = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length), 0));
  return all.map((r) => r.map((c, i) => (numeric[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join(' ')).join('\n') + (all.length ? '\n' : '');
}

function errorBody(type: string, reason: string, status: number, extra: Record<string, J> = {}): J {
  const cause: { [k: string]: J } = { type, reason, ...extra };
  return { error: { root_cause: [cause], type, reason, ...extra }, status };
}

const VALID_INDEX = /^[a-z0-9][a-z0-9._+-]{0,254}$/;

function textOf(v: unknown, budget = { n: 0 }): string {
  if (budget.n > 20000) return '';
  if (typeof v === 'string') {
    budget.n += v.length;
    return v;
  }
  if (Array.isArray(v)) return v.slice(0, 200).map((x) => textOf(x, budget)).join(' ');
  if (v && typeof v === 'object') return Object.entries(v as Record<string, unknown>).slice(0, 200).map(([k, x]) => `${k} ${textOf(x, budget)}`).join(' ');
  return '';
}

function hasKey(v: unknown, key: string, depth = 0): boolean {
  if (depth > 64 || !v || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.slice(0, 500).some((x) => hasKey(x, key, depth + 1));
  return Object.entries(v as Record<string, unknown>).slice(0, 500).some(([k, x]) => k === key || hasKey(x, key, depth + 1));
}

const RANSOM = /\b(bitcoin|btc|monero|xmr|ransom|decrypt|restore your data|wallet)\b/i;

function fakeHits(st: EsState, index: string, n: number): J[] {
  const first = ['Maria', 'John', 'Wei', 'Priya', 'Lukas', 'Ana', 'Omar', 'Sofia'];
  const last = ['Garcia', 'Smith', 'Chen', 'Patel', 'Muller', 'Silva', 'Haddad', 'Rossi'];
  const out: J[] = [];
  for (let i = 0; i < n; i++) {
    const id = b64id(`${st.clusterUuid}\0${index}\0${i}`, 20);
    let src: J;
    if (index.startsWith('logs')) src = { '@timestamp': `2026-12-0${(i % 3) + 1}T0${i}:14:${10 + i}.512Z`, level: i % 4 === 0 ? 'ERROR' : 'INFO', service: 'billing-api', message: i % 4 === 0 ? 'payment gateway timeout after 30000ms' : `GET /api/v2/invoices/${1040 + i} 200` };
    else {
      const fn = first[i % first.length]!;
      const ln = last[(i * 3) % last.length]!;
      src = { customer_id: 100_200 + i * 17, first_name: fn, last_name: ln, email: `${fn.toLowerCase()}.${ln.toLowerCase()}@example.com`, phone: `+1-555-01${String(10 + i)}`, created_at: `2025-0${(i % 9) + 1}-1${i % 9}T10:22:31Z` };
    }
    out.push({ _index: index, _id: id, _score: new Dbl(1), _source: src });
  }
  return out;
}

/** Route one request. */
export function handleEs(st: EsState, req: EsRequest): EsReply {
  const method = req.method.toUpperCase();
  const pretty = req.query.has('pretty') && req.query.get('pretty') !== 'false';
  const ct = st.version.major >= 8 ? JSON_CT8 : JSON_CT7;
  const fields: Record<string, unknown> = {};
  const json = (status: number, v: J, forcePretty = false): EsReply => ({ status, contentType: ct, body: esJson(v, pretty || forcePretty), fields });
  const text = (s: string): EsReply => ({ status: 200, contentType: TEXT_CT, body: s, fields });
  const noHandler = (): EsReply => {
    fields['es_error'] = 'no_handler';
    return json(400, { error: `no handler found for uri [${req.path}${req.query.toString() ? `?${req.query.toString()}` : ''}] and method [${method}]` });
  };
  const badMethod = (allowed: string): EsReply => json(405, { error: `Incorrect HTTP method for uri [${req.path}] and method [${method}], allowed: [${allowed}]`, status: 405 });
  const segs = req.path.split('/').filter((s) => s !== '').slice(0, 16).map(decodeSeg);
  const body = parseBody(req.body);
  if (req.body.length > 0) {
    if (hasKey(body, 'script') || /"script"\s*:|"source"\s*:\s*"[^"]*(Runtime|exec|java\.lang|getClass)/.test(req.body.toString('utf8', 0, 65536))) {
      fields['technique'] = 'script_query';
      fields['tags'] = ['rce_attempt'];
    }
  }
  const idx = (name: string) => st.indices.get(name);
  const notFound = (name: string) =>
    json(404, errorBody('index_not_found_exception', `no such index [${name}]`, 404, { 'resource.type': 'index_or_alias', 'resource.id': name, index_uuid: '_na_', index: name }));
  const ensureIndex = (name: string): EsIndex | undefined => {
    let ix = idx(name);
    if (!ix && st.indices.size < MAX_INDICES) {
      ix = { name, uuid: b64id(`${st.clusterUuid}\0${name}\0${st.seq}`), docs: 0, deleted: 0, storeBytes: 249 };
      st.indices.set(name, ix);
    }
    return ix;
  };
  const shards: J = { total: 2, successful: 1, failed: 0 };
  const docWrite = (index: string, id: string | undefined): EsReply => {
    if (!VALID_INDEX.test(index)) return json(400, errorBody('invalid_index_name_exception', `Invalid index name [${index}], must be lowercase`, 400, { index_uuid: '_na_', index }));
    fields['es_index'] = index;
    fields['technique'] ??= 'doc_write';
    if (RANSOM.test(textOf(body) || req.body.toString('utf8', 0, 65536))) {
      fields['technique'] = 'ransom_note';
      fields['tags'] = ['ransom'];
    }
    const ix = ensureIndex(index);
    if (ix) {
      ix.docs++;
      ix.storeBytes += req.body.length;
    }
    st.seq++;
    const docId = id ?? b64id(`${st.clusterUuid}\0doc\0${st.seq}`, 20);
    if (id) fields['es_doc_id'] = id.slice(0, 256);
    return json(201, { _index: index, _id: docId, _version: 1, result: 'created', _shards: shards, _seq_no: st.seq - 1, _primary_term: 1 });
  };
  const search = (target: string | undefined): EsReply => {
    if (method !== 'GET' && method !== 'POST') return badMethod('POST, GET');
    fields['technique'] ??= 'search';
    const names = target === undefined || target === '_all' || target === '*' ? [...st.indices.keys()] : target.split(',').slice(0, 16);
    const hits: J[] = [];
    let total = 0;
    for (const n of names) {
      if (n.includes('*')) {
        const re = new RegExp(`^${n.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
        for (const ix of st.indices.values()) if (re.test(ix.name)) {
          total += ix.docs;
          if (hits.length < 10) hits.push(...fakeHits(st, ix.name, Math.min(3, ix.docs)));
        }
        continue;
      }
      const ix = idx(n);
      if (!ix) return notFound(n);
      total += ix.docs;
      if (hits.length < 10) hits.push(...fakeHits(st, ix.name, Math.min(3, ix.docs)));
    }
    if (target) fields['es_index'] = target.slice(0, 256);
    const sliced = hits.slice(0, 10);
    return json(200, {
      took: 3,
      timed_out: false,
      _shards: { total: names.length, successful: names.length, skipped: 0, failed: 0 },
      hits: { total: { value: Math.min(total, 10000), relation: total > 10000 ? 'gte' : 'eq' }, max_score: sliced.length ? new Dbl(1) : null, hits: sliced },
    });
  };
  const v = st.version;

  if (segs.length === 0) {
    if (method !== 'GET' && method !== 'HEAD') return badMethod('HEAD, GET');
    fields['technique'] = 'banner';
    return json(
      200,
      {
        name: st.nodeName,
        cluster_name: st.clusterName,
        cluster_uuid: st.clusterUuid,
        version: {
          number: v.number,
          build_flavor: 'default',
          build_type: 'docker',
          build_hash: v.build_hash,
          build_date: v.build_date,
          build_snapshot: false,
          lucene_version: v.lucene_version,
          minimum_wire_compatibility_version: v.minimum_wire_compatibility_version,
          minimum_index_compatibility_version: v.minimum_index_compatibility_version,
        },
        tagline: 'You Know, for Search',
      },
      true,
    );
  }
  const [a, b, c] = segs;
  const shardCount = st.indices.size;
  if (a === '_cluster' && b === 'health' && segs.length <= 3) {
    if (method !== 'GET') return badMethod('GET');
    return json(200, {
      cluster_name: st.clusterName,
      status: 'yellow',
      timed_out: false,
      number_of_nodes: 1,
      number_of_data_nodes: 1,
      active_primary_shards: shardCount,
      active_shards: shardCount,
      relocating_shards: 0,
      initializing_shards: 0,
      unassigned_shards: shardCount,
      ...(v.major >= 8 ? { unassigned_primary_shards: 0 } : {}),
      delayed_unassigned_shards: 0,
      number_of_pending_tasks: 0,
      number_of_in_flight_fetch: 0,
      task_max_waiting_in_queue_millis: 0,
      active_shards_percent_as_number: new Dbl(50),
    });
  }
  if (a === '_cat' && segs.length === 1) return text('=^.^=\n/_cat/allocation\n/_cat/shards\n/_cat/shards/{index}\n/_cat/master\n/_cat/nodes\n/_cat/tasks\n/_cat/indices\n/_cat/indices/{index}\n/_cat/health\n/_cat/count\n/_cat/aliases\n/_cat/plugins\n');
  if (a === '_cat' && b === 'indices' && segs.length <= 3) {
    if (method !== 'GET') return badMethod('GET');
    const vflag = req.query.has('v') && req.query.get('v') !== 'false';
    const header = ['health', 'status', 'index', 'uuid', 'pri', 'rep', 'docs.count', 'docs.deleted', 'store.size', 'pri.store.size', ...(v.major >= 8 ? ['dataset.size'] : [])];
    const rows = [...st.indices.values()]
      .filter((ix) => !c || c.split(',').includes(ix.name))
      .map((ix) => ['yellow', 'open', ix.name, ix.uuid, '1', '1', String(ix.docs), String(ix.deleted), humanSize(ix.storeBytes), humanSize(ix.storeBytes), ...(v.major >= 8 ? [humanSize(ix.storeBytes)] : [])]);
    fields['technique'] = 'enumerate_indices';
    return text(catTable(header, rows, header.map((h, i) => i >= 4), vflag));
  }
  if (a === '_cat' && (b === 'nodes' || b === 'health' || b === 'master') && segs.length === 2) {
    const vflag = req.query.has('v') && req.query.get('v') !== 'false';
    if (b === 'nodes') return text(catTable(['ip', 'heap.percent', 'ram.percent', 'cpu', 'load_1m', 'load_5m', 'load_15m', 'node.role', 'master', 'name'], [[st.ip, '41', '93', '3', '0.21', '0.30', '0.27', v.major >= 8 ? 'cdfhilmrstw' : 'cdfhilmrstw', '*', st.nodeName]], [false, true, true, true, true, true, true, false, false, false], vflag));
    if (b === 'master') return text(catTable(['id', 'host', 'ip', 'node'], [[st.nodeId, st.ip, st.ip, st.nodeName]], [false, false, false, false], vflag));
    const t = Math.floor(Date.now() / 1000);
    return text(catTable(['epoch', 'timestamp', 'cluster', 'status', 'node.total', 'node.data', 'shards', 'pri', 'relo', 'init', 'unassign', 'pending_tasks', 'max_task_wait_time', 'active_shards_percent'], [[String(t), new Date(t * 1000).toISOString().slice(11, 19), st.clusterName, 'yellow', '1', '1', String(shardCount), String(shardCount), '0', '0', String(shardCount), '0', '-', '50.0%']], [true, false, false, false, true, true, true, true, true, true, true, true, true, true], vflag));
  }
  if (a === '_nodes' && segs.length <= 3) {
    fields['technique'] = 'enumerate_nodes';
    return json(200, {
      _nodes: { total: 1, successful: 1, failed: 0 },
      cluster_name: st.clusterName,
      nodes: {
        [st.nodeId]: {
          name: st.nodeName,
          transport_address: `${st.ip}:9300`,
          host: st.ip,
          ip: st.ip,
          version: v.number,
          build_flavor: 'default',
          build_type: 'docker',
          build_hash: v.build_hash,
          roles: ['data', 'data_cold', 'data_content', 'data_frozen', 'data_hot', 'data_warm', 'ingest', 'master', 'ml', 'remote_cluster_client', 'transform'],
          attributes: { 'xpack.installed': 'true', 'transform.config_version': '10.0.0' },
          os: { name: 'Linux', pretty_name: 'Ubuntu 20.04.6 LTS', arch: 'amd64', version: '5.15.0-91-generic', available_processors: 4, allocated_processors: 4 },
          jvm: { version: '21.0.2', vm_name: 'OpenJDK 64-Bit Server VM', vm_vendor: 'Oracle Corporation', bundled_jdk: true, using_bundled_jdk: true },
          http: { bound_address: ['0.0.0.0:9200'], publish_address: `${st.ip}:9200`, max_content_length_in_bytes: 104857600 },
        },
      },
    });
  }
  if (a === '_search' && segs.length === 1) return search(undefined);
  if (a === '_bulk' && segs.length === 1) {
    if (method !== 'POST' && method !== 'PUT') return badMethod('POST, PUT');
    fields['technique'] = RANSOM.test(req.body.toString('utf8', 0, 65536)) ? 'ransom_note' : 'bulk_write';
    if (fields['technique'] === 'ransom_note') fields['tags'] = ['ransom'];
    return json(200, { errors: false, took: 4, items: [] });
  }
  if (a === '_all' && segs.length === 1 && method === 'DELETE') {
    fields['technique'] = 'index_delete';
    fields['es_index'] = '_all';
    st.indices.clear();
    return json(200, { acknowledged: true });
  }
  if (a !== undefined && !a.startsWith('_')) {
    if (segs.length === 1) {
      if (method === 'PUT') {
        if (!VALID_INDEX.test(a)) return json(400, errorBody('invalid_index_name_exception', `Invalid index name [${a}], must be lowercase`, 400, { index_uuid: '_na_', index: a }));
        fields['technique'] = 'index_create';
        fields['es_index'] = a;
        if (idx(a)) return json(400, errorBody('resource_already_exists_exception', `index [${a}/${idx(a)!.uuid}] already exists`, 400, { index_uuid: idx(a)!.uuid, index: a }));
        ensureIndex(a);
        return json(200, { acknowledged: true, shards_acknowledged: true, index: a });
      }
      if (method === 'DELETE') {
        fields['technique'] = 'index_delete';
        fields['es_index'] = a.slice(0, 256);
        const names = a.split(',').slice(0, 64);
        for (const n of names) if (!n.includes('*') && !idx(n)) return notFound(n);
        for (const n of names) {
          const re = new RegExp(`^${n.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
          for (const k of [...st.indices.keys()]) if (re.test(k)) st.indices.delete(k);
        }
        return json(200, { acknowledged: true });
      }
      if (method === 'GET' || method === 'HEAD') {
        const ix = idx(a);
        if (!ix) return notFound(a);
        return json(200, {
          [a]: {
            aliases: {},
            mappings: {},
            settings: { index: { routing: { allocation: { include: { _tier_preference: 'data_content' } } }, number_of_shards: '1', provided_name: a, creation_date: '1733130000000', number_of_replicas: '1', uuid: ix.uuid, version: { created: v.major >= 8 ? '8500010' : '7171899' } } },
          },
        });
      }
      if (method === 'POST') return noHandler();
      return badMethod('PUT, DELETE, GET, HEAD');
    }
    if (b === '_search' && segs.length === 2) return search(a);
    if (b === '_doc' && (segs.length === 2 || segs.length === 3)) {
      if (segs.length === 2 && method === 'POST') return docWrite(a, undefined);
      if (segs.length === 3 && (method === 'PUT' || method === 'POST')) return docWrite(a, c);
      if (segs.length === 3 && method === 'GET') {
        if (!idx(a)) return notFound(a);
        fields['es_index'] = a;
        return json(404, { _index: a, _id: c!, found: false });
      }
      if (segs.length === 3 && method === 'DELETE') {
        if (!idx(a)) return notFound(a);
        fields['technique'] = 'doc_delete';
        fields['es_index'] = a;
        return json(404, { _index: a, _id: c!, _version: 1, result: 'not_found', _shards: shards, _seq_no: st.seq, _primary_term: 1 });
      }
      return badMethod(segs.length === 2 ? 'POST' : 'PUT, DELETE, POST, GET, HEAD');
    }
    if (b === '_create' && segs.length === 3 && (method === 'PUT' || method === 'POST')) return docWrite(a, c);
    if (b === '_count' && segs.length === 2) {
      const ix = idx(a);
      if (!ix) return notFound(a);
      return json(200, { count: ix.docs, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } });
    }
    if ((b === '_mapping' || b === '_settings') && segs.length === 2 && method === 'GET') {
      if (!idx(a)) return notFound(a);
      return json(200, { [a]: b === '_mapping' ? { mappings: {} } : { settings: { index: { number_of_shards: '1', number_of_replicas: '1', provided_name: a } } } });
    }
    if (b === '_update' && segs.length === 3 && method === 'POST') return docWrite(a, c);
  }
  return noHandler();
}
