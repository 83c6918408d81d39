import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseClientInfo } from './client-info.js';
import { buildTsRequest, parseTsRequest, STATUS_LOGON_FAILURE, TsRequestReader } from './credssp.js';
import { buildConnectResponse, buildServerData, parseConnectInitial, parseDomainPdu, serverRdpVersion } from './mcs.js';
import { negotiate } from './rdp-session.js';
import { buildConnectionConfirm, parseConnectionRequest, parseDataTpdu, PROTOCOL, TpktReader } from './x224.js';

const fx = JSON.parse(readFileSync(new URL('./__fixtures__/captures.json', import.meta.url), 'utf8')) as Record<string, string[]>;
const hex = (h: string) => Buffer.from(h, 'hex');
const nmapCr = (proto: number) => fx['x224_connection_requests']!.map(hex).find((b) => b.length === 42 && b.readUInt32LE(38) === proto)!;

describe('X.224 negotiation', () => {
  it('parses the cookie and requested protocols nmap and xfreerdp send', () => {
    expect(parseConnectionRequest(nmapCr(3))).toEqual({ negotiation: true, negFlags: 0, requestedProtocols: 3, cookie: 'nmap' });
    const xf = parseConnectionRequest(hex(fx['x224_connection_requests']![7]!))!;
    expect(xf.cookie).toBe('alice');
    expect(xf.requestedProtocols).toBe(PROTOCOL.SSL | PROTOCOL.HYBRID);
    expect(parseConnectionRequest(hex('0300000b06e00000000000'))).toEqual({ negotiation: false, negFlags: 0, requestedProtocols: 0 });
  });

  it('answers like Windows 10: the bytes of nmap\'s "Windows 10" signature', () => {
    const cc = buildConnectionConfirm(negotiate(parseConnectionRequest(nmapCr(3))!, true));
    // match ms-wbt-server m|^\x03\0\0\x13\x0e\xd0\0\0\x124\0\x02\x1f\x08\0\x02\0\0\0|
    expect(cc.toString('hex')).toBe('030000130ed00000123400021f080002000000');
  });

  it('selects as Windows does for each offer', () => {
    const sel = (p: number, nla: boolean) => negotiate({ negotiation: true, negFlags: 0, requestedProtocols: p }, nla);
    expect(sel(0x0b, true)).toMatchObject({ kind: 'rsp', selected: PROTOCOL.HYBRID_EX });
    expect(sel(0x03, true)).toMatchObject({ kind: 'rsp', selected: PROTOCOL.HYBRID, flags: 0x1f });
    expect(sel(0x01, true)).toEqual({ kind: 'failure', code: 5 }); // HYBRID_REQUIRED_BY_SERVER
    expect(sel(0x00, true)).toEqual({ kind: 'failure', code: 5 });
    // NLA not required: CredSSP is still chosen when offered, TLS only for a TLS-only client
    expect(sel(0x03, false)).toMatchObject({ kind: 'rsp', selected: PROTOCOL.HYBRID });
    expect(sel(0x01, false)).toMatchObject({ kind: 'rsp', selected: PROTOCOL.SSL });
    expect(sel(0x02, false)).toMatchObject({ kind: 'rsp', selected: PROTOCOL.HYBRID });
    expect(sel(0x00, false)).toEqual({ kind: 'failure', code: 1 }); // SSL_REQUIRED_BY_SERVER
    expect(negotiate({ negotiation: false, negFlags: 0, requestedProtocols: 0 }, true)).toEqual({ kind: 'none' });
    expect(buildConnectionConfirm({ kind: 'failure', code: 5 }).toString('hex')).toBe('030000130ed000001234000300080005000000');
    expect(buildConnectionConfirm({ kind: 'none' }).toString('hex')).toBe('0300000b06d00000123400');
  });

  it('frames TPKTs across chunks and rejects garbage', () => {
    const r = new TpktReader();
    const cr = nmapCr(3);
    expect(r.push(cr.subarray(0, 5)).packets).toHaveLength(0);
    expect(r.push(cr.subarray(5)).packets).toEqual([cr]);
    expect(new TpktReader().push(Buffer.from('GET / HTTP/1.0\r\n')).error).toMatch(/not a TPKT/);
    expect(new TpktReader().push(hex('0300ffff')).error).toMatch(/length/);
  });
});

describe('CredSSP TSRequest', () => {
  it('parses the NEGOTIATE of nmap and xfreerdp and the AUTHENTICATE of xfreerdp', () => {
    const [nmapNeg, xfNeg, xfAuth] = fx['tsrequests']!.map(hex);
    expect(parseTsRequest(nmapNeg!)).toMatchObject({ version: 0x60 });
    expect(parseTsRequest(nmapNeg!)!.negoTokens[0]!.subarray(0, 8).toString()).toBe('NTLMSSP\0');
    expect(parseTsRequest(xfNeg!)).toMatchObject({ version: 6 });
    const auth = parseTsRequest(xfAuth!)!;
    expect(auth.negoTokens[0]!.readUInt32LE(8)).toBe(3);
    expect(auth.pubKeyAuth?.length).toBeGreaterThan(0);
    expect(auth.clientNonce?.length).toBe(32);
  });

  it('writes errorCode as Windows does (signed 32-bit) and round-trips', () => {
    const b = buildTsRequest({ errorCode: STATUS_LOGON_FAILURE });
    expect(b.toString('hex')).toBe('300da003020106a406020' + '4c000006d');
    expect(parseTsRequest(b)).toMatchObject({ version: 6, errorCode: STATUS_LOGON_FAILURE });
    const tok = Buffer.alloc(300, 7);
    expect(parseTsRequest(buildTsRequest({ negoToken: tok }))!.negoTokens).toEqual([tok]);
  });

  it('frames the TLS stream', () => {
    const r = new TsRequestReader();
    const m = hex(fx['tsrequests']![2]!);
    expect(r.push(m.subarray(0, 3)).messages).toHaveLength(0);
    expect(r.push(Buffer.concat([m.subarray(3), m])).messages).toEqual([m, m]);
    expect(new TsRequestReader().push(hex('308400ffffff')).error).toMatch(/too large/);
  });
});

describe('MCS / GCC', () => {
  it('parses the Connect-Initial of nmap and xfreerdp', () => {
    const nm = parseConnectInitial(parseDataTpdu(hex(fx['nmap_mcs_connect_initial']![0]!))!)!;
    expect(nm.core).toMatchObject({ clientName: 'EMP-LAP-0014', clientBuild: 2600, desktopWidth: 1280 });
    expect(nm.channels.map((c) => c.name)).toEqual(['rdpdr', 'cliprdr', 'rdpsnd']);
    const xf = parseConnectInitial(parseDataTpdu(hex(fx['xfreerdp_tls_mcs_sequence']![0]!))!)!;
    expect(xf.channels.map((c) => c.name)).toEqual(['rdpdr', 'rdpsnd', 'cliprdr', 'drdynvc']);
    expect(xf.core?.serverSelectedProtocol).toBe(PROTOCOL.SSL);
  });

  it('builds a Connect-Response nmap\'s rdp.lua reads (result, version, encryption none)', () => {
    const resp = buildConnectResponse(buildServerData({ rdpVersion: serverRdpVersion(19045), requestedProtocols: 3, channelIds: [1004, 1005, 1006], multitransport: false }));
    expect(resp.subarray(0, 2).toString('hex')).toBe('7f66');
    const ud = resp.subarray(resp.indexOf('McDn') + 5);
    expect(ud.readUInt16LE(0)).toBe(0x0c01);
    expect(ud.readUInt32LE(4)).toBe(0x0008000c);
    const sec = ud.subarray(ud.readUInt16LE(2));
    expect(sec.readUInt16LE(0)).toBe(0x0c02);
    expect(sec.readUInt32LE(4)).toBe(0);
    const net = sec.subarray(sec.readUInt16LE(2));
    expect(net.toString('hex')).toBe('030c1000eb030300ec03ed03ee030000');
  });

  it('parses the domain PDUs xfreerdp sends', () => {
    const seq = fx['xfreerdp_tls_mcs_sequence']!.map((h) => parseDomainPdu(parseDataTpdu(hex(h))!));
    expect(seq[1]).toEqual({ type: 'erect-domain' });
    expect(seq[2]).toEqual({ type: 'attach-user' });
    expect(seq[3]).toEqual({ type: 'channel-join', initiator: 1007, channelId: 1007 });
    expect(seq.at(-1)).toMatchObject({ type: 'send-data', channelId: 1003 });
  });
});

describe('Client Info PDU', () => {
  it('yields the plaintext credentials xfreerdp sent', () => {
    const pdu = parseDomainPdu(parseDataTpdu(hex(fx['xfreerdp_tls_mcs_sequence']!.at(-1)!))!);
    expect(pdu?.type).toBe('send-data');
    const info = parseClientInfo((pdu as { data: Buffer }).data)!;
    expect(info).toMatchObject({ domain: 'CORP', userName: 'alice', password: 'Secret1', autologon: true, clientAddress: '127.0.0.1' });
  });

  it('rejects encrypted or truncated packets', () => {
    const data = Buffer.alloc(40);
    data.writeUInt16LE(0x0048, 0); // SEC_INFO_PKT | SEC_ENCRYPT
    expect(parseClientInfo(data)).toBeUndefined();
    data.writeUInt16LE(0x0040, 0);
    data.writeUInt16LE(500, 4 + 8);
    expect(parseClientInfo(data)).toBeUndefined();
  });
});
