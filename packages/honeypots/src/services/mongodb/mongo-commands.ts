/**
 * Command layer of the mongod honeypot (pure: no I/O). A standalone 6.0
 * mongod "left open" (no access control): reads see the bait data, writes are
 * acknowledged into a per-connection copy, SCRAM logins run up to the client
 * proof and then fail with AuthenticationFailed.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Binary, BSON, Double, EJSON, Long, ObjectId, Timestamp, UUID, type Document } from 'bson';
import { DB_SIZES, initialDatabases, type Collection, type Databases } from './mongo-data.js';

export interface ServerInfo {
  version: string;
  hostname: string;
  port: number;
  startTime: Date;
  processId: ObjectId;
  /** per-process secret for stable fake SCRAM salts */
  saltKey: Buffer;
  pid: number;
}

/** maxWireVersion by server major.minor */
const WIRE: Record<string, number> = { '3.6': 6, '4.0': 7, '4.2': 8, '4.4': 9, '5.0': 13, '5.1': 14, '5.2': 15, '5.3': 16, '6.0': 17, '6.1': 18, '6.2': 19, '6.3': 20, '7.0': 21, '7.1': 22, '7.2': 23, '7.3': 24, '8.0': 25 };

export function wireVersionFor(version: string): number {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return 17;
  const key = `${m[1]}.${m[2]}`;
  if (WIRE[key] !== undefined) return WIRE[key];
  const major = Number(m[1]);
  return major >= 8 ? 25 : major === 7 ? 21 : major === 6 ? 17 : major === 5 ? 13 : 9;
}

/** git hashes of release builds we know; others get a stable made-up one */
const GIT_VERSIONS: Record<string, string> = { '6.0.14': '25225db95574916fecab3af75b184409f8713aef' };

export function gitVersionFor(version: string): string {
  return GIT_VERSIONS[version] ?? createHmac('sha1', 'mongod').update(version).digest('hex');
}

export interface ScramState {
  mechanism: 'SCRAM-SHA-1' | 'SCRAM-SHA-256';
  db: string;
  user: string;
  clientFirst: string;
  serverFirst: string;
  salt: Buffer;
  iterations: number;
}

export interface Session {
  connectionId: number;
  client: string;
  dbs: Databases;
  scram?: ScramState;
  /** client metadata from the handshake, once */
  clientMeta?: Document;
  writes: number;
  /** approximate bytes written into this connection's copy (bounded by MAX_STORED_BYTES) */
  storedBytes: number;
}

export function newSession(info: ServerInfo, connectionId: number, client: string): Session {
  return { connectionId, client, dbs: initialDatabases(info.hostname, info.startTime), writes: 0, storedBytes: 0 };
}

/** One piece of the outcome of a command, for the shell to emit. */
export interface AuthCapture {
  principal: string;
  mechanism: string;
  db: string;
  clientFirst: string;
  clientFinal: string;
  serverFirst: string;
  salt: Buffer;
  iterations: number;
  /** the p= ClientProof, base64 */
  proof: string;
}

export interface CommandResult {
  reply: Document;
  /** name of the command as sent */
  command: string;
  write?: boolean;
  collection?: string;
  auth?: AuthCapture;
  /** SCRAM username seen in saslStart */
  authStart?: { principal: string; mechanism: string; db: string; clientFirst: string };
}

export const MAX_STORED_DOCS = 2000;
export const MAX_STORED_BYTES = 1 << 20;

/** Account for `v` being stored; false once this connection's write budget is spent. */
function budget(s: Session, v: unknown): boolean {
  let n = 16;
  try {
    n += v && typeof v === 'object' ? BSON.calculateObjectSize(v as Document) : 16;
  } catch {
    n += 1024;
  }
  if (s.storedBytes + n > MAX_STORED_BYTES) return false;
  s.storedBytes += n;
  return true;
}

const err = (code: number, codeName: string, errmsg: string): Document => ({ ok: 0, errmsg, code, codeName });
const AUTH_FAILED = err(18, 'AuthenticationFailed', 'Authentication failed.');

/** Render a command document for an event: relaxed Extended JSON, truncated. */
export function argsJson(doc: Document, max = 2048): string {
  let s: string;
  try {
    s = EJSON.stringify(doc, { relaxed: true });
  } catch {
    s = '[unrenderable]';
  }
  return s.length > max ? `${s.slice(0, max)}...[${s.length} chars]` : s;
}

function num(v: unknown, def: number): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v instanceof Long) return v.toNumber();
  if (v && typeof v === 'object' && '_bsontype' in v && typeof (v as { valueOf(): unknown }).valueOf() === 'number') return (v as { valueOf(): number }).valueOf();
  return def;
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0) return false;
  return num(v, 1) !== 0;
}

// ---------------------------------------------------------------- matching

function eqValue(a: unknown, b: unknown): boolean {
  if (a instanceof ObjectId && b instanceof ObjectId) return a.equals(b);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a && b && typeof a === 'object' && typeof b === 'object' && 'toHexString' in (a as object) && 'toHexString' in (b as object)) {
    return (a as ObjectId).toHexString() === (b as ObjectId).toHexString();
  }
  if (typeof a === 'object' || typeof b === 'object') {
    const x = a as { valueOf?: () => unknown };
    const y = b as { valueOf?: () => unknown };
    const va = x?.valueOf?.() ?? a;
    const vb = y?.valueOf?.() ?? b;
    if (typeof va !== 'object' && typeof vb !== 'object') return va === vb;
    return argsJson({ v: a }) === argsJson({ v: b });
  }
  return a === b;
}

function getPath(doc: Document, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.').slice(0, 8)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Document)[part];
  }
  return cur;
}

function cmpValue(a: unknown, b: unknown): number | undefined {
  const va = a instanceof Date ? a.getTime() : num(a, NaN);
  const vb = b instanceof Date ? b.getTime() : num(b, NaN);
  if (!Number.isNaN(va) && !Number.isNaN(vb)) return va - vb;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

function matchCond(v: unknown, cond: unknown): boolean {
  const values = Array.isArray(v) ? [v, ...v] : [v];
  if (cond && typeof cond === 'object' && !Array.isArray(cond) && !(cond instanceof ObjectId) && !(cond instanceof Date) && !('_bsontype' in (cond as object))) {
    const ops = Object.entries(cond as Document);
    if (ops.length > 0 && ops.every(([k]) => k.startsWith('$'))) {
      return ops.every(([op, arg]) => {
        switch (op) {
          case '$eq':
            return values.some((x) => eqValue(x, arg));
          case '$ne':
            return !values.some((x) => eqValue(x, arg));
          case '$in':
            return Array.isArray(arg) && arg.slice(0, 1000).some((a) => values.some((x) => eqValue(x, a)));
          case '$nin':
            return Array.isArray(arg) && !arg.slice(0, 1000).some((a) => values.some((x) => eqValue(x, a)));
          case '$exists':
            return truthy(arg) === (v !== undefined);
          case '$gt':
          case '$gte':
          case '$lt':
          case '$lte':
            return values.some((x) => {
              const c = cmpValue(x, arg);
              if (c === undefined) return false;
              return op === '$gt' ? c > 0 : op === '$gte' ? c >= 0 : op === '$lt' ? c < 0 : c <= 0;
            });
          case '$regex': {
            // never run an attacker's regex: plain substring on its literal characters
            const lit = String(arg).replace(/[\\^$.*+?()[\]{}|]/g, '');
            return values.some((x) => typeof x === 'string' && x.toLowerCase().includes(lit.toLowerCase()));
          }
          default:
            return true; // operators we do not model match everything
        }
      });
    }
  }
  return values.some((x) => eqValue(x, cond));
}

export function matches(doc: Document, filter: unknown, depth = 0): boolean {
  if (!filter || typeof filter !== 'object' || depth > 8) return true;
  for (const [k, cond] of Object.entries(filter as Document).slice(0, 64)) {
    if (k === '$and' || k === '$or' || k === '$nor') {
      if (!Array.isArray(cond)) continue;
      const parts = cond.slice(0, 64).map((c) => matches(doc, c, depth + 1));
      if (k === '$and' && !parts.every(Boolean)) return false;
      if (k === '$or' && parts.length > 0 && !parts.some(Boolean)) return false;
      if (k === '$nor' && parts.some(Boolean)) return false;
      continue;
    }
    if (k.startsWith('$')) continue;
    if (!matchCond(getPath(doc, k), cond)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- replies

function helloReply(info: ServerInfo, s: Session, cmd: string, body: Document): Document {
  const legacy = cmd.toLowerCase() === 'ismaster';
  const r: Document = {};
  if (truthy(body['helloOk'])) r['helloOk'] = true;
  r[legacy ? 'ismaster' : 'isWritablePrimary'] = true;
  r['topologyVersion'] = { processId: info.processId, counter: Long.fromNumber(0) };
  r['maxBsonObjectSize'] = 16777216;
  r['maxMessageSizeBytes'] = 48000000;
  r['maxWriteBatchSize'] = 100000;
  r['localTime'] = new Date();
  r['logicalSessionTimeoutMinutes'] = 30;
  r['connectionId'] = s.connectionId;
  r['minWireVersion'] = 0;
  r['maxWireVersion'] = wireVersionFor(info.version);
  r['readOnly'] = false;
  // a real server lists mechanisms only for an existing user; here every user "exists"
  if (typeof body['saslSupportedMechs'] === 'string' && body['saslSupportedMechs'].includes('.')) r['saslSupportedMechs'] = ['SCRAM-SHA-1', 'SCRAM-SHA-256'];
  r['ok'] = 1;
  return r;
}

export function buildInfoReply(info: ServerInfo): Document {
  const parts = info.version.split(/[.-]/).map((x) => Number.parseInt(x, 10));
  const wire = wireVersionFor(info.version);
  return {
    version: info.version,
    gitVersion: gitVersionFor(info.version),
    openssl: { running: 'OpenSSL 3.0.2 15 Mar 2022', compiled: 'OpenSSL 3.0.2 15 Mar 2022' },
    modules: [],
    allocator: 'tcmalloc',
    javascriptEngine: 'mozjs',
    sysInfo: 'deprecated',
    versionArray: [parts[0] || 0, parts[1] || 0, parts[2] || 0, 0],
    buildEnvironment: {
      distmod: 'ubuntu2204',
      distarch: 'x86_64',
      cc: '/opt/mongodbtoolchain/v4/bin/gcc: gcc (GCC) 11.3.0',
      ccflags: '-Werror -include mongo/platform/basic.h -ffp-contract=off -fasynchronous-unwind-tables -ggdb -Wall -Wsign-compare -Wno-unknown-pragmas -Winvalid-pch -gdwarf-5 -fno-omit-frame-pointer -fno-strict-aliasing -O2 -march=sandybridge -mtune=generic -mprefer-vector-width=128 -Wno-unused-local-typedefs -Wno-unused-function -Wno-deprecated-declarations -Wno-unused-const-variable -Wno-unused-but-set-variable -Wno-missing-braces -fstack-protector-strong -gdwarf64 -Wa,--nocompress-debug-sections -fno-builtin-memcmp -Wimplicit-fallthrough=5',
      cxx: '/opt/mongodbtoolchain/v4/bin/g++: g++ (GCC) 11.3.0',
      cxxflags: '-Woverloaded-virtual -Wpessimizing-move -Wno-maybe-uninitialized -fsized-deallocation -Wno-deprecated -std=c++20',
      linkflags: '-Wl,--fatal-warnings -B/opt/mongodbtoolchain/v4/bin -gdwarf-5 -pthread -Wl,-z,now -fuse-ld=lld -fstack-protector-strong -gdwarf64 -Wl,--build-id -Wl,--hash-style=gnu -Wl,-z,noexecstack -Wl,--warn-execstack -Wl,-z,relro -Wl,--compress-debug-sections=none -Wl,-z,origin -Wl,--enable-new-dtags',
      target_arch: 'x86_64',
      target_os: 'linux',
      cppdefines: 'SAFEINT_USE_INTRINSICS 0 PCRE2_STATIC NDEBUG _XOPEN_SOURCE 700 _GNU_SOURCE _FORTIFY_SOURCE 2 ABSL_FORCE_ALIGNED_ACCESS BOOST_ENABLE_ASSERT_DEBUG_HANDLER BOOST_FILESYSTEM_NO_CXX20_ATOMIC_REF BOOST_LOG_NO_SHORTHAND_NAMES BOOST_LOG_USE_NATIVE_SYSLOG BOOST_LOG_WITHOUT_THREAD_ATTR BOOST_MATH_NO_LONG_DOUBLE_MATH_FUNCTIONS BOOST_SYSTEM_NO_DEPRECATED BOOST_THREAD_USES_DATETIME BOOST_THREAD_VERSION 5',
    },
    bits: 64,
    debug: false,
    maxBsonObjectSize: 16777216,
    storageEngines: wire >= 18 ? ['devnull', 'wiredTiger'] : ['devnull', 'ephemeralForTest', 'wiredTiger'],
    ok: 1,
  };
}

function uptimeSecs(info: ServerInfo): number {
  return Math.max(1, (Date.now() - info.startTime.getTime()) / 1000);
}

/** A plausible subset of serverStatus. The only "version" key is the top-level one (nmap reads it). */
export function serverStatusReply(info: ServerInfo, s: Session, live: number): Document {
  const up = uptimeSecs(info);
  const ops = Math.floor(up * 3.7);
  return {
    host: info.hostname,
    version: info.version,
    process: 'mongod',
    pid: Long.fromNumber(info.pid),
    uptime: new Double(Math.floor(up)),
    uptimeMillis: Long.fromNumber(Math.floor(up * 1000)),
    uptimeEstimate: Long.fromNumber(Math.floor(up)),
    localTime: new Date(),
    asserts: { regular: 0, warning: 0, msg: 0, user: Math.floor(ops / 400), tripwire: 0, rollovers: 0 },
    connections: { current: live, available: 838860 - live, totalCreated: s.connectionId, active: 1, threaded: live, exhaustIsMaster: 0, exhaustHello: 0, awaitingTopologyChanges: 0 },
    electionMetrics: { stepUpCmd: { called: Long.fromNumber(0), successful: Long.fromNumber(0) } },
    globalLock: { totalTime: Long.fromNumber(Math.floor(up * 1e6)), currentQueue: { total: 0, readers: 0, writers: 0 }, activeClients: { total: 0, readers: 0, writers: 0 } },
    locks: { Global: { acquireCount: { r: Long.fromNumber(ops * 3), w: Long.fromNumber(ops), W: Long.fromNumber(4) } } },
    mem: { bits: 64, resident: 182, virtual: 2705, supported: true },
    network: { bytesIn: Long.fromNumber(ops * 180), bytesOut: Long.fromNumber(ops * 920), physicalBytesIn: Long.fromNumber(ops * 180), physicalBytesOut: Long.fromNumber(ops * 920), numRequests: Long.fromNumber(ops) },
    opcounters: { insert: Long.fromNumber(Math.floor(ops / 50)), query: Long.fromNumber(Math.floor(ops / 3)), update: Long.fromNumber(Math.floor(ops / 40)), delete: Long.fromNumber(0), getmore: Long.fromNumber(0), command: Long.fromNumber(ops) },
    storageEngine: { name: 'wiredTiger', supportsCommittedReads: true, oldestRequiredTimestampForCrashRecovery: new Timestamp({ t: 0, i: 0 }), supportsPendingDrops: true, dropPendingIdents: Long.fromNumber(0), supportsSnapshotReadConcern: true, readOnly: false, persistent: true, backupCursorOpen: false },
    ok: 1,
  };
}

function hostInfoReply(info: ServerInfo): Document {
  return {
    system: { currentTime: new Date(), hostname: info.port === 27017 ? info.hostname : `${info.hostname}:${info.port}`, cpuAddrSize: 64, memSizeMB: Long.fromNumber(7956), memLimitMB: Long.fromNumber(7956), numCores: 4, numPhysicalCores: 2, numCpuSockets: 1, cpuArch: 'x86_64', numaEnabled: false, numNumaNodes: 1 },
    os: { type: 'Linux', name: 'Ubuntu', version: '22.04' },
    extra: {
      versionString: 'Linux version 5.15.0-91-generic (buildd@lcy02-amd64-045) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023',
      libcVersion: '2.35',
      kernelVersion: '5.15.0-91-generic',
      cpuFrequencyMHz: '2199.998',
      cpuFeatures: 'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch invpcid_single pti fsgsbase bmi1 hle avx2 smep bmi2 erms invpcid rtm rdseed adx smap xsaveopt arat md_clear arch_capabilities',
      pageSize: Long.fromNumber(4096),
      numPages: 2036916,
      maxOpenFiles: 1048576,
      physicalCores: 2,
      mountInfo: [],
    },
    ok: 1,
  };
}

/** mongod's structured log line, with its column padding ("s" to 2, "c" to 8, "id" to 8) */
export function logLine(at: Date, sev: string, comp: string, id: number, msg: string): string {
  const t = at.toISOString().replace('Z', '+00:00');
  const pad = (v: string, w: number) => `${v},${' '.repeat(Math.max(1, w - v.length))}`;
  return `{"t":{"$date":"${t}"},${pad(`"s":"${sev}"`, 9)}${pad(`"c":"${comp}"`, 15)}${pad(`"id":${id}`, 13)}"ctx":"initandlisten","msg":${JSON.stringify(msg)},"tags":["startupWarnings"]}`;
}

function startupWarnings(info: ServerInfo): string[] {
  const t0 = info.startTime.getTime();
  return [
    logLine(new Date(t0 + 6), 'I', 'STORAGE', 22297, 'Using the XFS filesystem is strongly recommended with the WiredTiger storage engine. See http://dochub.mongodb.org/core/prodnotes-filesystem'),
    logLine(new Date(t0 + 1335), 'W', 'CONTROL', 22120, 'Access control is not enabled for the database. Read and write access to data and configuration is unrestricted'),
  ];
}

// ---------------------------------------------------------------- data commands

const MAX_DBS = 64;
const MAX_COLLECTIONS = 256;

function collOf(s: Session, db: string, name: string, create = false): Collection | undefined {
  const d = s.dbs.get(db);
  const c = d?.get(name);
  if (c || !create) return c;
  const fresh: Collection = { uuid: new UUID(), docs: [], indexes: [] };
  const total = [...s.dbs.values()].reduce((n, x) => n + x.size, 0);
  // past the caps the write is acknowledged but not kept
  if (total >= MAX_COLLECTIONS || (!d && s.dbs.size >= MAX_DBS)) return fresh;
  if (d) d.set(name, fresh);
  else s.dbs.set(db, new Map([[name, fresh]]));
  return fresh;
}

function cursorReply(db: string, coll: string, batch: Document[], first = true): Document {
  return { cursor: { [first ? 'firstBatch' : 'nextBatch']: batch, id: Long.fromNumber(0), ns: `${db}.${coll}` }, ok: 1 };
}

function validName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length < 256 && !v.includes('\0') && !v.includes('$');
}

function applyUpdate(doc: Document, u: unknown): Document {
  if (!u || typeof u !== 'object' || Array.isArray(u)) return doc;
  const entries = Object.entries(u as Document);
  if (entries.length > 0 && entries[0]![0].startsWith('$')) {
    const out = { ...doc };
    for (const [op, fields] of entries) {
      if (!fields || typeof fields !== 'object') continue;
      for (const [k, v] of Object.entries(fields as Document).slice(0, 64)) {
        if (k === '_id' || k.includes('.')) continue;
        if (op === '$set') out[k] = v;
        else if (op === '$unset') delete out[k];
        else if (op === '$inc') out[k] = num(out[k], 0) + num(v, 0);
      }
    }
    return out;
  }
  return { _id: doc['_id'], ...(u as Document) };
}

function sizeOnDisk(s: Session, name: string): number {
  const base = DB_SIZES[name];
  if (base !== undefined) return base;
  const d = s.dbs.get(name);
  const docs = d ? [...d.values()].reduce((n, c) => n + c.docs.length, 0) : 0;
  return 8192 * (2 + Math.ceil(docs / 20));
}

function runPipeline(docs: Document[], pipeline: unknown): Document[] | Document {
  if (!Array.isArray(pipeline)) return err(14, 'TypeMismatch', "'pipeline' option must be specified as an array");
  let cur = docs;
  for (const stage of pipeline.slice(0, 32)) {
    if (!stage || typeof stage !== 'object') return err(40323, 'Location40323', 'A pipeline stage specification object must contain exactly one field.');
    const [name, arg] = Object.entries(stage as Document)[0] ?? ['', undefined];
    switch (name) {
      case '$match':
        cur = cur.filter((d) => matches(d, arg));
        break;
      case '$limit':
        cur = cur.slice(0, Math.max(0, num(arg, cur.length)));
        break;
      case '$skip':
        cur = cur.slice(Math.max(0, num(arg, 0)));
        break;
      case '$count':
        cur = cur.length > 0 ? [{ [typeof arg === 'string' ? arg : 'count']: cur.length }] : [];
        break;
      case '$group': {
        // the shape drivers use for countDocuments: { _id: <const>, n: { $sum: 1 } }
        const g = (arg ?? {}) as Document;
        const out: Document = { _id: g['_id'] ?? null };
        for (const [k, v] of Object.entries(g)) {
          if (k === '_id') continue;
          out[k] = v && typeof v === 'object' && '$sum' in v ? cur.length * num((v as Document)['$sum'], 1) : null;
        }
        cur = cur.length > 0 ? [out] : [];
        break;
      }
      case '$sort':
      case '$project':
      case '$addFields':
      case '$set':
      case '$unset':
        break;
      default:
        if (!name.startsWith('$')) return err(40324, 'Location40324', `Unrecognized pipeline stage name: '${name.slice(0, 64)}'`);
    }
  }
  return cur;
}

function listCollectionsReply(s: Session, db: string, body: Document): Document {
  const d = s.dbs.get(db);
  const nameOnly = truthy(body['nameOnly']);
  const out: Document[] = [];
  for (const [name, c] of d ?? []) {
    const entry: Document = nameOnly ? { name, type: 'collection' } : { name, type: 'collection', options: {}, info: { readOnly: false, uuid: c.uuid }, idIndex: { v: 2, key: { _id: 1 }, name: '_id_' } };
    if (matches(entry, body['filter'])) out.push(entry);
  }
  return cursorReply(db, '$cmd.listCollections', out);
}

// ---------------------------------------------------------------- SCRAM

function parseScram(msg: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of msg.split(',').slice(0, 32)) {
    const eq = part.indexOf('=');
    if (eq === 1) m.set(part[0]!, part.slice(2));
  }
  return m;
}

function payloadString(v: unknown): string {
  let b: Buffer;
  if (v instanceof Binary) b = Buffer.from(v.buffer);
  else if (typeof v === 'string') b = Buffer.from(v, 'utf8');
  else if (v instanceof Uint8Array) b = Buffer.from(v);
  else b = Buffer.alloc(0);
  return b.subarray(0, 4096).toString('latin1');
}

function saslStart(info: ServerInfo, s: Session, db: string, body: Document): CommandResult {
  const mechanism = String(body['mechanism'] ?? '');
  const command = 'saslStart';
  const clientFirst = payloadString(body['payload']);
  if (mechanism !== 'SCRAM-SHA-1' && mechanism !== 'SCRAM-SHA-256') {
    return { command, reply: err(2, 'BadValue', `Received authentication for mechanism ${mechanism.slice(0, 64)} which is not enabled`) , authStart: { principal: '', mechanism: mechanism.slice(0, 64), db, clientFirst } };
  }
  // gs2 header "n,," then n=user,r=nonce
  const bare = clientFirst.replace(/^[nyp][^,]*,[^,]*,/, '');
  const attrs = parseScram(bare);
  const user = (attrs.get('n') ?? '').replace(/=2C/g, ',').replace(/=3D/g, '=').slice(0, 256);
  const nonce = attrs.get('r') ?? '';
  if (!/^n|^y|^p/.test(clientFirst) || !nonce) {
    return { command, reply: err(17, 'ProtocolError', 'Invalid SCRAM client first message'), authStart: { principal: user, mechanism, db, clientFirst } };
  }
  const sha256 = mechanism === 'SCRAM-SHA-256';
  const salt = createHmac('sha256', info.saltKey).update(`${mechanism}\0${db}\0${user}`).digest().subarray(0, sha256 ? 28 : 16);
  const iterations = sha256 ? 15000 : 10000;
  const serverFirst = `r=${nonce}${randomBytes(24).toString('base64')},s=${salt.toString('base64')},i=${iterations}`;
  s.scram = { mechanism, db, user, clientFirst, serverFirst, salt, iterations };
  return {
    command,
    reply: { conversationId: 1, done: false, payload: new Binary(Buffer.from(serverFirst, 'latin1')), ok: 1 },
    authStart: { principal: user, mechanism, db, clientFirst },
  };
}

function saslContinue(s: Session, body: Document): CommandResult {
  const command = 'saslContinue';
  const st = s.scram;
  s.scram = undefined;
  if (!st) return { command, reply: err(17, 'ProtocolError', 'No SASL session state found') };
  const clientFinal = payloadString(body['payload']);
  const proof = parseScram(clientFinal).get('p') ?? '';
  return {
    command,
    reply: AUTH_FAILED,
    auth: { principal: st.user, mechanism: st.mechanism, db: st.db, clientFirst: st.clientFirst, clientFinal, serverFirst: st.serverFirst, salt: st.salt, iterations: st.iterations, proof },
  };
}

// ---------------------------------------------------------------- dispatch

/**
 * Run one command (the OP_MSG body, or the OP_QUERY query document).
 * `sequences` are OP_MSG kind-1 sections (e.g. insert `documents`).
 */
export function execute(info: ServerInfo, s: Session, db: string, body: Document, sequences: Record<string, Document[]> = {}, live = 1): CommandResult {
  const keys = Object.keys(body);
  let command = keys[0] ?? '';
  // OP_QUERY wraps the command as { $query: {...}, $readPreference: ... }
  if ((command === '$query' || command === 'query') && body[command] && typeof body[command] === 'object') {
    body = body[command] as Document;
    command = Object.keys(body)[0] ?? '';
  }
  const arg = body[command];
  const R = (reply: Document, extra: Partial<CommandResult> = {}): CommandResult => ({ command, reply, ...extra });
  const seq = (name: string): Document[] => {
    const fromBody = body[name];
    const a = Array.isArray(fromBody) ? (fromBody as Document[]) : [];
    return [...a, ...(sequences[name] ?? [])].slice(0, 100000);
  };
  if (!command) return R(err(59, 'CommandNotFound', "no such command: ''"));
  switch (command) {
    case 'hello':
    case 'isMaster':
    case 'ismaster':
      if (body['client'] && !s.clientMeta && typeof body['client'] === 'object') s.clientMeta = body['client'] as Document;
      return R(helloReply(info, s, command, body));
    case 'ping':
      return R({ ok: 1 });
    case 'buildInfo':
    case 'buildinfo':
      return R(buildInfoReply(info));
    case 'serverStatus':
      return R(serverStatusReply(info, s, live));
    case 'hostInfo':
      return R(hostInfoReply(info));
    case 'whatsmyuri':
      return R({ you: s.client, ok: 1 });
    case 'connectionStatus':
      return R({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 });
    case 'getCmdLineOpts':
      return R({ argv: ['mongod', '--bind_ip_all'], parsed: { net: { bindIp: '*' } }, ok: 1 });
    case 'getParameter': {
      const out: Document = {};
      if (body['featureCompatibilityVersion'] !== undefined || arg === '*') out['featureCompatibilityVersion'] = { version: `${info.version.split('.').slice(0, 2).join('.')}` };
      if (body['authenticationMechanisms'] !== undefined || arg === '*') out['authenticationMechanisms'] = ['MONGODB-X509', 'SCRAM-SHA-1', 'SCRAM-SHA-256'];
      if (Object.keys(out).length === 0) return R(err(72, 'InvalidOptions', 'no option found to get'));
      return R({ ...out, ok: 1 });
    }
    case 'getFreeMonitoringStatus':
      return R({ state: 'undecided', ok: 1 });
    case 'getLog': {
      if (arg === '*') return R({ names: ['global', 'startupWarnings'], ok: 1 });
      if (arg === 'startupWarnings' || arg === 'global') {
        const log = startupWarnings(info);
        return R({ totalLinesWritten: log.length, log, ok: 1 });
      }
      return R(err(2, 'BadValue', `No log named '${String(arg).slice(0, 64)}'`));
    }
    case 'endSessions':
    case 'startSession':
      return R(command === 'startSession' ? { id: { id: new UUID() }, timeoutMinutes: 30, ok: 1 } : { ok: 1 });
    case 'killCursors':
      return R({ cursorsKilled: [], cursorsNotFound: Array.isArray(body['cursors']) ? body['cursors'].slice(0, 100) : [], cursorsAlive: [], cursorsUnknown: [], ok: 1 });
    case 'getMore':
      return R(err(43, 'CursorNotFound', `cursor id ${String(num(arg, 0))} not found`));
    case 'listDatabases': {
      const nameOnly = truthy(body['nameOnly']);
      const names = [...s.dbs.keys()].filter((n) => (s.dbs.get(n)?.size ?? 0) > 0).sort();
      const dbsOut = names.map((n) => (nameOnly ? { name: n } : { name: n, sizeOnDisk: new Double(sizeOnDisk(s, n)), empty: false }));
      const filtered = dbsOut.filter((d) => matches(d, body['filter']));
      if (nameOnly) return R({ databases: filtered, ok: 1 });
      const total = names.reduce((n, x) => n + sizeOnDisk(s, x), 0);
      return R({ databases: filtered, totalSize: new Double(total), totalSizeMb: Long.fromNumber(Math.floor(total / 1048576)), ok: 1 });
    }
    case 'listCollections':
      return R(listCollectionsReply(s, db, body));
    case 'listIndexes': {
      if (!validName(arg)) return R(err(73, 'InvalidNamespace', 'Invalid namespace specified'));
      const c = collOf(s, db, arg);
      if (!c) return R(err(26, 'NamespaceNotFound', `ns does not exist: ${db}.${arg}`));
      const idx = [{ v: 2, key: { _id: 1 }, name: '_id_' }, ...c.indexes.map((i) => ({ v: 2, key: i.key, name: i.name, ...(i.unique ? { unique: true } : {}) }))];
      return R(cursorReply(db, arg, idx), { collection: arg });
    }
    case 'dbStats': {
      const d = s.dbs.get(db);
      const objects = d ? [...d.values()].reduce((n, c) => n + c.docs.length, 0) : 0;
      return R({ db, collections: d?.size ?? 0, views: 0, objects, avgObjSize: objects ? 312 : 0, dataSize: objects * 312, storageSize: sizeOnDisk(s, db) / 2, indexes: d ? d.size + [...d.values()].reduce((n, c) => n + c.indexes.length, 0) : 0, indexSize: sizeOnDisk(s, db) / 2, totalSize: sizeOnDisk(s, db), scaleFactor: 1, fsUsedSize: 21474836480, fsTotalSize: 52521566208, ok: 1 });
    }
    case 'find': {
      if (!validName(arg)) return R(err(73, 'InvalidNamespace', 'Invalid namespace specified'));
      const c = collOf(s, db, arg);
      let docs = (c?.docs ?? []).filter((d) => matches(d, body['filter']));
      docs = docs.slice(Math.max(0, num(body['skip'], 0)));
      const limit = Math.abs(num(body['limit'], 0));
      if (limit > 0) docs = docs.slice(0, limit);
      return R(cursorReply(db, arg, docs.slice(0, 101)), { collection: arg });
    }
    case 'count': {
      if (!validName(arg)) return R(err(73, 'InvalidNamespace', 'Invalid namespace specified'));
      const n = (collOf(s, db, arg)?.docs ?? []).filter((d) => matches(d, body['query'])).length;
      return R({ n, ok: 1 }, { collection: arg });
    }
    case 'distinct': {
      if (!validName(arg)) return R(err(73, 'InvalidNamespace', 'Invalid namespace specified'));
      const key = String(body['key'] ?? '');
      const vals: unknown[] = [];
      for (const d of (collOf(s, db, arg)?.docs ?? []).filter((x) => matches(x, body['query']))) {
        const v = getPath(d, key);
        if (v !== undefined && !vals.some((x) => eqValue(x, v))) vals.push(v);
      }
      return R({ values: vals, ok: 1 }, { collection: arg });
    }
    case 'aggregate': {
      const name = arg === 1 ? '$cmd.aggregate' : arg;
      if (!validName(name) && name !== '$cmd.aggregate') return R(err(73, 'InvalidNamespace', 'Invalid namespace specified'));
      const docs = name === '$cmd.aggregate' ? [] : (collOf(s, db, name)?.docs ?? []);
      const out = runPipeline(docs, body['pipeline']);
      if (!Array.isArray(out)) return R(out);
      return R(cursorReply(db, name, out.slice(0, 101)), { collection: name });
    }
    case 'insert': {
      if (!validName(arg)) return R(err(73, 'InvalidNamespace', 'Invalid namespace specified'));
      const docs = seq('documents');
      const c = collOf(s, db, arg, true)!;
      for (const d of docs) {
        if (s.writes >= MAX_STORED_DOCS || !budget(s, d)) break;
        c.docs.push(d && typeof d === 'object' && d['_id'] !== undefined ? d : { _id: new ObjectId(), ...d });
        s.writes++;
      }
      return R({ n: docs.length, ok: 1 }, { write: true, collection: arg });
    }
    case 'update': {
      if (!validName(arg)) return R(err(73, 'InvalidNamespace', 'Invalid namespace specified'));
      const c = collOf(s, db, arg);
      let n = 0;
      let nModified = 0;
      const upserted: Document[] = [];
      seq('updates').slice(0, 1000).forEach((u, index) => {
        if (!u || typeof u !== 'object' || !budget(s, u)) return;
        const docs = c?.docs ?? [];
        const multi = truthy(u['multi']);
        let hit = false;
        for (let i = 0; i < docs.length; i++) {
          if (!matches(docs[i]!, u['q'])) continue;
          hit = true;
          n++;
          nModified++;
          docs[i] = applyUpdate(docs[i]!, u['u']);
          if (!multi) break;
        }
        if (!hit && truthy(u['upsert'])) {
          const id = new ObjectId();
          collOf(s, db, arg, true)!.docs.push(applyUpdate({ _id: id }, u['u']));
          upserted.push({ index, _id: id });
          n++;
        }
      });
      return R({ n, ...(upserted.length ? { upserted } : {}), nModified, ok: 1 }, { write: true, collection: arg });
    }
    case 'delete': {
      if (!validName(arg)) return R(err(73, 'InvalidNamespace', 'Invalid namespace specified'));
      const c = collOf(s, db, arg);
      let n = 0;
      for (const d of seq('deletes').slice(0, 1000)) {
        if (!c || !d || typeof d !== 'object') continue;
        const one = num(d['limit'], 0) === 1;
        for (let i = 0; i < c.docs.length; i++) {
          if (!matches(c.docs[i]!, d['q'])) continue;
          c.docs.splice(i--, 1);
          n++;
          if (one) break;
        }
      }
      return R({ n, ok: 1 }, { write: true, collection: arg });
    }
    case 'findAndModify':
    case 'findandmodify': {
      if (!validName(arg)) return R(err(73, 'InvalidNamespace', 'Invalid namespace specified'));
      const c = collOf(s, db, arg);
      const i = c ? c.docs.findIndex((d) => matches(d, body['query'])) : -1;
      if (i < 0 || !c) return R({ lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 }, { write: true, collection: arg });
      const before = c.docs[i]!;
      if (!truthy(body['remove']) && !budget(s, body['update'])) return R({ lastErrorObject: { n: 1, updatedExisting: true }, value: before, ok: 1 }, { write: true, collection: arg });
      if (truthy(body['remove'])) c.docs.splice(i, 1);
      else c.docs[i] = applyUpdate(before, body['update']);
      return R({ lastErrorObject: { n: 1, updatedExisting: !truthy(body['remove']) }, value: truthy(body['new']) ? c.docs[i] ?? null : before, ok: 1 }, { write: true, collection: arg });
    }
    case 'create': {
      if (!validName(arg)) return R(err(73, 'InvalidNamespace', 'Invalid namespace specified'));
      if (collOf(s, db, arg)) return R(err(48, 'NamespaceExists', `Collection ${db}.${arg} already exists.`), { write: true, collection: arg });
      collOf(s, db, arg, true);
      return R({ ok: 1 }, { write: true, collection: arg });
    }
    case 'createIndexes': {
      if (!validName(arg)) return R(err(73, 'InvalidNamespace', 'Invalid namespace specified'));
      const existed = collOf(s, db, arg) !== undefined;
      const c = collOf(s, db, arg, true)!;
      const before = 1 + c.indexes.length;
      for (const ix of (Array.isArray(body['indexes']) ? body['indexes'] : []).slice(0, 64)) {
        if (ix && typeof ix === 'object' && typeof ix['name'] === 'string' && budget(s, ix) && !c.indexes.some((x) => x.name === ix['name'])) c.indexes.push({ name: String(ix['name']).slice(0, 128), key: (ix['key'] as Document) ?? {} });
      }
      return R({ numIndexesBefore: before, numIndexesAfter: 1 + c.indexes.length, createdCollectionAutomatically: !existed, ok: 1 }, { write: true, collection: arg });
    }
    case 'drop': {
      if (!validName(arg)) return R(err(73, 'InvalidNamespace', 'Invalid namespace specified'));
      const d = s.dbs.get(db);
      const c = d?.get(arg);
      if (!d || !c) return R(err(26, 'NamespaceNotFound', 'ns not found'), { write: true, collection: arg });
      d.delete(arg);
      return R({ nIndexesWas: 1 + c.indexes.length, ns: `${db}.${arg}`, ok: 1 }, { write: true, collection: arg });
    }
    case 'dropDatabase':
      if (db !== 'admin' && db !== 'config' && db !== 'local') s.dbs.delete(db);
      return R({ ok: 1 }, { write: true });
    case 'saslStart':
      return saslStart(info, s, db, body);
    case 'saslContinue':
      return saslContinue(s, body);
    case 'authenticate':
      return R(AUTH_FAILED);
    case 'logout':
      return R({ ok: 1 });
    case 'currentOp':
      return R({ inprog: [], ok: 1 });
    case 'shutdown':
      return R(err(13, 'Unauthorized', 'shutdown must run from localhost when running db without auth'));
    default:
      return R(err(59, 'CommandNotFound', `no such command: '${command.slice(0, 128)}'`));
  }
}
