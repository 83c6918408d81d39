/**
 * Infrastructure, VoIP, IoT and ICS deckies against the stock Debian clients, run from
 * the lab fleet's attacker namespace: nmap (-sV, -sU, vnc-info, modbus-discover, s7-info),
 * hydra's vnc module, mosquitto, dig, tftp-hpa, net-snmp, sipvicious and sipsak. Each
 * client sees the product of the decky's persona and every credential is in
 * `decnetctl events`. One fleet (e2infra, 10.241.0.0/24), applied once; host id e2e-infra.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { macVendor, OUI_TABLE } from '@decnet/api';
import { ROOT, decnetctl, docker, tempDir, type RunResult } from './lib/cli.js';
import { fleetEvents } from './lib/fleet-events.js';
import { labFleet } from './lib/lab-fleet.js';

const FLEET = 'e2infra';
const VNC = '10.241.0.11';
const IOT = '10.241.0.12';
const NET = '10.241.0.13';
const PBX = '10.241.0.14';
const PLC = '10.241.0.15';
const SRC = '10.241.0.1';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = process.env['DECNET_BASE_IMAGE'] ?? `decnet/runtime-base:${VERSION}`;
const ENV = { DECNET_HOST_ID: 'e2e-infra', DECNET_STATE_DIR: tempDir('e2infra-state'), DECNET_BASE_IMAGE: IMAGE, DECNET_IMAGE_BASE: process.env['DECNET_IMAGE_BASE'] ?? IMAGE };
const CLIENTS = ['nmap', 'hydra', 'mosquitto_sub', 'mosquitto_pub', 'dig', 'tftp', 'snmpwalk', 'snmpget', 'svmap', 'svwar', 'sipsak', 'curl', 'ssh-keyscan'];

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
  services: [mqtt, snmp]
  serviceConfig:
    mqtt: { mqtt_version: "mosquitto version 2.0.11" }
    snmp: { snmp_community: n0c-r34d, sys_location: "Plant 2, riser 3" }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2i-ns }
spec:
  fleet: ${FLEET}
  ip: ${NET}
  hostname: ns1
  nmapOS: linux
  distro: rocky9
  services: [dns, tftp, ssh, http]
  serviceConfig:
    dns: { domain: branch.example, bind_version: "9.18.24-1-Debian", dns_records: "fs01 10.241.0.21\\nmail 10.241.0.25" }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2i-pbx }
spec:
  fleet: ${FLEET}
  ip: ${PBX}
  hostname: pbx01
  archetype: voip-server
  serviceConfig:
    sip: { sip_server: "Asterisk PBX 18.20.0", sip_extensions: "100,101,205,300" }
---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2i-plc }
spec:
  fleet: ${FLEET}
  ip: ${PLC}
  hostname: plc-line3
  archetype: industrial-control
  serviceConfig:
    conpot: { ics_plant: "WTP-NORTH", ics_serial: "S C-X4U421302010", snmp_community: public }
`;

const ctl = (args: string[], timeoutMs?: number) => decnetctl(args, { env: ENV, timeoutMs });
const lab = (cmd: string[], timeoutMs = 120_000) => ctl(['lab', 'exec', FLEET, '--', ...cmd], timeoutMs);
const sh = (script: string, timeoutMs?: number) => lab(['sh', '-c', script], timeoutMs);
const out = (r: RunResult) => `${r.stdout}\n${r.stderr}`;
const nmap = (...args: string[]) => lab(['nmap', '-Pn', '-n', ...args], 240_000);

const { expectEvent } = fleetEvents(ctl, FLEET);

const fleet = labFleet(ctl, FLEET, MANIFEST, { clients: CLIENTS, image: IMAGE, services: 9 });
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

describe('dns and tftp', () => {
  it('nmap -sU -sV names ISC BIND of bind_version on 53 and tftp on 69', async () => {
    const o = out(await nmap('-sU', '-sV', '-p', '53,69', NET));
    expect(o).toMatch(/53\/udp\s+open\s+domain\s+ISC BIND 9\.18\.24-1 \(Debian Linux\)/);
    expect(o).toMatch(/69\/udp\s+open\s+(\S+\s+)?tftp/);
  });

  it('dig: the zone authoritatively, version.bind, and REFUSED for any other name (not an open resolver)', async () => {
    expect((await lab(['dig', `@${NET}`, '+short', 'fs01.branch.example'])).stdout.trim()).toBe('10.241.0.21');
    expect((await lab(['dig', `@${NET}`, '+short', 'ns1.branch.example'])).stdout.trim()).toBe(NET);
    expect((await lab(['dig', `@${NET}`, '+short', 'version.bind', 'TXT', 'CHAOS'])).stdout.trim()).toBe('"9.18.24-1-Debian"');
    const aa = out(await lab(['dig', `@${NET}`, 'mail.branch.example']));
    expect(aa).toMatch(/flags: qr aa rd;/);
    const open = out(await lab(['dig', `@${NET}`, 'www.example.org']));
    expect(open).toContain('status: REFUSED');
    expect(open).toContain('recursion requested but not available');
    await expectEvent({ decky: 'e2i-ns', service: 'dns', event: 'name_query', name: 'www.example.org', rcode: 'REFUSED', src_ip: SRC });
  });

  it('tftp-hpa gets the device config; a missing file is the real error; the get is an event', async () => {
    const r = await sh(`cd /tmp && tftp ${NET} -c get startup-config /tmp/e2i-startup && grep -c '^hostname ' /tmp/e2i-startup; rm -f /tmp/e2i-startup`);
    expect(r.stdout.trim(), out(r)).toBe('1');
    const nf = out(await sh(`cd /tmp && tftp ${NET} -c get no-such-file /tmp/e2i-nf; rm -f /tmp/e2i-nf`));
    expect(nf).toContain('Error code 1: File not found');
    await expectEvent({ decky: 'e2i-ns', service: 'tftp', event: 'download_attempt', filename: 'startup-config', src_ip: SRC });
  });
});

describe('snmp', () => {
  it('nmap -sU -sV names the net-snmp agent on 161 (its v1 probe asks for "public", which this decky does not answer)', async () => {
    const o = out(await nmap('-sU', '-sV', '-p', '161', IOT));
    expect(o).toMatch(/161\/udp\s+open\s+snmp\s+net-snmp; net-snmp SNMPv3 server/);
  });

  it('snmpwalk with the right community walks the system group and the interfaces with the decky MAC; a wrong one gets no answer but is captured', async () => {
    const w = out(await lab(['snmpwalk', '-v2c', '-c', 'n0c-r34d', IOT, '1.3.6.1.2.1'], 180_000));
    expect(w).toMatch(/iso\.3\.6\.1\.2\.1\.1\.5\.0 = STRING: "bms-gw-02"/);
    expect(w).toContain('"Plant 2, riser 3"');
    expect(w).toMatch(/iso\.3\.6\.1\.2\.1\.2\.2\.1\.2\.2 = STRING: "eth0"/);
    const mac = out(await lab(['snmpget', '-v2c', '-c', 'n0c-r34d', IOT, '1.3.6.1.2.1.2.2.1.6.2']));
    expect(mac).toMatch(/Hex-STRING: ([0-9A-F]{2} ){5}[0-9A-F]{2}/);
    const bad = out(await lab(['snmpget', '-v2c', '-c', 'public', '-t', '1', '-r', '0', IOT, '1.3.6.1.2.1.1.5.0']));
    expect(bad).toMatch(/Timeout/);
    await expectEvent({ decky: 'e2i-iot', service: 'snmp', event: 'auth_attempt', secret_kind: 'snmp_community', secret: 'public', success: false, src_ip: SRC });
    await expectEvent({ decky: 'e2i-iot', service: 'snmp', event: 'auth_attempt', secret_kind: 'snmp_community', secret: 'n0c-r34d', success: true });
  });
});

describe('sip', () => {
  it('svmap names the Asterisk of sip_server; nmap -sU -sV names it on 5060', async () => {
    expect(out(await lab(['svmap', PBX]))).toMatch(new RegExp(`\\|\\s*${PBX.replace(/\./g, '\\.')}:5060\\s*\\|\\s*Asterisk PBX 18\\.20\\.0\\s*\\|`));
    const o = out(await nmap('-sU', '-sV', '-p', '5060', PBX));
    expect(o).toMatch(/5060\/udp\s+open\s+sip\S*\s+Asterisk PBX 18\.20\.0/);
  });

  it('svwar enumerates exactly the configured extensions', async () => {
    const o = out(await lab(['svwar', '-e100-310', PBX], 180_000));
    const found = [...o.matchAll(/^\|\s*(\d+)\s*\|\s*reqauth\s*\|$/gm)].map((m) => m[1]).sort();
    expect(found, o).toEqual(['100', '101', '205', '300']);
  });

  it('sipsak: OPTIONS gets the 200; a register completes the digest exchange and the response is captured for john', async () => {
    expect(out(await lab(['sipsak', '-vv', '-s', `sip:100@${PBX}`]))).toContain('SIP/2.0 200 OK');
    const reg = out(await lab(['sipsak', '-U', '-vvv', '-s', `sip:205@${PBX}`, '-u', '205', '-a', 'Pbx-2026!'], 60_000));
    expect(reg).toContain('SIP/2.0 401 Unauthorized');
    expect(reg).toContain('SIP/2.0 403 Forbidden');
    await expectEvent(
      { decky: 'e2i-pbx', service: 'sip', event: 'auth_attempt', principal: '205', secret_kind: 'sip_digest', success: false, src_ip: SRC },
      (e) => String(e['hashcat']).startsWith('$sip$*'),
    );
    await expectEvent({ decky: 'e2i-pbx', service: 'sip', event: 'request', method: 'OPTIONS', src_ip: SRC });
  });
});

describe('conpot (ICS)', () => {
  it('nmap modbus-discover and s7-info show the Siemens S7-300 persona', async () => {
    const o = out(await nmap('-p', '102,502', '--script', 'modbus-discover,s7-info', PLC));
    expect(o).toMatch(/Device identification: Siemens 6ES7 315-2EH14-0AB0 V3\.2\.6/);
    expect(o).toMatch(/Module: 6ES7 315-2EH14-0AB0/);
    expect(o).toMatch(/Module Type: CPU 315-2 PN\/DP/);
    expect(o).toMatch(/Serial Number: S C-X4U421302010/);
    expect(o).toMatch(/Plant Identification: WTP-NORTH/);
    expect(o).toMatch(/Copyright: Original Siemens Equipment/);
    await expectEvent({ decky: 'e2i-plc', service: 'conpot', event: 'command', protocol: 'modbus', src_ip: SRC });
    await expectEvent({ decky: 'e2i-plc', service: 'conpot', event: 'command', protocol: 's7comm', src_ip: SRC });
  });

  it('the PLC snmp agent says SIMATIC; the HMI page names the CPU and captures a login', async () => {
    const d = out(await lab(['snmpget', '-v2c', '-c', 'public', PLC, '1.3.6.1.2.1.1.1.0']));
    expect(d).toContain('"Siemens, SIMATIC S7, CPU315-2 PN/DP, 6ES7 315-2EH14-0AB0, HW: 4, FW: V3.2.6"');
    const page = out(await lab(['curl', '-s', `http://${PLC}/`]));
    expect(page).toMatch(/<title>[^<]*Siemens[^<]*CPU 315-2 PN\/DP[^<]*<\/title>/);
    await lab(['curl', '-s', '-o', '/dev/null', '-d', 'username=operator&password=Siem3ns!', `http://${PLC}/login`]);
    await expectEvent({ decky: 'e2i-plc', service: 'conpot', event: 'auth_attempt', principal: 'operator', secret: 'Siem3ns!', src_ip: SRC });
  });
});

describe('network identity', () => {
  it('every decky answers ARP with a vendor MAC of its kind (never 02:42), the one decnet recorded', async () => {
    const o = out(await lab(['nmap', '-sn', '-n', `${VNC}-15`])); // ARP ping: nmap prints each MAC and its IEEE vendor
    const seen = new Map([...o.matchAll(/Nmap scan report for (\S+)\s+Host is up[^\n]*\nMAC Address: ([0-9A-F:]{17}) \(([^)]+)\)/g)].map((m) => [m[1]!, { mac: m[2]!.toLowerCase(), vendor: m[3]! }]));
    expect([...seen.keys()].sort(), o).toEqual([VNC, IOT, NET, PBX, PLC].sort());
    const listed = JSON.parse((await ctl(['get', 'deckies', '--fleet', FLEET, '-o', 'json'])).stdout) as { items?: { name: string; ip: string; mac: string }[] } | { name: string; ip: string; mac: string }[];
    const rows = Array.isArray(listed) ? listed : (listed.items ?? []);
    for (const [ip, { mac, vendor }] of seen) {
      expect(mac.startsWith('02:42'), `${ip} ${mac}`).toBe(false);
      expect(vendor, `${ip} ${mac}`).toBe(macVendor(mac));
      expect(rows.find((r) => r.ip === ip)?.mac, ip).toBe(mac);
    }
    expect(seen.get(PLC)!.vendor).toBe('Siemens AG');
    const iot = new Set(OUI_TABLE.iot.flat().map((r) => r.vendor));
    expect(iot.has(seen.get(IOT)!.vendor), seen.get(IOT)!.vendor).toBe(true);
  });
});

describe('coherent persona', () => {
  it('a rocky9 decky shows RHEL\'s OpenSSH to nmap -sV, not the catalogue\'s Ubuntu build', async () => {
    const o = out(await nmap('-sV', '-p', '22', NET));
    expect(o).toMatch(/22\/tcp\s+open\s+ssh\s+OpenSSH 8\.7 \(protocol 2\.0\)/);
    expect(o).not.toMatch(/Ubuntu|Debian/);
  });

  it('its http is Rocky\'s Apache, with Apache\'s header order, Keep-Alive and 400 page', async () => {
    const o = out(await nmap('-sV', '-p', '80', NET));
    expect(o).toMatch(/80\/tcp\s+open\s+http\s+Apache httpd 2\.4\.57 \(\(Rocky Linux\)\)/);
    const head = (await lab(['curl', '-sI', `http://${NET}/`])).stdout;
    expect(head.split('\r\n').slice(1).filter(Boolean).map((l) => l.split(':')[0])).toEqual(['Date', 'Server', 'Last-Modified', 'ETag', 'Accept-Ranges', 'Content-Length', 'Keep-Alive', 'Connection', 'Content-Type']);
    const bad = (await lab(['bash', '-c', `exec 3<>/dev/tcp/${NET}/80; printf 'GARBAGE\\r\\n\\r\\n' >&3; timeout 5 cat <&3; true`])).stdout;
    expect(bad).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nDate: [^\r]+\r\nServer: Apache\/2\.4\.57 \(Rocky Linux\)\r\n/);
    expect(bad).toContain('Your browser sent a request that this server could not understand.');
  });

  it('keeps its ssh host keys when its ssh container is removed and re-created (no "host identification has changed")', async () => {
    const scan = async () => (await lab(['ssh-keyscan', '-t', 'rsa,ecdsa,ed25519', NET])).stdout.split('\n').filter((l) => l && !l.startsWith('#')).sort();
    const before = await scan();
    expect(before.map((l) => l.split(' ')[1])).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa']);
    await docker('rm', '-f', 'e2i-ns-ssh');
    const dir = tempDir('e2infra-reapply');
    writeFileSync(join(dir, 'fleet.yaml'), MANIFEST);
    const r = await ctl(['apply', '-f', join(dir, 'fleet.yaml')], 300_000);
    expect(r.code, out(r)).toBe(0);
    let after: string[] = [];
    for (let i = 0; i < 40 && after.length < 3; i++) {
      after = await scan();
      if (after.length < 3) await new Promise((res) => setTimeout(res, 500));
    }
    expect(after).toEqual(before);
  });

  it('validate warns (exit 0) when explicit config tells another story than the OS profile, naming the field', async () => {
    const dir = tempDir('e2infra-warn');
    const file = join(dir, 'w.yaml');
    writeFileSync(file, `${MANIFEST.split('---')[0]}---
apiVersion: decnet.io/v1alpha1
kind: Decky
metadata: { name: e2i-two-stories }
spec: { fleet: ${FLEET}, nmapOS: windows, services: [ssh], serviceConfig: { ssh: { ssh_version: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" } } }
`);
    const r = await ctl(['validate', '-f', file]);
    expect(r.code, out(r)).toBe(0);
    expect(r.stderr).toMatch(/warning: .*spec\.serviceConfig\.ssh\.ssh_version: "SSH-2\.0-OpenSSH_9\.2p1 Debian-2\+deb12u3" says Debian, but nmapOS windows says Windows/);
  });
});
