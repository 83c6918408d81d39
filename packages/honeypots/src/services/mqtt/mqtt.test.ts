import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountMap } from '../../runtime/accounts.js';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import type { RunningService } from '../../runtime/types.js';
import { decideAuth, sysTopics, telemetryTopics } from './broker-data.js';
import { MQTT_LIMITS, mqttService } from './mqtt.js';

describe('broker data (pure)', () => {
  it('decides logins as mosquitto 2 does', () => {
    const none = accountMap('', true);
    const some = accountMap('sensor:Pa55', true);
    expect(decideAuth(none, true, undefined, undefined)).toEqual({ ok: true });
    expect(decideAuth(none, false, undefined, undefined)).toEqual({ ok: false, returnCode: 5 });
    expect(decideAuth(none, true, 'x', Buffer.from('y'))).toEqual({ ok: true });
    expect(decideAuth(some, true, 'sensor', Buffer.from('Pa55'))).toEqual({ ok: true });
    expect(decideAuth(some, true, 'sensor', Buffer.from('nope'))).toEqual({ ok: false, returnCode: 5 });
  });
  it('$SYS names the version; telemetry is deterministic per decky', () => {
    const t = sysTopics('mosquitto version 2.0.18', { uptimeSeconds: 5, connected: 1, total: 2, messagesReceived: 0, messagesSent: 0, retained: 10, subscriptions: 0 });
    expect(t[0]).toEqual(['$SYS/broker/version', 'mosquitto version 2.0.18']);
    expect(telemetryTopics('d1', 'plant-gw')).toEqual(telemetryTopics('d1', 'plant-gw'));
    expect(telemetryTopics('d1', 'plant-gw')).not.toEqual(telemetryTopics('d2', 'plant-gw'));
  });
  it('fuzz: the MQTT parser (mqtt-packet, what aedes reads with) never throws on random or mutated packets', () => {
    const valid = [
      mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'c', keepalive: 30, username: 'u', password: Buffer.from('p') }),
      mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] }),
      mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 1, messageId: 2, retain: true, dup: false }),
    ];
    const mutated = fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 })).map(([b, muts]) => {
      const c = Buffer.from(b);
      for (const [i, v] of muts) c[i % c.length] = v;
      return c;
    });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))), (buf) => {
        const p = mqttPacket.parser({ protocolVersion: 4 });
        p.on('error', () => {});
        p.on('packet', () => {});
        p.parse(buf);
      }),
      { numRuns: 10_000, seed: 1883 },
    );
  });
});

// nmap -sV and mqtt-subscribe run in e2e/infra.e2e.ts (its probe is tried on 1883 only)
describe.skipIf(!hasBinary('mosquitto_sub'))('mqtt service with mosquitto clients', () => {
  let t: TestContext;
  let svc: RunningService;
  let port: number;
  beforeAll(async () => {
    t = makeTestContext('mqtt', { mqtt_version: 'mosquitto version 2.0.11' }, [{ port: 1883, proto: 'tcp' }], { ephemeral: true, hostname: 'plant-gw' });
    svc = await mqttService.start(t.ctx);
    port = svc.ports[0]!;
  });
  afterAll(async () => {
    await svc.close();
    t.cleanup();
  });

  it('mosquitto_sub reads $SYS/broker/version and never an aedes topic', async () => {
    const r = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', '$SYS/#', '-v', '-W', '2']);
    expect(r.stdout).toContain('$SYS/broker/version mosquitto version 2.0.11');
    expect(r.stdout).toMatch(/\$SYS\/broker\/uptime \d+ seconds/);
    const topics = r.stdout.trim().split('\n').map((l) => l.split(' ')[0]!);
    expect(topics.every((x) => x.startsWith('$SYS/broker/'))).toBe(true);
    await t.waitFor((e) => e.event === 'command' && e['command'] === 'SUBSCRIBE' && e['topic'] === '$SYS/#');
  });

  it('retained telemetry is there; a publish with credentials is captured and retained for others', async () => {
    const r = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'plant-gw/#', '-v', '-W', '2']);
    expect(r.stdout).toMatch(/^plant-gw\/sensors\/temp01\/temperature \d+\.\d$/m);
    const p = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', 'ops', '-P', 'Iot#2026', '-t', 'plant-gw/relay/door1/set', '-m', 'unlock', '-r']);
    expect(p.code, p.stderr).toBe(0);
    await t.waitFor((e) => e.event === 'auth_attempt' && e.principal === 'ops' && e.secret === 'Iot#2026' && e.success === true);
    await t.waitFor((e) => e.event === 'command' && e['command'] === 'PUBLISH' && e['topic'] === 'plant-gw/relay/door1/set' && e['payload'] === 'unlock');
    const again = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'plant-gw/relay/door1/set', '-C', '1', '-W', '2']);
    expect(again.stdout.trim()).toBe('unlock');
  });

  it('a publish to $SYS is dropped', async () => {
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', '$SYS/broker/version', '-m', 'pwned', '-r']);
    const r = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', '$SYS/broker/version', '-C', '1', '-W', '2']);
    expect(r.stdout.trim()).toBe('mosquitto version 2.0.11');
  });

  it('a connection sending more than the byte budget is closed', async () => {
    const c = await RawClient.connect(port);
    // CONNECT then a PUBLISH announcing 200 MiB
    c.send(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'big', keepalive: 30 }));
    c.send(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
    for (let i = 0; i < 20; i++) c.send(Buffer.alloc(64 << 10));
    await c.waitClosed(5000);
    expect(MQTT_LIMITS.maxBytesPerConnection).toBeLessThan(20 * (64 << 10));
  });

});

describe.skipIf(!hasBinary('mosquitto_sub'))('mqtt without anonymous access', () => {
  it('refuses a client without credentials as mosquitto does (not authorised)', async () => {
    const t = makeTestContext('mqtt', { mqtt_anonymous: false, users: 'sensor:Pa55' }, [{ port: 1883, proto: 'tcp' }], { ephemeral: true });
    const svc = await mqttService.start(t.ctx);
    try {
      const r = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(svc.ports[0]!), '-t', '#', '-W', '2']);
      expect(r.stderr).toMatch(/not authori[sz]ed/i);
      const ok = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(svc.ports[0]!), '-u', 'sensor', '-P', 'Pa55', '-t', '$SYS/broker/version', '-C', '1', '-W', '2']);
      expect(ok.stdout.trim()).toBe('mosquitto version 2.0.18');
    } finally {
      await svc.close();
      t.cleanup();
    }
  });
});
