/**
 * Infrastructure, VoIP, IoT and ICS deckies against the stock Debian clients, run from
 * the lab fleet's attacker namespace: nmap (-sV, vnc-info) and hydra's vnc module. Each
 * client sees the product of the decky's persona and every credential is in
 * `decnetctl events`. One fleet (e2infra, 10.241.0.0/24), applied once; host id e2e-infra.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, decnetctl, tempDir, type RunResult } from './lib/cli.js';
import { fleetEvents } from './lib/fleet-events.js';
import { labFleet } from './lib/lab-fleet.js';

const FLEET = 'e2infra';
const VNC = '10.241.0.11';
const IOT = '10.241.0.12';
const SRC = '10.241.0.1';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = process.env['DECNET_BASE_IMAGE'] ?? `decnet/runtime-base:${VERSION}`;
const ENV = { DECNET_HOST_ID: 'e2e-infra', DECNET_STATE_DIR: tempDir('e2infra-state'), DECNET_BASE_IMAGE: IMAGE, DECNET_IMAGE_BASE: process.env['DECNET_IMAGE_BASE'] ?? IMAGE };
const CLIENTS = ['nmap', 'hydra', 'mosquitto_sub', 'mosquitto_pub'];

const MANIFEST = `apiVersion: decnet.io/v1alpha1
kind: Fleet
metadata: { name: ${FLEET} }
spec:
  network: { subnet: 10.241.0.0/24, gateway: ${SRC} }
  lab: true
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2i-desk }
spec:
  fleet: ${FLEET}
  ip: ${VNC}
  hostname: eng-ws-07
  nmapOS: linux
  services: [vnc]
  serviceConfig:
    vnc: { vnc_version: "003.008" }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2i-iot }
spec:
  fleet: ${FLEET}
  ip: ${IOT}
  hostname: bms-gw-02
  archetype: iot-device
  services: [mqtt]
  serviceConfig:
    mqtt: { mqtt_version: "mosquitto version 2.0.11" }
`;

const ctl = (args: string[], timeoutMs?: number) => decnetctl(args, { env: ENV, timeoutMs });
const lab = (cmd: string[], timeoutMs = 120_000) => ctl(['lab', 'exec', FLEET, '--', ...cmd], timeoutMs);
const sh = (script: string, timeoutMs?: number) => lab(['sh', '-c', script], timeoutMs);
const out = (r: RunResult) => `${r.stdout}\n${r.stderr}`;
const nmap = (...args: string[]) => lab(['nmap', '-Pn', '-n', ...args], 240_000);

const { expectEvent } = fleetEvents(ctl, FLEET);

const fleet = labFleet(ctl, FLEET, MANIFEST, { clients: CLIENTS, image: IMAGE, services: 2 });
beforeAll(() => fleet.up(), 900_000);
afterAll(() => fleet.down(), 300_000);

describe('vnc', () => {
  it('nmap -sV names VNC protocol 3.8 and vnc-info shows VNC Authentication', async () => {
    const o = out(await nmap('-sV', '-p', '5900', '--script', 'vnc-info', VNC));
    expect(o).toMatch(/5900\/tcp\s+open\s+vnc\s+VNC \(protocol 3\.8\)/);
    expect(o).toMatch(/vnc-info:[\s\S]*Protocol version: 3\.8[\s\S]*VNC Authentication \(2\)/);
  });

  it('hydra vnc completes its attempts and finds nothing; each challenge/response is a crackable event', async () => {
    const r = await sh(`printf 'admin\\nvnc-2026\\nqwerty\\n' > /tmp/vnc-pw && hydra -P /tmp/vnc-pw -t 1 -I -s 5900 ${VNC} vnc; rm -f /tmp/vnc-pw`);
    expect(out(r)).toMatch(/1 target completed, 0 valid passwords? found/);
    await expectEvent(
      { decky: 'e2i-desk', service: 'vnc', event: 'auth_attempt', secret_kind: 'vnc_challenge', src_ip: SRC, success: false },
      (e) => /^\$vnc\$\*[0-9A-F]{32}\*[0-9A-F]{32}$/.test(String(e['john'])),
    );
  });
});

describe('mqtt', () => {
  it('nmap -sV names mosquitto 2.0.11 on 1883 (its mqtt-subscribe version script reads $SYS) and lists the topics', async () => {
    const o = out(await nmap('-sV', '-p', '1883', '--script', 'mqtt-subscribe', IOT));
    // what nmap 7.93 prints for a real mosquitto: the $SYS version in the service column
    expect(o).toMatch(/1883\/tcp\s+open\s+mosquitto version 2\.0\.11/);
    expect(o).toMatch(/\$SYS\/broker\/version: mosquitto version 2\.0\.11/);
  });

  it('mosquitto_sub reads the retained telemetry; mosquitto_pub with a login is captured', async () => {
    const sub = out(await lab(['mosquitto_sub', '-h', IOT, '-t', 'bms-gw-02/#', '-v', '-W', '3']));
    expect(sub).toMatch(/^bms-gw-02\/sensors\/temp01\/temperature \d+\.\d$/m);
    const pub = await lab(['mosquitto_pub', '-h', IOT, '-u', 'maint', '-P', 'Bms!2026', '-t', 'bms-gw-02/hvac/zone1/setpoint', '-m', '35']);
    expect(pub.code, out(pub)).toBe(0);
    await expectEvent({ decky: 'e2i-iot', service: 'mqtt', event: 'auth_attempt', principal: 'maint', secret: 'Bms!2026', src_ip: SRC });
    await expectEvent({ decky: 'e2i-iot', service: 'mqtt', event: 'command', command: 'PUBLISH', topic: 'bms-gw-02/hvac/zone1/setpoint', payload: '35' });
  });
});
