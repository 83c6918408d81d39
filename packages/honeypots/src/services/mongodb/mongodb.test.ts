import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { BSON, type Document } from 'bson';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AttackerEvent } from '@decnet/api';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import { execute, logLine, newSession, wireVersionFor } from './mongo-commands.js';
import { encodeOpMsg, MAX_MESSAGE, MessageReader, OP, tryParse, type Frame } from './mongo-wire.js';
import { createHandler, mongodbService, serverInfo } from './mongodb.js';

const PY = '/usr/bin/python3';
const hasPymongo = (() => {
  try {
    execFileSync(PY, ['-c', 'import pymongo'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** nmap's mongodb probe (nmap-service-probes): OP_QUERY test.$cmd { serverStatus: 1.0 } */
const NMAP_PROBE = Buffer.from(
  '\x41\0\0\0\x3a\x30\0\0\xff\xff\xff\xff\xd4\x07\0\0\0\0\0\0test.$cmd\0\0\0\0\0\xff\xff\xff\xff\x1b\0\0\0\x01serverStatus\0\0\0\0\0\0\0\xf0\x3f\0',
  'latin1',
);

let t: TestContext;
let svc: RunningService;
let port: number;

async function start(config = {}) {
  t = makeTestContext('mongodb', config, [{ port: 27017, proto: 'tcp' }], { ephemeral: true });
  svc = await mongodbService.start(t.ctx);
  port = svc.ports[0]!;
}

/** one whole reply message from a raw client */
const whole = (b: Buffer) => b.length >= 4 && b.length >= b.readInt32LE(0);

function opMsg(doc: Document, requestId = 7, flags = 0): Buffer {
  return encodeOpMsg(requestId, 0, doc, flags);
}

function replyDoc(b: Buffer): Document {
  const op = b.readInt32LE(12);
  if (op === OP.MSG) return BSON.deserialize(b.subarray(21, b.readInt32LE(0)));
  return BSON.deserialize(b.subarray(36, b.readInt32LE(0)));
}

async function roundTrip(msg: Buffer): Promise<{ buf: Buffer; doc: Document }> {
  const c = await RawClient.connect(port);
  c.send(msg);
  await c.waitFor(whole);
  const buf = c.bytes;
  c.close();
  return { buf, doc: replyDoc(buf) };
}

// SCRAM verification helpers (what an offline cracker would do with the event)
const H = (alg: string, b: Buffer) => createHash(alg).update(b).digest();
const HMAC = (alg: string, k: Buffer, s: string) => createHmac(alg, k).update(s).digest();
function expectedProof(ev: AttackerEvent, password: string): string {
  const sha256 = ev['mechanism'] === 'SCRAM-SHA-256';
  const alg = sha256 ? 'sha256' : 'sha1';
  const pw = sha256 ? password : createHash('md5').update(`${ev.principal}:mongo:${password}`).digest('hex');
  const salted = pbkdf2Sync(pw, Buffer.from(ev['salt_b64'] as string, 'base64'), ev['iterations'] as number, sha256 ? 32 : 20, alg);
  const clientKey = HMAC(alg, salted, 'Client Key');
  const bare = (ev['client_first'] as string).replace(/^n,[^,]*,/, '');
  const finalNoProof = (ev['client_final'] as string).replace(/,p=.*$/, '');
  const sig = HMAC(alg, H(alg, clientKey), `${bare},${ev['server_first'] as string},${finalNoProof}`);
  return Buffer.from(clientKey.map((b, i) => b ^ sig[i]!)).toString('base64');
}

describe('mongodb service', () => {
  beforeEach(() => start());
  afterEach(async () => {
    await svc.close();
    t.cleanup();
  });

  describe.skipIf(!hasPymongo)('with pymongo (Debian python3)', () => {
    it('lists databases, reads bait documents and acknowledges an insert', async () => {
      const script = `
import pymongo, sys
c = pymongo.MongoClient('127.0.0.1', int(sys.argv[1]), serverSelectionTimeoutMS=4000)
print('DBS', c.list_database_names())
db = c['customers']
print('COLLS', sorted(db.list_collection_names()))
print('FIND', [d['email'] for d in db.customers.find({'address.city': 'Berlin'})])
print('COUNT', db.customers.count_documents({}))
r = db.loot.insert_one({'pwned': True})
print('INSERTED', r.acknowledged)
print('BACK', db.loot.find_one({'pwned': True})['pwned'])
print('VERSION', c.server_info()['version'])
`;
      const r = await run(PY, ['-c', script, String(port)], { timeoutMs: 20_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain("DBS ['admin', 'config', 'customers', 'local']");
      expect(r.stdout).toContain("COLLS ['customers', 'orders', 'users']");
      expect(r.stdout).toContain("FIND ['lukas.brenner@web.de']");
      expect(r.stdout).toContain('COUNT 6');
      expect(r.stdout).toContain('INSERTED True');
      expect(r.stdout).toContain('BACK True');
      expect(r.stdout).toContain('VERSION 6.0.14');
      const ins = await t.waitFor((e) => e.event === 'command' && e['command'] === 'insert');
      expect(ins).toMatchObject({ db: 'customers', collection: 'loot', write: true, ok: true });
      expect(ins['args']).toContain('"insert":"loot"');
      expect(await t.waitFor((e) => e.event === 'command' && e['command'] === 'listDatabases')).toMatchObject({ db: 'admin' });
      expect(await t.waitFor((e) => e.event === 'command' && e['command'] === 'find')).toMatchObject({ db: 'customers', collection: 'customers' });
    });

    for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-1']) {
      it(`fails a ${mech} login with "Authentication failed." and captures a verifiable proof`, async () => {
        const script = `
import pymongo, sys
c = pymongo.MongoClient('127.0.0.1', int(sys.argv[1]), username='root', password='hunter2', authMechanism=sys.argv[2], serverSelectionTimeoutMS=4000)
try:
    c.admin.command('ping')
    print('NO ERROR')
except pymongo.errors.OperationFailure as e:
    print('OperationFailure', e.code, str(e))
`;
        const r = await run(PY, ['-c', script, String(port), mech], { timeoutMs: 20_000 });
        expect(r.stdout).toContain('OperationFailure 18 Authentication failed.');
        const ev = await t.waitFor((e) => e.event === 'auth_attempt');
        expect(ev).toMatchObject({ principal: 'root', secret_kind: 'mongodb_scram', mechanism: mech, auth_db: 'admin', success: false });
        expect(ev['client_first']).toMatch(/^n,,n=root,r=/);
        expect(ev.secret).toBe(ev['client_final']);
        expect(ev['client_proof']).toBe(expectedProof(ev, 'hunter2'));
        expect(ev['client_proof']).not.toBe(expectedProof(ev, 'hunter3'));
      });
    }
  });

  describe.skipIf(!hasBinary('nmap'))('with nmap', () => {
    /**
     * nmap sends its mongodb probe (rarity 8) and runs mongodb-* scripts on port 27017 only,
     * so bind the catalogue port when it is free; else scan the ephemeral port with
     * --version-all (slower) and let -sV name the service for the scripts.
     */
    async function target(): Promise<{ p: number; extra: string[]; stop: () => Promise<void> }> {
      const t27 = makeTestContext('mongodb', {}, [{ port: 27017, proto: 'tcp' }]);
      try {
        const s27 = await mongodbService.start(t27.ctx);
        return { p: 27017, extra: [], stop: () => s27.close() };
      } catch {
        return { p: port, extra: ['-sV', '--version-all'], stop: async () => undefined };
      }
    }

    it('nmap -sV reports MongoDB 6.0.14', async () => {
      const { p, extra, stop } = await target();
      try {
        const r = await run('nmap', ['-sV', ...extra.filter((x) => x !== '-sV'), '-p', String(p), '127.0.0.1', '-Pn'], { timeoutMs: 120_000 });
        expect(r.stdout).toMatch(new RegExp(`${p}/tcp\\s+open\\s+mongodb\\s+MongoDB 6\\.0\\.14`));
      } finally {
        await stop();
      }
    }, 130_000);

    it('mongodb-info and mongodb-databases print build info and the bait database', async () => {
      const { p, extra, stop } = await target();
      try {
        const r = await run('nmap', [...extra, '-p', String(p), '--script', 'mongodb-info,mongodb-databases', '127.0.0.1', '-Pn'], { timeoutMs: 120_000 });
        expect(r.stdout).toContain('| mongodb-info:');
        expect(r.stdout).toContain('MongoDB Build info');
        expect(r.stdout).toContain('version = 6.0.14');
        expect(r.stdout).toContain('allocator = tcmalloc');
        expect(r.stdout).toContain('Server status');
        expect(r.stdout).toContain('| mongodb-databases:');
        expect(r.stdout).toContain('name = customers');
        expect(r.stdout).toContain('sizeOnDisk = 2387968.0');
      } finally {
        await stop();
      }
    }, 130_000);
  });

  describe('over raw sockets', () => {
    it("answers nmap's OP_QUERY serverStatus probe with a version nmap's match line reads", async () => {
      const { buf, doc } = await roundTrip(NMAP_PROBE);
      expect(buf.readInt32LE(12)).toBe(OP.REPLY);
      expect(buf.readInt32LE(8)).toBe(0x303a); // responseTo = the probe's requestID
      expect(/^.*version.....([.\d]+)/s.exec(buf.toString('latin1'))?.[1]).toBe('6.0.14');
      expect(doc).toMatchObject({ version: '6.0.14', process: 'mongod', ok: 1 });
    });

    it('hello over OP_MSG looks like a 6.0 standalone', async () => {
      const { buf, doc } = await roundTrip(opMsg({ hello: 1, $db: 'admin' }, 41));
      expect(buf.readInt32LE(12)).toBe(OP.MSG);
      expect(buf.readInt32LE(8)).toBe(41);
      expect(Object.keys(doc)).toEqual(['isWritablePrimary', 'topologyVersion', 'maxBsonObjectSize', 'maxMessageSizeBytes', 'maxWriteBatchSize', 'localTime', 'logicalSessionTimeoutMinutes', 'connectionId', 'minWireVersion', 'maxWireVersion', 'readOnly', 'ok']);
      expect(doc).toMatchObject({ isWritablePrimary: true, maxBsonObjectSize: 16777216, maxMessageSizeBytes: 48000000, maxWriteBatchSize: 100000, minWireVersion: 0, maxWireVersion: 17, readOnly: false, ok: 1 });
      expect(doc['compression']).toBeUndefined();
    });

    it('legacy isMaster over OP_QUERY gets ismaster:true in an OP_REPLY', async () => {
      const q = BSON.serialize({ isMaster: 1, compression: ['zstd', 'snappy'] });
      const fixed = Buffer.alloc(4);
      const ns = Buffer.from('admin.$cmd\0');
      const tail = Buffer.alloc(8);
      tail.writeInt32LE(-1, 4);
      const body = Buffer.concat([fixed, ns, tail, q]);
      const hdr = Buffer.alloc(16);
      hdr.writeInt32LE(16 + body.length, 0);
      hdr.writeInt32LE(5, 4);
      hdr.writeInt32LE(OP.QUERY, 12);
      const { buf, doc } = await roundTrip(Buffer.concat([hdr, body]));
      expect(buf.readInt32LE(12)).toBe(OP.REPLY);
      expect(doc).toMatchObject({ ismaster: true, maxWireVersion: 17, ok: 1 });
      expect(doc['compression']).toBeUndefined();
    });

    it('unknown commands fail with CommandNotFound and are still logged', async () => {
      const { doc } = await roundTrip(opMsg({ frobnicate: 1, $db: 'test' }));
      expect(doc).toEqual({ ok: 0, errmsg: "no such command: 'frobnicate'", code: 59, codeName: 'CommandNotFound' });
      expect(await t.waitFor((e) => e.event === 'command' && e['command'] === 'frobnicate')).toMatchObject({ db: 'test', ok: false, error_code: 59 });
    });

    it('requires $db in OP_MSG', async () => {
      const { doc } = await roundTrip(opMsg({ ping: 1 }));
      expect(doc).toMatchObject({ ok: 0, code: 40571, errmsg: 'OP_MSG requests require a $db argument' });
    });

    it('takes kind-1 document sequences and a checksum, and stays silent on moreToCome', async () => {
      const c = await RawClient.connect(port);
      // fire-and-forget insert (moreToCome), with a kind-1 "documents" sequence and a CRC slot
      const body = BSON.serialize({ insert: 'stash', $db: 'shop' });
      const d1 = BSON.serialize({ _id: 1, card: '4111111111111111' });
      const id = Buffer.from('documents\0');
      const seqLen = Buffer.alloc(4);
      seqLen.writeInt32LE(4 + id.length + d1.length);
      const flags = Buffer.alloc(4);
      flags.writeUInt32LE(0b11);
      const payload = Buffer.concat([flags, Buffer.from([0]), body, Buffer.from([1]), seqLen, id, d1, Buffer.alloc(4)]);
      const hdr = Buffer.alloc(16);
      hdr.writeInt32LE(16 + payload.length, 0);
      hdr.writeInt32LE(9, 4);
      hdr.writeInt32LE(OP.MSG, 12);
      c.send(Buffer.concat([hdr, payload]));
      c.send(opMsg({ find: 'stash', filter: {}, $db: 'shop' }, 10));
      await c.waitFor(whole);
      expect(c.bytes.readInt32LE(8)).toBe(10); // the only reply is to the find
      expect((replyDoc(c.bytes)['cursor'] as Document)['firstBatch']).toEqual([{ _id: 1, card: '4111111111111111' }]);
      c.close();
      expect(await t.waitFor((e) => e.event === 'command' && e['command'] === 'insert')).toMatchObject({ db: 'shop', collection: 'stash', write: true });
    });

    it('drop and dropDatabase are acknowledged and tagged', async () => {
      const c = await RawClient.connect(port);
      c.send(opMsg({ drop: 'users', $db: 'customers' }, 1));
      await c.waitFor(whole);
      expect(replyDoc(c.bytes)).toMatchObject({ nIndexesWas: 2, ns: 'customers.users', ok: 1 });
      c.close();
      const { doc } = await roundTrip(opMsg({ dropDatabase: 1, $db: 'customers' }, 2));
      expect(doc).toEqual({ ok: 1 });
      expect(await t.waitFor((e) => e.event === 'command' && e['command'] === 'dropDatabase')).toMatchObject({ write: true });
      // another connection still sees the bait: writes stay per connection
      const again = await roundTrip(opMsg({ listDatabases: 1, nameOnly: true, $db: 'admin' }));
      expect(again.doc['databases']).toContainEqual({ name: 'customers' });
    });

    it('answers HTTP on the driver port like mongod', async () => {
      const c = await RawClient.connect(port);
      c.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await c.waitClosed();
      expect(c.text).toContain('It looks like you are trying to access MongoDB over HTTP on the native driver port.');
    });

    it('survives random bytes over sockets and still answers hello', async () => {
      const inputs = fc.sample(fc.array(fc.uint8Array({ minLength: 1, maxLength: 2048 }), { minLength: 1, maxLength: 4 }), { seed: 99, numRuns: 25 });
      for (const chunks of inputs) {
        const c = await RawClient.connect(port);
        for (const ch of chunks) c.send(Buffer.from(ch));
        await new Promise((r) => setTimeout(r, 10));
        expect(c.bytes.length).toBeLessThan(64 * 1024);
        c.close();
      }
      const { doc } = await roundTrip(opMsg({ hello: 1, $db: 'admin' }));
      expect(doc['ok']).toBe(1);
    });

    it('keeps at most ~1 MiB of writes per connection but acknowledges them all', () => {
      const info = serverInfo(t.ctx);
      const s = newSession(info, 1, 'x');
      const big = 'x'.repeat(200_000);
      for (let i = 0; i < 10; i++) expect(execute(info, s, 'loot', { insert: 'c', documents: [{ i, big }] }).reply).toEqual({ n: 1, ok: 1 });
      const found = execute(info, s, 'loot', { find: 'c' }).reply['cursor'] as Document;
      expect((found['firstBatch'] as Document[]).length).toBe(5);
    });

    it('closes on an oversized or malformed message', async () => {
      const c = await RawClient.connect(port);
      const hdr = Buffer.alloc(16);
      hdr.writeInt32LE(MAX_MESSAGE + 1, 0);
      c.send(hdr);
      await c.waitClosed();
      expect(await t.waitFor((e) => e.event === 'protocol_error')).toMatchObject({ message: `bad message length ${MAX_MESSAGE + 1}` });
      const d = await RawClient.connect(port);
      const bad = opMsg({ ping: 1, $db: 'admin' });
      bad.writeInt32LE(0x7fff, 21); // BSON length past the end
      d.send(bad);
      await d.waitClosed();
    });
  });
});

describe('startup log lines', () => {
  it('are padded like mongod 6.0 writes them', () => {
    const at = new Date('2024-02-29T23:20:17.230Z');
    expect(logLine(at, 'W', 'CONTROL', 22120, 'Access control is not enabled for the database. Read and write access to data and configuration is unrestricted')).toBe(
      '{"t":{"$date":"2024-02-29T23:20:17.230+00:00"},"s":"W",  "c":"CONTROL",  "id":22120,   "ctx":"initandlisten","msg":"Access control is not enabled for the database. Read and write access to data and configuration is unrestricted","tags":["startupWarnings"]}',
    );
    expect(logLine(at, 'I', 'RECOVERY', 4915701, 'x')).toContain('"s":"I",  "c":"RECOVERY", "id":4915701, "ctx"');
  });
});

describe('version mapping', () => {
  it('maps server versions to wire versions', () => {
    expect([wireVersionFor('4.4.29'), wireVersionFor('5.0.26'), wireVersionFor('6.0.14'), wireVersionFor('7.0.8')]).toEqual([9, 13, 17, 21]);
  });
});

describe('fuzzing the wire reader and the session (seeded)', () => {
  const frame = (raw: Buffer): Frame => ({ length: raw.length, requestId: raw.readInt32LE(4), responseTo: raw.readInt32LE(8), opCode: raw.readInt32LE(12), raw });

  it('rejects pathologically nested BSON as an error, without a crash', () => {
    // {a:{a:{...}}} ~131k levels deep, built in one pass: level k (from the inside) is 8k+5 bytes
    const depth = Math.floor((MAX_MESSAGE - 64 - 5) / 8);
    const doc = Buffer.alloc(8 * depth + 5);
    for (let i = 0; i < depth; i++) {
      const o = 7 * i;
      doc.writeInt32LE(8 * (depth - i) + 5, o);
      doc[o + 4] = 3; // embedded document "a"
      doc[o + 5] = 0x61;
    }
    doc.writeInt32LE(5, 7 * depth); // innermost {}, then all the terminators are already 0
    const raw = Buffer.concat([Buffer.alloc(21), doc]);
    raw.writeInt32LE(raw.length, 0);
    raw.writeInt32LE(OP.MSG, 12);
    const t0 = Date.now();
    const r = tryParse(frame(raw));
    expect(r).toEqual({ error: 'BSON nesting deeper than 200' });
    expect(Date.now() - t0).toBeLessThan(500);
    // and the same nesting inside the limit still decodes
    const ok = tryParse(frame(Buffer.from(opMsg({ a: { b: { c: [1, { d: 2 }] } }, $db: 'x' }))));
    expect(ok).toHaveProperty('body');
  });

  it('MessageReader never throws and never hands out a frame over the bound', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }), (chunks) => {
        const r = new MessageReader(4096);
        for (const c of chunks) {
          for (const f of r.feed(Buffer.from(c))) {
            if (!('error' in f)) expect(f.raw.length).toBeLessThanOrEqual(4096);
          }
        }
      }),
      { seed: 27017, numRuns: 20_000 },
    );
  });

  it('tryParse never throws on any OP_MSG / OP_QUERY body', () => {
    fc.assert(
      fc.property(fc.constantFrom(OP.MSG, OP.QUERY, OP.COMPRESSED, 1), fc.uint8Array({ maxLength: 300 }), (op, body) => {
        const hdr = Buffer.alloc(16);
        hdr.writeInt32LE(16 + body.length, 0);
        hdr.writeInt32LE(op, 12);
        tryParse(frame(Buffer.concat([hdr, Buffer.from(body)])));
      }),
      { seed: 1, numRuns: 20_000 },
    );
  });

  it('mutated valid messages never crash the connection handler; replies are well framed', () => {
    const t2 = makeTestContext('mongodb');
    const info = serverInfo(t2.ctx);
    const conn = { src_ip: '127.0.0.1', src_port: 1, dst_port: 27017 };
    const cmd = fc.record({
      name: fc.constantFrom('hello', 'isMaster', 'find', 'insert', 'update', 'delete', 'aggregate', 'count', 'drop', 'listCollections', 'saslStart', 'saslContinue', 'getLog', 'x'),
      arg: fc.oneof(fc.constant(1), fc.string({ maxLength: 12 }), fc.constant('customers')),
      extra: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
    });
    fc.assert(
      fc.property(cmd, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(64), (c, flips, cut) => {
        const h = createHandler(t2.ctx, info, conn, 5, () => 1);
        const msg = Buffer.from(opMsg({ [c.name]: c.arg, ...c.extra, $db: 'customers' }));
        for (const [pos, v] of flips) msg[16 + (pos % Math.max(1, msg.length - 16))] = v;
        const { out } = h.feed(msg.subarray(0, Math.max(16, msg.length - (cut % 3 === 0 ? cut : 0))));
        for (const o of out) expect(o.readInt32LE(0)).toBe(o.length);
        h.end();
      }),
      { seed: 42, numRuns: 10_000 },
    );
    t2.cleanup();
  });

  it('execute never throws on arbitrary command documents', () => {
    const t3 = makeTestContext('mongodb');
    const info = serverInfo(t3.ctx);
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 }), (doc) => {
        const s = newSession(info, 1, 'x');
        const r = execute(info, s, 'customers', doc as Document);
        expect([0, 1]).toContain(r.reply['ok']);
      }),
      { seed: 7, numRuns: 10_000 },
    );
    t3.cleanup();
  });
});
