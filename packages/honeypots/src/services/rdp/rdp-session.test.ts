import { readFileSync } from 'node:fs';
import { resolvePersona, type AttackerEvent } from '@decnet/api';
import { describe, expect, it } from 'vitest';
import { parseTsRequest, STATUS_LOGON_FAILURE } from './credssp.js';
import { authenticate, verifyHashcat5600 } from '../../protocols/ntlm-test-client.js';
import { RdpSession } from './rdp-session.js';
import { parseDataTpdu, tpkt } from './x224.js';

const fx = JSON.parse(readFileSync(new URL('./__fixtures__/captures.json', import.meta.url), 'utf8')) as Record<string, string[]>;
const hex = (h: string) => Buffer.from(h, 'hex');
const persona = resolvePersona({ hostname: 'ws01', nmapOS: 'windows', services: [{ name: 'rdp', config: {} }, { name: 'ldap', config: { domain: 'corp.local' } }] });
const info = { src_ip: '192.0.2.7', src_port: 50000, dst_port: 3389 };
const CHAL = Buffer.from('1122334455667788', 'hex');
const u16 = (s: string) => Buffer.from(s, 'utf16le');

function session(nla: boolean) {
  const events: AttackerEvent[] = [];
  const s = new RdpSession({ persona, nla, info, emit: (e) => events.push(e as AttackerEvent), ntlm: { challenge: CHAL } });
  return { s, events };
}

function tsRequest(token: Buffer, version = 6): Buffer {
  const der = (tag: number, body: Buffer) => {
    const len = body.length < 0x80 ? Buffer.from([body.length]) : Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
    return Buffer.concat([Buffer.from([tag]), len, body]);
  };
  return der(0x30, Buffer.concat([der(0xa0, der(0x02, Buffer.from([version]))), der(0xa1, der(0x30, der(0x30, der(0xa0, der(0x04, token)))))]));
}

describe('RdpSession with NLA', () => {
  it('negotiates CredSSP, sends the persona CHALLENGE and captures a crackable NetNTLMv2', () => {
    const { s, events } = session(true);
    const cc = s.feed(hex(fx['x224_connection_requests']![7]!));
    expect(cc.startTls).toBe(true);
    expect(cc.out[0]!.toString('hex')).toBe('030000130ed00000123400021f080002000000');
    expect(events[0]).toMatchObject({ event: 'request', principal: 'alice', rdp_cookie: 'alice', requested_protocols: 'SSL|HYBRID', selected_protocol: 'HYBRID' });

    const ch = s.feed(hex(fx['tsrequests']![1]!)); // xfreerdp's NEGOTIATE
    const challenge = parseTsRequest(ch.out[0]!)!.negoTokens[0]!;
    expect(challenge.readUInt32LE(8)).toBe(2);
    expect(challenge.subarray(24, 32)).toEqual(CHAL);
    expect(challenge.includes(u16('ws01.corp.local'))).toBe(true);
    expect(challenge.subarray(48, 52).toString('hex')).toBe(`0a00${Buffer.from([19045 & 0xff, 19045 >> 8]).toString('hex')}`);

    const done = s.feed(tsRequest(authenticate(challenge, 'alice', 'CORP', 'Secret1')));
    expect(done.close).toBe(true);
    expect(parseTsRequest(done.out[0]!)).toMatchObject({ version: 6, errorCode: STATUS_LOGON_FAILURE });
    const ev = events.find((e) => e.event === 'auth_attempt')!;
    expect(ev).toMatchObject({ principal: 'CORP\\alice', secret_kind: 'netntlmv2', success: false, auth_method: 'credssp', ntlm_workstation: 'KALI', src_ip: '192.0.2.7' });
    expect(verifyHashcat5600(ev.secret!, 'Secret1')).toBe(true);
    expect(verifyHashcat5600(ev.secret!, 'Secret2')).toBe(false);
    expect(Buffer.from(ev.secret_b64!, 'base64').toString()).toBe(ev.secret);
  });

  it('sends no errorCode to a CredSSP v2 client', () => {
    const { s } = session(true);
    s.feed(hex(fx['x224_connection_requests']![0]!));
    const ch = s.feed(tsRequest(parseTsRequest(hex(fx['tsrequests']![1]!))!.negoTokens[0]!, 2));
    const challenge = parseTsRequest(ch.out[0]!)!.negoTokens[0]!;
    const done = s.feed(tsRequest(authenticate(challenge, 'bob', 'CORP', 'x'), 2));
    expect(done).toEqual({ out: [], close: true });
  });

  it('refuses TLS-only and legacy clients like an NLA-only Windows', () => {
    const ssl = session(true);
    const r = ssl.s.feed(hex(fx['x224_connection_requests']![3]!)); // requested SSL only
    expect(r.close).toBe(true);
    expect(r.out[0]!.toString('hex')).toBe('030000130ed000001234000300080005000000');
    const legacy = session(true);
    expect(legacy.s.feed(hex('0300000b06e00000000000')).out[0]!.toString('hex')).toBe('0300000b06d00000123400');
    expect(legacy.s.feed(hex(fx['nmap_mcs_connect_initial']![0]!)).close).toBe(true);
  });

  it('closes on garbage without throwing', () => {
    const { s, events } = session(true);
    expect(s.feed(Buffer.from('GET / HTTP/1.1\r\n\r\n')).close).toBe(true);
    expect(events[0]).toMatchObject({ event: 'protocol_error' });
    expect(s.feed(Buffer.from('more')).close).toBe(true);
  });
});

describe('RdpSession without NLA', () => {
  it('runs the MCS sequence xfreerdp sends and captures the plaintext password', () => {
    const { s, events } = session(false);
    // xfreerdp /sec:tls: the captured request, offering TLS only
    const tlsOnly = fx['x224_connection_requests']![7]!.replace(/0100080003000000$/, '0100080001000000');
    expect(s.feed(hex(tlsOnly)).out[0]!.toString('hex')).toBe('030000130ed00000123400021f080001000000');
    const replies: Buffer[] = [];
    let last;
    for (const h of fx['xfreerdp_tls_mcs_sequence']!) {
      last = s.feed(hex(h));
      replies.push(...last.out);
    }
    expect(last!.close).toBe(true);
    const mcs = replies.map((r) => parseDataTpdu(r)!);
    expect(mcs[0]!.subarray(0, 2).toString('hex')).toBe('7f66');
    // attach user confirm (user 1009: after 4 static channels and the message channel), then one confirm per join
    expect(mcs[1]!.toString('hex')).toBe('2e000008');
    expect(mcs.filter((m) => m[0] === 0x3e)).toHaveLength(7);
    expect(mcs.at(-2)![0]).toBe(0x68); // licensing on the I/O channel
    expect(mcs.at(-1)!.toString('hex')).toBe('2180'); // Disconnect Provider Ultimatum
    const ev = events.find((e) => e.event === 'auth_attempt')!;
    expect(ev).toMatchObject({ principal: 'CORP\\alice', secret_kind: 'plaintext', secret: 'Secret1', secret_b64: Buffer.from('Secret1').toString('base64'), auth_method: 'rdp_client_info', rdp_client_address: '127.0.0.1', success: false });
    expect(events.find((e) => e.request === 'mcs_connect_initial')).toMatchObject({ rdp_channels: ['rdpdr', 'rdpsnd', 'cliprdr', 'drdynvc'] });
  });

  it('follows a client that starts CredSSP after being offered TLS (nmap rdp-ntlm-info)', () => {
    const { s } = session(false);
    expect(s.feed(hex(fx['x224_connection_requests']![1]!)).startTls).toBe(true);
    const ch = s.feed(hex(fx['tsrequests']![0]!));
    expect(parseTsRequest(ch.out[0]!)!.negoTokens[0]!.readUInt32LE(8)).toBe(2);
  });

  it('hangs up on a channel it never announced', () => {
    const { s } = session(false);
    s.feed(hex(fx['x224_connection_requests']![7]!));
    s.feed(hex(fx['xfreerdp_tls_mcs_sequence']![0]!));
    expect(s.feed(tpkt(Buffer.from('02f08038000604d2', 'hex'))).close).toBe(true);
  });
});
