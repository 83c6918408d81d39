import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigValue, ServicePort } from '@decnet/api';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { RawClient } from '../../runtime/test-util.js';
import { GENERIC_LIMITS, genericService, greetingFor } from './generic.js';

let t: TestContext | undefined;
let svc: RunningService | undefined;
async function start(service: string, config: Record<string, ConfigValue>, ports: ServicePort[]) {
  t = makeTestContext(service, config, ports);
  svc = await genericService.start(t.ctx);
  return { t, svc };
}
afterEach(async () => {
  await svc?.close();
  t?.cleanup();
  svc = undefined;
  t = undefined;
});

describe('generic tcp', () => {
  it('sends the persona banner, logs input with hex and text previews', async () => {
    const { t, svc } = await start('mongodb', { banner: 'MongoDB 4.4 shell ready' }, [{ port: 0, proto: 'tcp' }]);
    const c = await RawClient.connect(svc.ports[0]!);
    expect(await c.waitFor(/\r\n$/)).toBe('MongoDB 4.4 shell ready\r\n');
    c.send(Buffer.from([0x16, 0x03, 0x01, 0x41, 0x42, 0x0a]));
    const ev = await t.waitFor((e) => e.event === 'request');
    expect(ev).toMatchObject({ proto: 'tcp', size: 6, hex: '16030141420a', text: '...AB\\n', src_ip: '127.0.0.1', dst_port: svc.ports[0] });
    c.close();
    await t.waitFor((e) => e.event === 'disconnect');
    expect(t.events[0]!.event).toBe('connection');
  });

  it('uses a built-in greeting shaped by the version key, and nothing for client-first protocols', async () => {
    expect(greetingFor('vnc', { vnc_version: '3.7' }, 'h')).toBe('RFB 003.007\n');
    expect(greetingFor('elasticsearch', { es_version: '7.17.0' }, 'h')).toBeUndefined();
    expect(greetingFor('x', { banner: 'line\n' }, 'h')).toBe('line\n');
    const { svc } = await start('vnc', {}, [{ port: 0, proto: 'tcp' }]);
    const c = await RawClient.connect(svc.ports[0]!);
    expect(await c.waitFor(/\n$/)).toBe('RFB 003.008\n');
    c.close();
  });

  it('closes a connection after 64 KiB and caps events', async () => {
    const { t, svc } = await start('postgres', {}, [{ port: 0, proto: 'tcp' }]);
    const c = await RawClient.connect(svc.ports[0]!);
    for (let i = 0; i < 200; i++) c.send(Buffer.alloc(1024, 0x41));
    await c.waitClosed();
    await t.waitFor((e) => e.event === 'disconnect');
    const reqs = t.events.filter((e) => e.event === 'request');
    expect(reqs.length).toBeGreaterThan(0);
    expect(reqs.length).toBeLessThanOrEqual(GENERIC_LIMITS.maxEventsPerConn);
    expect(reqs.reduce((n, e) => n + (e.size as number), 0)).toBeLessThanOrEqual(GENERIC_LIMITS.maxBytesPerConn);
  });
});

describe('generic udp', () => {
  it('logs datagrams without answering, ports in ctx.ports order', async () => {
    const { t, svc } = await start('snmp', {}, [
      { port: 0, proto: 'udp' },
      { port: 0, proto: 'tcp' },
    ]);
    expect(svc.ports).toHaveLength(2);
    const client = dgram.createSocket('udp4');
    const replies: Buffer[] = [];
    client.on('message', (m) => replies.push(m));
    await new Promise<void>((r) => client.send(Buffer.from('public-probe'), svc.ports[0]!, '127.0.0.1', () => r()));
    const ev = await t.waitFor((e) => e.event === 'request');
    expect(ev).toMatchObject({ proto: 'udp', size: 12, text: 'public-probe', src_ip: '127.0.0.1', dst_port: svc.ports[0] });
    await new Promise((r) => setTimeout(r, 100));
    expect(replies).toEqual([]);
    client.close();
    // the tcp port is live too
    const c = await RawClient.connect(svc.ports[1]!);
    c.close();
  });

  it('rate-limits datagram events', async () => {
    const { t, svc } = await start('llmnr', {}, [{ port: 0, proto: 'udp' }]);
    const client = dgram.createSocket('udp4');
    for (let i = 0; i < 300; i++) client.send(Buffer.from([i & 0xff]), svc.ports[0]!, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 300));
    client.close();
    const n = t.events.filter((e) => e.event === 'request').length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(GENERIC_LIMITS.udpEventsPerSec + 30);
  });
});
