/**
 * The redis honeypot's command table: a tiny bounded in-memory keyspace, a fake
 * CONFIG, INFO built from the persona, and the attacker techniques (SLAVEOF,
 * MODULE LOAD, CONFIG SET dir/dbfilename) accepted and tagged. Pure apart from
 * the clock; the server (redis.ts) does the I/O and the events.
 */
import { randomBytes } from 'node:crypto';
import { array, bulk, error, int, simple, type RespValue } from './resp.js';

export interface RedisPersona {
  version: string;
  os: string;
  hostname: string;
  port: number;
}

export interface Reply {
  reply: RespValue;
  /** close the connection after the reply */
  close?: boolean;
  /** an auth attempt to report: username (default "default") and password */
  auth?: { user: string; password: Buffer };
  /** attacker technique tag for the command event */
  technique?: string;
}

const MAX_KEYS = 1000;
const MAX_BYTES = 4 * 1024 * 1024;
const MAX_CONFIG = 200;

const DEFAULT_CONFIG: Record<string, string> = {
  dir: '/var/lib/redis',
  dbfilename: 'dump.rdb',
  bind: '0.0.0.0',
  'protected-mode': 'no',
  requirepass: '',
  masterauth: '',
  maxmemory: '0',
  'maxmemory-policy': 'noeviction',
  appendonly: 'no',
  appendfilename: 'appendonly.aof',
  save: '3600 1 300 100 60 10000',
  databases: '16',
  timeout: '0',
  'tcp-keepalive': '300',
  daemonize: 'yes',
  loglevel: 'notice',
  logfile: '/var/log/redis/redis-server.log',
  'slave-read-only': 'yes',
  'replica-read-only': 'yes',
};

/** Shared server state (one per running service, like one redis-server process). */
export class RedisState {
  readonly dbs: Map<string, Buffer>[] = Array.from({ length: 16 }, () => new Map());
  readonly config = new Map(Object.entries(DEFAULT_CONFIG));
  readonly runId = randomBytes(20).toString('hex');
  readonly started = Date.now();
  bytes = 0;
  commands = 0;
  connections = 0;
  clients = 0;
  masterHost: string | undefined;
  masterPort: string | undefined;

  constructor(readonly persona: RedisPersona) {}

  keyCount(): number {
    return this.dbs.reduce((n, d) => n + d.size, 0);
  }
}

export interface Session {
  db: number;
  name: string;
  id: number;
  /** client address as ip:port */
  addr: string;
}

const lc = (b: Buffer | undefined) => (b ? b.toString('latin1').toLowerCase() : '');
const arity = (cmd: string) => error(`ERR wrong number of arguments for '${cmd}' command`);

/** Glob match as redis KEYS/CONFIG GET do (*, ?, [abc], \\x). */
export function globMatch(pattern: string, text: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (body.startsWith('^')) body = `^${body.slice(1)}`;
        re += body === '' ? '(?!)' : `[${body}]`;
        i = end;
      }
    } else re += escapeRe(c);
  }
  try {
    return new RegExp(`${re}$`).test(text);
  } catch {
    return false;
  }
}
const escapeRe = (c: string) => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

export function buildInfo(state: RedisState, section: string): string {
  const p = state.persona;
  const uptime = Math.floor((Date.now() - state.started) / 1000);
  const sections: Record<string, string[]> = {
    server: [
      `redis_version:${p.version}`,
      'redis_git_sha1:00000000',
      'redis_git_dirty:0',
      'redis_build_id:a3fb3b4fbbb1e52e',
      'redis_mode:standalone',
      `os:${p.os}`,
      'arch_bits:64',
      'monotonic_clock:POSIX clock_gettime',
      'multiplexing_api:epoll',
      'atomicvar_api:c11-builtin',
      'gcc_version:11.4.0',
      `process_id:${1000 + (parseInt(state.runId.slice(0, 4), 16) % 30000)}`,
      'process_supervised:systemd',
      `run_id:${state.runId}`,
      `tcp_port:${p.port}`,
      `server_time_usec:${Date.now() * 1000}`,
      `uptime_in_seconds:${uptime}`,
      `uptime_in_days:${Math.floor(uptime / 86400)}`,
      'hz:10',
      'configured_hz:10',
      `lru_clock:${Math.floor(Date.now() / 1000) % 16777216}`,
      'executable:/usr/bin/redis-server',
      'config_file:/etc/redis/redis.conf',
      'io_threads_active:0',
    ],
    clients: [`connected_clients:${state.clients}`, 'cluster_connections:0', 'maxclients:10000', 'blocked_clients:0'],
    memory: [
      `used_memory:${1_020_000 + state.bytes}`,
      `used_memory_human:${((1_020_000 + state.bytes) / 1048576).toFixed(2)}M`,
      'used_memory_peak:1183440',
      'total_system_memory:8332763136',
      'total_system_memory_human:7.76G',
      `maxmemory:${state.config.get('maxmemory') ?? '0'}`,
      `maxmemory_policy:${state.config.get('maxmemory-policy') ?? 'noeviction'}`,
      'mem_allocator:jemalloc-5.2.1',
    ],
    persistence: ['loading:0', 'rdb_changes_since_last_save:0', 'rdb_bgsave_in_progress:0', 'rdb_last_bgsave_status:ok', 'aof_enabled:0'],
    stats: [
      `total_connections_received:${state.connections}`,
      `total_commands_processed:${state.commands}`,
      'instantaneous_ops_per_sec:0',
      'rejected_connections:0',
      'expired_keys:0',
      'keyspace_hits:0',
      'keyspace_misses:0',
    ],
    replication: state.masterHost
      ? ['role:slave', `master_host:${state.masterHost}`, `master_port:${state.masterPort}`, 'master_link_status:down', 'connected_slaves:0']
      : ['role:master', 'connected_slaves:0', `master_replid:${state.runId}`, 'master_repl_offset:0'],
    cpu: ['used_cpu_sys:1.204311', 'used_cpu_user:0.985402', 'used_cpu_sys_children:0.000000', 'used_cpu_user_children:0.000000'],
    keyspace: state.dbs.flatMap((d, i) => (d.size > 0 ? [`db${i}:keys=${d.size},expires=0,avg_ttl=0`] : [])),
  };
  const names = Object.keys(sections);
  const wanted = section === '' || section === 'all' || section === 'default' || section === 'everything' ? names : names.filter((n) => n === section);
  return wanted.map((n) => [`# ${n[0]!.toUpperCase()}${n.slice(1)}`, ...sections[n]!].join('\r\n')).join('\r\n\r\n') + '\r\n';
}

type Handler = (args: Buffer[], state: RedisState, session: Session) => Reply | RespValue;

const ok = simple('OK');

function setKey(state: RedisState, session: Session, key: Buffer, value: Buffer): RespValue {
  const db = state.dbs[session.db]!;
  const k = key.toString('latin1');
  const old = db.get(k);
  const delta = value.length + (old ? -old.length : key.length);
  if ((!old && state.keyCount() >= MAX_KEYS) || state.bytes + delta > MAX_BYTES) {
    return error("OOM command not allowed when used memory > 'maxmemory'.");
  }
  db.set(k, Buffer.from(value));
  state.bytes += delta;
  return ok;
}

function delKeys(state: RedisState, session: Session, keys: Buffer[]): number {
  const db = state.dbs[session.db]!;
  let n = 0;
  for (const key of keys) {
    const k = key.toString('latin1');
    const v = db.get(k);
    if (v) {
      state.bytes -= v.length + key.length;
      db.delete(k);
      n++;
    }
  }
  return n;
}

const HANDLERS: Record<string, { min: number; max?: number; fn: Handler }> = {
  ping: { min: 0, max: 1, fn: (a) => (a[0] ? bulk(a[0]) : simple('PONG')) },
  echo: { min: 1, max: 1, fn: (a) => bulk(a[0]!) },
  quit: { min: 0, fn: () => ({ reply: ok, close: true }) },
  info: { min: 0, fn: (a, s) => bulk(buildInfo(s, lc(a[0]))) },
  auth: {
    min: 1,
    max: 2,
    fn: (a) => ({
      reply: error('WRONGPASS invalid username-password pair or user is disabled.'),
      auth: a.length === 2 ? { user: a[0]!.toString('utf8'), password: a[1]! } : { user: 'default', password: a[0]! },
    }),
  },
  hello: { min: 0, fn: () => error('NOPROTO unsupported protocol version') },
  select: {
    min: 1,
    max: 1,
    fn: (a, _s, session) => {
      const n = Number(a[0]!.toString('latin1'));
      if (!Number.isInteger(n)) return error('ERR value is not an integer or out of range');
      if (n < 0 || n > 15) return error('ERR DB index is out of range');
      session.db = n;
      return ok;
    },
  },
  set: { min: 2, fn: (a, s, session) => setKey(s, session, a[0]!, a[1]!) },
  get: { min: 1, max: 1, fn: (a, s, session) => bulk(s.dbs[session.db]!.get(a[0]!.toString('latin1')) ?? null) },
  del: { min: 1, fn: (a, s, session) => int(delKeys(s, session, a)) },
  unlink: { min: 1, fn: (a, s, session) => int(delKeys(s, session, a)) },
  exists: { min: 1, fn: (a, s, session) => int(a.filter((k) => s.dbs[session.db]!.has(k.toString('latin1'))).length) },
  type: { min: 1, max: 1, fn: (a, s, session) => simple(s.dbs[session.db]!.has(a[0]!.toString('latin1')) ? 'string' : 'none') },
  ttl: { min: 1, max: 1, fn: (a, s, session) => int(s.dbs[session.db]!.has(a[0]!.toString('latin1')) ? -1 : -2) },
  keys: {
    min: 1,
    max: 1,
    fn: (a, s, session) => {
      const pat = a[0]!.toString('latin1');
      return array([...s.dbs[session.db]!.keys()].filter((k) => globMatch(pat, k)).map((k) => bulk(Buffer.from(k, 'latin1'))));
    },
  },
  dbsize: { min: 0, max: 0, fn: (_a, s, session) => int(s.dbs[session.db]!.size) },
  flushdb: { min: 0, fn: (_a, s, session) => (delKeys(s, session, [...s.dbs[session.db]!.keys()].map((k) => Buffer.from(k, 'latin1'))), ok) },
  flushall: {
    min: 0,
    fn: (_a, s) => {
      for (const d of s.dbs) d.clear();
      s.bytes = 0;
      return { reply: ok, technique: 'flushall' };
    },
  },
  save: { min: 0, max: 0, fn: () => ({ reply: ok, technique: 'rdb_write' }) },
  bgsave: { min: 0, fn: () => ({ reply: simple('Background saving started'), technique: 'rdb_write' }) },
  lastsave: { min: 0, max: 0, fn: (_a, s) => int(Math.floor(s.started / 1000)) },
  time: { min: 0, max: 0, fn: () => array([bulk(String(Math.floor(Date.now() / 1000))), bulk(String((Date.now() % 1000) * 1000))]) },
  slaveof: { min: 2, max: 2, fn: replicaOf },
  replicaof: { min: 2, max: 2, fn: replicaOf },
  module: {
    min: 1,
    fn: (a) => {
      const sub = lc(a[0]);
      if (sub === 'list') return array([]);
      if (sub === 'load' || sub === 'loadex') {
        if (a.length < 2) return arity('module|load');
        return { reply: error('ERR Error loading the extension. Please check the server logs.'), technique: 'module_load' };
      }
      return error(`ERR unknown subcommand '${a[0]!.toString('latin1').slice(0, 64)}'. Try MODULE HELP.`);
    },
  },
  config: { min: 1, fn: configCmd },
  client: { min: 1, fn: clientCmd },
  command: {
    min: 0,
    fn: (a) => {
      const sub = lc(a[0]);
      if (sub === 'count') return int(240);
      return array([]);
    },
  },
  eval: { min: 2, fn: () => ({ reply: error('NOSCRIPT No matching script. Please use EVAL.'), technique: 'lua_eval' }) },
};

function replicaOf(a: Buffer[], s: RedisState): Reply {
  const host = a[0]!.toString('latin1');
  const port = a[1]!.toString('latin1');
  if (host.toLowerCase() === 'no' && port.toLowerCase() === 'one') {
    s.masterHost = undefined;
    s.masterPort = undefined;
    return { reply: ok, technique: 'replication' };
  }
  s.masterHost = host.slice(0, 255);
  s.masterPort = port.slice(0, 16);
  return { reply: ok, technique: 'replication' };
}

function configCmd(a: Buffer[], s: RedisState): Reply | RespValue {
  const sub = lc(a[0]);
  if (sub === 'get') {
    if (a.length < 2) return arity('config|get');
    const out: RespValue[] = [];
    for (const p of a.slice(1)) {
      const pat = p.toString('latin1').toLowerCase();
      for (const [k, v] of s.config) if (globMatch(pat, k)) out.push(bulk(k), bulk(v));
    }
    return array(out);
  }
  if (sub === 'set') {
    if (a.length < 3 || a.length % 2 === 0) return arity('config|set');
    let technique: string | undefined;
    for (let i = 1; i + 1 < a.length; i += 2) {
      const k = a[i]!.toString('latin1').toLowerCase().slice(0, 128);
      if (!s.config.has(k) && s.config.size >= MAX_CONFIG) return error(`ERR Unknown option or number of arguments for CONFIG SET - '${k}'`);
      s.config.set(k, a[i + 1]!.toString('utf8').slice(0, 1024));
      if (k === 'dir' || k === 'dbfilename') technique = 'config_set_persistence';
      else if (k === 'slaveof' || k === 'replicaof') technique = 'replication';
      technique ??= 'config_set';
    }
    return { reply: ok, technique };
  }
  if (sub === 'resetstat' || sub === 'rewrite') return ok;
  return error(`ERR unknown subcommand '${a[0]!.toString('latin1').slice(0, 64)}'. Try CONFIG HELP.`);
}

function clientCmd(a: Buffer[], s: RedisState, session: Session): RespValue {
  const sub = lc(a[0]);
  if (sub === 'setname') {
    session.name = (a[1]?.toString('utf8') ?? '').slice(0, 128);
    return ok;
  }
  if (sub === 'getname') return bulk(session.name === '' ? null : session.name);
  if (sub === 'id') return int(session.id);
  if (sub === 'setinfo') return ok;
  if (sub === 'list' || sub === 'info') {
    return bulk(`id=${session.id} addr=${session.addr} laddr=0.0.0.0:${s.persona.port} fd=8 name=${session.name} age=0 idle=0 flags=N db=${session.db} cmd=client|${sub}\n`);
  }
  return error(`ERR unknown subcommand '${(a[0]?.toString('latin1') ?? '').slice(0, 64)}'. Try CLIENT HELP.`);
}

/** Execute one command. Never throws on attacker input. */
export function execute(argv: Buffer[], state: RedisState, session: Session): Reply {
  state.commands++;
  const name = lc(argv[0]);
  const spec = HANDLERS[name];
  if (!spec) {
    const args = argv
      .slice(1, 4)
      .map((b) => `'${b.toString('latin1').slice(0, 64)}' `)
      .join('');
    return { reply: error(`ERR unknown command '${argv[0]!.toString('latin1').slice(0, 128)}', with args beginning with: ${args}`) };
  }
  const args = argv.slice(1);
  if (args.length < spec.min || (spec.max !== undefined && args.length > spec.max)) return { reply: arity(name) };
  const r = spec.fn(args, state, session);
  return 't' in r ? { reply: r } : r;
}
