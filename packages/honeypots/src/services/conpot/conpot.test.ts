import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SERVICE_CATALOG } from '@decnet/api';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import type { RunningService } from '../../runtime/types.js';
import { startConpot, plcSysDescr } from './conpot.js';
import { identityFrom, ProcessImage, serialFor } from './identity.js';
import { encodeFrame, handlePdu, takeFrame } from './modbus.js';
import { handleTpkt, newSession, takeTpkt } from './s7.js';

const PORTS = SERVICE_CATALOG['conpot']!.ports;
const fakeCtx = (config: Record<string, string> = {}) => ({ decky: 'plc-01', hostname: 'plc-01', persona: { hostname: 'plc-01', dnsDomain: 'acme.local' } as never, config });
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('identity', () => {
  it('derives a Siemens-shaped serial and a plant name deterministically', () => {
    expect(serialFor('plc-01')).toMatch(/^S C-[A-Z]\d[A-Z]{2}\d{8}$/);
    expect(serialFor('plc-01')).toBe(serialFor('plc-01'));
    const id = identityFrom(fakeCtx());
    expect(id.plant).toBe('ACME');
    expect(id.fw).toEqual([3, 2, 6]);
    expect(plcSysDescr(id)).toBe('Siemens, SIMATIC S7, CPU315-2 PN/DP, 6ES7 315-2EH14-0AB0, HW: 4, FW: V3.2.6');
  });
  it('keeps process values stable between reads', () => {
    const a = new ProcessImage('x');
    const b = new ProcessImage('x');
    expect(Array.from(a.holding.slice(0, 20))).toEqual(Array.from(b.holding.slice(0, 20)));
  });
});

describe('modbus codec', () => {
  const id = identityFrom(fakeCtx());
  it('reads holding registers and echoes writes', () => {
    const img = new ProcessImage('x');
    const r = handlePdu(hex('03 0000 0002'), 1, id, img);
    expect(r.reply.subarray(0, 2)).toEqual(hex('03 04'));
    const w = handlePdu(hex('06 0005 1234'), 1, id, img);
    expect(w.reply).toEqual(hex('06 0005 1234'));
    expect(w.command).toMatchObject({ function: 6, address: 5, write: true, values: [0x1234] });
    expect(handlePdu(hex('03 0005 0001'), 1, id, img).reply).toEqual(hex('03 02 1234'));
    expect(handlePdu(hex('10 0000 0002 04 0001 0002'), 1, id, img).reply).toEqual(hex('10 0000 0002'));
  });
  it('answers exceptions 01 and 02', () => {
    const img = new ProcessImage('x');
    expect(handlePdu(hex('07'), 1, id, img).reply).toEqual(hex('87 01'));
    expect(handlePdu(hex('03 ffff 0002'), 1, id, img).reply).toEqual(hex('83 02'));
  });
  it('reads device identification', () => {
    const r = handlePdu(hex('2b 0e 01 00'), 1, id, new ProcessImage('x'));
    expect(r.reply.toString('latin1')).toContain('Siemens');
    expect(r.reply.toString('latin1')).toContain('6ES7 315-2EH14-0AB0');
    const x = handlePdu(hex('2b 0e 03 00'), 1, id, new ProcessImage('x'));
    expect(x.reply[6]).toBe(7);
    expect(x.reply.toString('latin1')).toContain('CPU 315-2 PN/DP');
  });
  it('bounds MBAP frames', () => {
    expect(takeFrame(hex('0001 0000 0200 01 03')).kind).toBe('error');
    const f = takeFrame(encodeFrame(7, 3, hex('03 0000 0001')));
    expect(f.kind === 'frame' && f.frame.unit === 3 && f.frame.tid === 7).toBe(true);
  });
  it('never throws (fuzz)', () => {
    const img = new ProcessImage('f');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 255 }), (bytes, unit) => {
        const b = Buffer.from(bytes);
        const t = takeFrame(b);
        expect(['frame', 'more', 'error']).toContain(t.kind);
        const r = handlePdu(b, unit, id, img);
        expect(r.reply.length).toBeLessThanOrEqual(253);
      }),
      { numRuns: 10_000, seed: 502 },
    );
  });
});

describe('s7 codec', () => {
  const id = identityFrom(fakeCtx());
  it('answers CR with CC echoing refs and TSAPs', () => {
    const f = takeTpkt(hex('0300001611e00000001400c1020100c2020102c0010a'));
    expect(f.kind).toBe('frame');
    const step = handleTpkt(f.kind === 'frame' ? f.payload : Buffer.alloc(0), newSession(), id);
    const cc = step.replies[0]!;
    expect(cc[5]).toBe(0xd0);
    expect(cc.readUInt16BE(6)).toBe(0x0014);
    expect(cc.toString('hex')).toContain('c2020102');
  });
  it('negotiates PDU 240 and refuses unknown jobs with 0x8104', () => {
    const s = newSession();
    handleTpkt(hex('11e00000001400c1020100c2020102c0010a'), s, id);
    const setup = handleTpkt(hex('02f08032010000000000080000f0000001000101e0'), s, id).replies[0]!;
    expect(setup.readUInt16BE(setup.length - 2)).toBe(240);
    const bad = handleTpkt(hex('02f080320100000001000200001d00'), s, id).replies[0]!;
    expect(bad.subarray(17, 19)).toEqual(hex('8104'));
  });
  it('never throws (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1100 }), fc.boolean(), (bytes, connected) => {
        const b = Buffer.from(bytes);
        takeTpkt(b);
        const s = newSession();
        s.connected = connected;
        const st = handleTpkt(b, s, id);
        for (const r of st.replies) expect(r.length).toBeLessThanOrEqual(1024);
        // structured: a DT with an S7 header and random rest
        handleTpkt(Buffer.concat([hex('02f08032'), b]), { ...s, connected: true }, id);
        handleTpkt(Buffer.concat([hex('02f0803207000000'), b.subarray(0, 4), hex('000112'), b]), { ...s, connected: true }, id);
      }),
      { numRuns: 10_000, seed: 102 },
    );
  });
});

async function startWith(config: Record<string, string>, decky = 'plc-01'): Promise<{ t: TestContext; svc: RunningService }> {
  const t = makeTestContext('conpot', config, PORTS, { ephemeral: true, decky, hostname: decky });
  const svc = await startConpot(t.ctx);
  return { t, svc };
}
const portOf = (svc: RunningService, port: number, proto = 'tcp') => svc.ports[PORTS.findIndex((p) => p.port === port && p.proto === proto)]!;

const custom = {
  ics_vendor: 'Acme Automation',
  ics_product: 'CPU 317-2 PN/DP',
  ics_order_code: '6ES7 317-2EK14-0AB0',
  ics_version: 'V3.3.12',
  ics_serial: 'S C-H7TN12345678',
  ics_plant: 'Waterworks North',
};

describe.each([
  ['defaults', {} as Record<string, string>],
  ['custom config', custom],
])('conpot on 127.0.0.1 (%s)', (_name, config) => {
  let t: TestContext;
  let svc: RunningService;
  beforeAll(async () => ({ t, svc } = await startWith(config)));
  afterAll(async () => svc.close());
  const id = () => identityFrom(t.ctx);

  it.skipIf(!hasBinary('nmap'))('nmap modbus-discover shows slave id and device identification', async () => {
    const r = await run('nmap', ['-p', String(portOf(svc, 502)), '--script', '+modbus-discover', '127.0.0.1', '-Pn'], { timeoutMs: 60_000 });
    const i = id();
    expect(r.stdout).toContain('| modbus-discover: ');
    expect(r.stdout).toMatch(/sid 0x1:/);
    expect(r.stdout).toContain(`Slave ID data: \\x01\\xFF${i.vendor}`);
    expect(r.stdout).toContain(`${i.vendor} ${i.product} ${i.orderCode} ${i.version}`);
    expect(r.stdout).toContain(`Device identification: ${i.vendor} ${i.orderCode} ${i.version}`);
    await t.waitFor((e) => e.event === 'command' && e['function'] === 43);
  }, 70_000);

  it.skipIf(!hasBinary('nmap'))('nmap s7-info prints the module identity', async () => {
    const r = await run('nmap', ['-p', String(portOf(svc, 102)), '--script', '+s7-info', '127.0.0.1', '-Pn'], { timeoutMs: 60_000 });
    const i = id();
    const lines = r.stdout.split('\n').map((l) => l.replace(/^\|[_ ]\s*/, '').trimEnd());
    expect(lines).toContain(`Module: ${i.orderCode}`);
    expect(lines).toContain(`Basic Hardware: ${i.orderCode}`);
    expect(lines).toContain(`Version: ${i.fw.join('.')}`);
    expect(lines).toContain(`System Name: ${i.plant}`);
    expect(lines).toContain(`Module Type: ${i.product}`);
    expect(lines).toContain(`Serial Number: ${i.serial}`);
    expect(lines).toContain(`Plant Identification: ${i.plant}`);
    // the copyright record holds 26 characters, as on the CPU
    expect(lines).toContain(`Copyright: ${`Original ${i.vendor} Equipment`.slice(0, 26).trimEnd()}`);
    if (config.ics_serial) expect(i.serial).toBe(config.ics_serial);
    await t.waitFor((e) => e.event === 'command' && e['szl_id'] === '0x001c');
  }, 70_000);

  it.skipIf(!hasBinary('curl'))('HMI page and login capture', async () => {
    const port = portOf(svc, 80);
    const page = await run('curl', ['-s', `http://127.0.0.1:${port}/`]);
    expect(page.stdout).toContain(`<title>${id().vendor} SIMATIC ${id().product}</title>`);
    expect(page.stdout).toContain('action="/login"');
    await run('curl', ['-s', '-d', 'Login=admin&Password=Siemens1', `http://127.0.0.1:${port}/login`]);
    const e = await t.waitFor((x) => x.event === 'auth_attempt');
    expect(e).toMatchObject({ principal: 'admin', secret: 'Siemens1', secret_kind: 'http_form' });
  });

  it.skipIf(!hasBinary('snmpget'))('snmpget sysDescr.0 says the PLC', async () => {
    const r = await run('snmpget', ['-v2c', '-c', 'public', `127.0.0.1:${portOf(svc, 161, 'udp')}`, '1.3.6.1.2.1.1.1.0']);
    expect(r.stdout.trim()).toBe(`iso.3.6.1.2.1.1.1.0 = STRING: "${plcSysDescr(id())}"`.replace('iso.3', r.stdout.startsWith('SNMPv2') ? 'SNMPv2-MIB::sysDescr.0' : 'iso.3'));
  });
  it.skipIf(!hasBinary('snmpget'))('snmpget sysObjectID.0 is under Siemens SIMATIC NET (4196), not net-snmp', async () => {
    const r = await run('snmpget', ['-v2c', '-c', 'public', '-On', `127.0.0.1:${portOf(svc, 161, 'udp')}`, '1.3.6.1.2.1.1.2.0']);
    expect(r.stdout.trim()).toBe('.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.4196.1.1.5.2');
  });
});

describe('conpot sockets survive garbage', () => {
  it('drops bad frames, logs protocol_error, keeps serving', async () => {
    const { t, svc } = await startWith({});
    try {
      const bad = await RawClient.connect(portOf(svc, 502));
      bad.send(hex('0001 0000 ffff 01 03'));
      await t.waitFor((e) => e.event === 'protocol_error' && e['protocol'] === 'modbus');
      const s7bad = await RawClient.connect(portOf(svc, 102));
      s7bad.send(hex('0300ffff00'));
      await t.waitFor((e) => e.event === 'protocol_error' && e['protocol'] === 's7comm');
      const ok = await RawClient.connect(portOf(svc, 502));
      ok.send(encodeFrame(9, 1, hex('05 0010 ff00')));
      await ok.waitFor((b) => b.length >= 12);
      expect(ok.bytes).toEqual(encodeFrame(9, 1, hex('05 0010 ff00')));
      const e = await t.waitFor((x) => x.event === 'command' && x['function'] === 5);
      expect(e).toMatchObject({ unit: 1, address: 16, count: 1, write: true });
      for (const c of [bad, s7bad, ok]) c.socket.destroy();
    } finally {
      await svc.close();
    }
  });
});
