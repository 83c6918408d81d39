/**
 * MongoDB honeypot: a standalone mongod (default 6.0.14, persona key
 * mongo_version) with access control off, on 27017. Speaks OP_MSG and the
 * legacy OP_QUERY handshake (answered with OP_REPLY), no compression.
 *
 * Every command is a `command` event {command, db, args}; writes and drops
 * are tagged `write: true` (they are acknowledged into a per-connection copy
 * of the bait data). SCRAM-SHA-1/256 logins run to the client proof, become an
 * `auth_attempt` (secret_kind mongodb_scram) and fail with AuthenticationFailed.
 *
 * Known deviation: 5.1+ servers refuse OP_QUERY commands other than
 * hello/isMaster; this one answers them all, so old scanners (nmap's probe
 * and mongodb-* scripts) see version and databases.
 */
import { randomBytes } from 'node:crypto';
import { secretFields } from '@decnet/api';
import { ObjectId, type Document } from 'bson';
import { safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import type { ConnInfo, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { argsJson, execute, newSession, type CommandResult, type ServerInfo, type Session } from './mongo-commands.js';
import { encodeOpMsg, encodeOpReply, HTTP_ON_DRIVER_PORT, MessageReader, MSG_FLAGS, OP, tryParse, type Message } from './mongo-wire.js';

const OPCODE_NAMES: Record<number, string> = { 2001: 'OP_UPDATE', 2002: 'OP_INSERT', 2005: 'OP_GET_MORE', 2006: 'OP_DELETE', 2007: 'OP_KILL_CURSORS', 2012: 'OP_COMPRESSED', 2010: 'OP_COMMAND', 2011: 'OP_COMMANDREPLY', 1: 'OP_REPLY' };

function version(ctx: ServiceContext): string {
  const v = ctx.config['mongo_version'];
  const s = typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
  return /^\d+\.\d+(\.\d+)?[\w.-]*$/.test(s) && s.length <= 32 ? s : '6.0.14';
}

/** The command document as logged: driver plumbing fields left out. */
function loggedArgs(body: Document): Document {
  const out: Document = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === '$db' || k === 'lsid' || k === '$clusterTime' || k === '$readPreference') continue;
    out[k] = v;
  }
  return out;
}

export interface Handler {
  /** feed bytes; returns buffers to write and whether to close afterwards */
  feed(chunk: Buffer): { out: Buffer[]; close: boolean };
  /** connection ended: flush a half-done login */
  end(): void;
}

/** Connection state machine, socket-free (the shell and the fuzz test drive it). */
export function createHandler(ctx: ServiceContext, info: ServerInfo, conn: ConnInfo, connectionId: number, live: () => number): Handler {
  const reader = new MessageReader();
  const session: Session = newSession(info, connectionId, `${conn.src_ip}:${conn.src_port}`);
  let nextId = 1;
  let closed = false;
  const reqId = () => (nextId = (nextId + 1) & 0x7fffffff);

  const emitResult = (r: CommandResult, db: string, body: Document, opcode: string) => {
    const reply = r.reply;
    ctx.emit({
      event: 'command',
      ...conn,
      command: r.command.slice(0, 128),
      db: db.slice(0, 128),
      args: argsJson(loggedArgs(body)),
      opcode,
      ok: reply['ok'] === 1,
      ...(reply['code'] !== undefined ? { error_code: reply['code'] } : {}),
      ...(r.collection !== undefined ? { collection: r.collection.slice(0, 128) } : {}),
      ...(r.write ? { write: true } : {}),
    });
    if (r.auth) {
      const a = r.auth;
      ctx.emit({
        event: 'auth_attempt',
        ...conn,
        principal: a.principal,
        secret_kind: 'mongodb_scram',
        ...secretFields(a.clientFinal),
        mechanism: a.mechanism,
        auth_db: a.db,
        client_first: a.clientFirst,
        server_first: a.serverFirst,
        client_final: a.clientFinal,
        client_proof: a.proof,
        salt_b64: a.salt.toString('base64'),
        iterations: a.iterations,
        success: false,
      });
    }
  };

  const run = (db: string, body: Document, seqs: Record<string, Document[]>, opcode: string): Document => {
    let r: CommandResult;
    try {
      r = execute(info, session, db, body, seqs, live());
    } catch (err) {
      ctx.log('mongodb command failed', { err: String(err) });
      r = { command: Object.keys(body)[0] ?? '', reply: { ok: 0, errmsg: 'internal error', code: 1, codeName: 'InternalError' } };
    }
    emitResult(r, db, body, opcode);
    return r.reply;
  };

  const handle = (m: Message, out: Buffer[]): boolean => {
    if (m.op === 'msg') {
      const dbv = m.body['$db'];
      const seqs: Record<string, Document[]> = {};
      for (const s of m.sequences) seqs[s.id] = [...(seqs[s.id] ?? []), ...s.docs];
      let reply: Document;
      if (typeof dbv !== 'string' || dbv === '') {
        reply = { ok: 0, errmsg: 'OP_MSG requests require a $db argument', code: 40571, codeName: 'Location40571' };
        ctx.emit({ event: 'command', ...conn, command: (Object.keys(m.body)[0] ?? '').slice(0, 128), db: '', args: argsJson(loggedArgs(m.body)), opcode: 'OP_MSG', ok: false, error_code: 40571 });
      } else {
        reply = run(dbv, m.body, seqs, 'OP_MSG');
      }
      if (!(m.flags & MSG_FLAGS.moreToCome)) out.push(encodeOpMsg(reqId(), m.requestId, reply));
      return true;
    }
    if (m.op === 'query') {
      const dot = m.collection.indexOf('.');
      const db = dot > 0 ? m.collection.slice(0, dot) : m.collection;
      const coll = dot > 0 ? m.collection.slice(dot + 1) : '';
      if (coll === '$cmd') {
        out.push(encodeOpReply(reqId(), m.requestId, [run(db, m.query, {}, 'OP_QUERY')]));
      } else {
        ctx.emit({ event: 'command', ...conn, command: 'OP_QUERY', db: db.slice(0, 128), collection: coll.slice(0, 128), args: argsJson(m.query), opcode: 'OP_QUERY', ok: false, error_code: 5739101 });
        const e = { $err: 'OP_QUERY is no longer supported. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal', code: 5739101, ok: 0 };
        out.push(encodeOpReply(reqId(), m.requestId, [e], 2));
      }
      return true;
    }
    const name = OPCODE_NAMES[m.opCode] ?? `opcode ${m.opCode}`;
    ctx.emit({ event: 'protocol_error', ...conn, message: `unsupported ${name}`, opcode: m.opCode });
    // compressed traffic was never negotiated, and unknown opcodes end the connection on a real server
    return m.opCode !== OP.COMPRESSED && OPCODE_NAMES[m.opCode] !== undefined;
  };

  return {
    feed(chunk) {
      const out: Buffer[] = [];
      if (closed) return { out, close: true };
      for (const f of reader.feed(chunk)) {
        if ('error' in f) {
          closed = true;
          if (f.http) {
            ctx.emit({ event: 'request', ...conn, method: 'GET', message: 'HTTP on the driver port', preview: chunk.subarray(0, 256).toString('latin1') });
            out.push(Buffer.from(HTTP_ON_DRIVER_PORT, 'latin1'));
          } else ctx.emit({ event: 'protocol_error', ...conn, message: f.error });
          return { out, close: true };
        }
        const m = tryParse(f);
        if ('error' in m) {
          closed = true;
          ctx.emit({ event: 'protocol_error', ...conn, message: m.error, opcode: f.opCode, size: f.length });
          return { out, close: true };
        }
        if (!handle(m, out)) {
          closed = true;
          return { out, close: true };
        }
      }
      return { out, close: false };
    },
    end() {
      const st = session.scram;
      if (!st) return;
      session.scram = undefined;
      ctx.emit({
        event: 'auth_attempt',
        ...conn,
        principal: st.user,
        secret_kind: 'mongodb_scram',
        ...secretFields(''),
        mechanism: st.mechanism,
        auth_db: st.db,
        client_first: st.clientFirst,
        server_first: st.serverFirst,
        salt_b64: st.salt.toString('base64'),
        iterations: st.iterations,
        incomplete: true,
        success: false,
      });
    },
  };
}

export function serverInfo(ctx: ServiceContext): ServerInfo {
  const port = ctx.ports.find((p) => p.proto === 'tcp')?.port ?? 27017;
  return {
    version: version(ctx),
    hostname: ctx.hostname,
    port,
    startTime: new Date(Date.now() - 1000 * (86400 * 3 + Math.floor(Math.random() * 86400 * 20))),
    processId: new ObjectId(),
    saltKey: randomBytes(32),
    pid: 1,
  };
}

export const mongodbService: ServiceModule = {
  name: 'mongodb',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const info = serverInfo(ctx);
    let connectionId = 3 + Math.floor(Math.random() * 40);
    let live = 0;
    return startTcpService(ctx, (socket, conn) => {
      live++;
      const h = createHandler(ctx, info, conn, connectionId++, () => live);
      socket.once('close', () => {
        live--;
        h.end();
      });
      let ending = false;
      socket.on('data', (chunk: Buffer) => {
        if (ending) return;
        const { out, close } = h.feed(chunk);
        for (const b of out) safeWrite(socket, b);
        if (close) {
          ending = true;
          socket.end();
          setTimeout(() => socket.destroy(), 2000).unref();
        }
      });
    });
  },
};
