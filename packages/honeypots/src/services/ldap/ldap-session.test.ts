import { resolvePersona } from '@decnet/api';
import { describe, expect, it } from 'vitest';
import { buildNegTokenResp, unwrapSpnego } from '../../protocols/spnego.js';
import { bool, children, cons, enumerated, int, octets, prim, readInt, readString, readTlv, seq } from './ber.js';
import { LdapSession, accountOf, parseUsers } from './ldap-session.js';
import { authenticate, negotiate, verifyHashcat5600 } from '../../protocols/ntlm-test-client.js';

const persona = resolvePersona({ hostname: 'dc01', nmapOS: 'windows_server', services: [{ name: 'ldap', config: {} }] });
const config = { users: 'alice:Secret1,svc_backup:Backup#2024' };
const session = (tls = false) => new LdapSession({ persona, config, seed: 'decky-a', tls, now: () => new Date('2026-12-02T12:00:00Z') });

// ---- request builders (test side)
const msg = (id: number, op: Buffer, controls?: Buffer) => seq(int(id), op, ...(controls ? [controls] : []));
const simpleBind = (id: number, name: string, pw: string) => msg(id, cons(0x60, int(3), octets(name), prim(0x80, pw)));
const saslBind = (id: number, mech: string, creds?: Buffer) => msg(id, cons(0x60, int(3), octets(''), cons(0xa3, octets(mech), ...(creds ? [octets(creds)] : []))));
const sicily = (id: number, tag: number, token: Buffer) => msg(id, cons(0x60, int(3), octets(''), prim(tag, token)));
const search = (id: number, base: string, scope: number, filter: Buffer, attrs: string[] = [], size = 0, controls?: Buffer) =>
  msg(id, cons(0x63, octets(base), enumerated(scope), enumerated(0), int(size), int(0), bool(false), filter, seq(...attrs.map((a) => octets(a)))), controls);
const present = (a: string) => prim(0x87, a);
const eq = (a: string, v: string) => cons(0xa3, octets(a), octets(v));

// ---- response readers
interface Resp { id: number; tag: number; code?: number; matched?: Buffer; text?: string; dn?: string; attrs?: Record<string, string[]>; saslCreds?: Buffer; controls?: Buffer }
function parse(b: Buffer): Resp {
  const top = readTlv(b)!;
  expect(top.end).toBe(b.length);
  const [idT, op, ctl] = children(top.value)!;
  const r: Resp = { id: readInt(idT!.value)!, tag: op!.tag, ...(ctl ? { controls: ctl.value } : {}) };
  const k = children(op!.value)!;
  if (op!.tag === 0x64) {
    r.dn = readString(k[0]!.value);
    r.attrs = {};
    for (const a of children(k[1]!.value)!) {
      const [n, vals] = children(a.value)!;
      r.attrs[readString(n!.value)] = children(vals!.value)!.map((v) => v.value.toString('latin1'));
    }
    return r;
  }
  r.code = readInt(k[0]!.value);
  r.matched = k[1]!.value;
  r.text = readString(k[2]!.value);
  const creds = k.find((x) => x.tag === 0x87);
  if (creds) r.saslCreds = creds.value;
  return r;
}
const replies = (s: LdapSession, frame: Buffer) => s.handle(frame).replies.map(parse);

describe('rootDSE and anonymous access', () => {
  it('answers the rootDSE before any bind, with the requested attributes only', () => {
    const s = session();
    const [entry, done] = replies(s, search(1, '', 0, present('objectClass'), ['dnsHostName', 'defaultnamingcontext', 'supportedSASLMechanisms']));
    expect(entry!.dn).toBe('');
    expect(entry!.attrs).toEqual({
      defaultNamingContext: ['DC=corp,DC=local'],
      supportedSASLMechanisms: ['GSSAPI', 'GSS-SPNEGO', 'EXTERNAL', 'DIGEST-MD5'],
      dnsHostName: ['dc01.corp.local'],
    });
    expect(done).toMatchObject({ tag: 0x65, code: 0 });
    const [all] = replies(s, search(2, '', 0, present('objectclass')));
    expect(all!.attrs!['dsServiceName']).toEqual(['CN=NTDS Settings,CN=DC01,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=corp,DC=local']);
    expect(all!.attrs!['ldapServiceName']).toEqual(['corp.local:dc01$@CORP.LOCAL']);
    expect(all!.attrs!['domainControllerFunctionality']).toEqual(['7']);
    expect(all!.attrs!['currentTime']).toEqual(['20261202120000.0Z']);
  });

  it('encodes constructed elements with 4-byte lengths as AD does (nmap matches on it)', () => {
    const out = session().handle(search(7, '', 0, present('objectClass'))).replies;
    const wire = Buffer.concat(out).toString('latin1');
    // the nmap-service-probes rule for Microsoft Windows Active Directory LDAP
    const rule = /^0\x84\0\0..\x02\x01.*dsServiceName1\x84\0\0\0.\x04.CN=NTDS\x20Settings,CN=([^,]+),CN=Servers,CN=([^,]+),CN=Sites,CN=Configuration,DC=([^,]+),DC=([^,]+)0\x84\0/s;
    const m = rule.exec(wire);
    expect(m?.slice(1)).toEqual(['DC01', 'Default-First-Site-Name', 'corp', 'local']);
  });

  it('accepts an anonymous bind but refuses directory searches with 000004DC', () => {
    const s = session();
    expect(replies(s, simpleBind(1, '', ''))[0]).toMatchObject({ tag: 0x61, code: 0 });
    const out = s.handle(search(2, 'DC=corp,DC=local', 2, present('objectClass')));
    expect(out.replies.map(parse)).toEqual([expect.objectContaining({ tag: 0x65, code: 1, text: '000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563\0' })]);
    expect(out.events[0]).toMatchObject({ event: 'request', op: 'search', base: 'DC=corp,DC=local', scope: 'sub', filter: '(objectClass=*)', result_code: 1, authenticated: false });
  });
});

describe('simple binds', () => {
  it('captures a wrong password as plaintext and answers 52e', () => {
    const s = session();
    const out = s.handle(simpleBind(1, 'CN=bob,CN=Users,DC=corp,DC=local', 'Winter2024!'));
    expect(parse(out.replies[0]!)).toMatchObject({ code: 49, text: '80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563\0' });
    expect(out.events).toEqual([expect.objectContaining({ event: 'auth_attempt', principal: 'CN=bob,CN=Users,DC=corp,DC=local', secret_kind: 'plaintext', secret: 'Winter2024!', secret_b64: Buffer.from('Winter2024!').toString('base64'), success: false })]);
  });

  it('accepts configured credentials in any name form and serves the directory', () => {
    for (const name of ['alice', 'CORP\\alice', 'alice@corp.local', 'CN=alice,CN=Users,DC=corp,DC=local']) {
      const s = session();
      const out = s.handle(simpleBind(1, name, 'Secret1'));
      expect(parse(out.replies[0]!).code).toBe(0);
      expect(out.events[0]).toMatchObject({ success: true, principal: name });
      const res = replies(s, search(2, 'DC=corp,DC=local', 2, cons(0xa0, eq('objectCategory', 'person'), eq('sAMAccountName', 'alice')), ['sAMAccountName', 'memberOf', 'userPrincipalName']));
      expect(res[0]).toMatchObject({ dn: 'CN=alice,CN=Users,DC=corp,DC=local', attrs: { sAMAccountName: ['alice'], userPrincipalName: ['alice@corp.local'], memberOf: ['CN=IT,CN=Users,DC=corp,DC=local'] } });
      expect(res.at(-1)).toMatchObject({ tag: 0x65, code: 0 });
    }
  });

  it('parses the users config and bind names', () => {
    expect([...parseUsers('a:b, c:d:e,bad').values()]).toEqual([{ user: 'a', pass: 'b' }, { user: 'c', pass: 'd:e' }]);
    expect(['CORP\\x', 'x@corp.local', 'cn=x,dc=corp', 'x'].map(accountOf)).toEqual(['x', 'x', 'x', 'x']);
  });
});

describe('the fake directory', () => {
  const bound = () => {
    const s = session();
    s.handle(simpleBind(1, 'alice', 'Secret1'));
    return s;
  };
  it('is deterministic per decky and has the usual AD objects', () => {
    const names = (s: LdapSession) => replies(s, search(2, 'DC=corp,DC=local', 2, present('objectClass'), ['1.1'])).flatMap((r) => (r.dn ? [r.dn] : []));
    const a = names(bound());
    expect(a).toEqual(names(bound()));
    expect(a).toEqual(expect.arrayContaining(['DC=corp,DC=local', 'CN=Administrator,CN=Users,DC=corp,DC=local', 'CN=krbtgt,CN=Users,DC=corp,DC=local', 'CN=Domain Admins,CN=Users,DC=corp,DC=local', 'CN=DC01,OU=Domain Controllers,DC=corp,DC=local']));
    const other = new LdapSession({ persona, config, seed: 'decky-b', tls: false });
    other.handle(simpleBind(1, 'alice', 'Secret1'));
    expect(names(other)).not.toEqual(a);
  });

  it('honours scope, sizeLimit, typesOnly-free attribute lists and paged results', () => {
    const s = bound();
    const one = replies(s, search(3, 'DC=corp,DC=local', 1, present('objectClass'), ['1.1']));
    expect(one.filter((r) => r.dn).map((r) => r.dn)).toEqual(['CN=Users,DC=corp,DC=local', 'CN=Computers,DC=corp,DC=local', 'CN=Builtin,DC=corp,DC=local', 'OU=Domain Controllers,DC=corp,DC=local']);
    const limited = replies(s, search(4, 'DC=corp,DC=local', 2, present('objectClass'), ['cn'], 2));
    expect(limited).toHaveLength(3);
    expect(limited[2]).toMatchObject({ code: 4 });
    const paged = cons(0xa0, cons(0x30, octets('1.2.840.113556.1.4.319'), bool(false), octets(seq(int(100), octets('')))));
    const uac = cons(0xa9, prim(0x81, '1.2.840.113556.1.4.803'), prim(0x82, 'userAccountControl'), prim(0x83, '4194304'));
    const res = replies(s, search(5, 'CN=Users,DC=corp,DC=local', 2, uac, ['sAMAccountName'], 0, paged));
    expect(res.filter((r) => r.dn)).toHaveLength(1); // the AS-REP roastable user
    expect(res.at(-1)!.controls).toBeDefined();
    const dc = replies(s, search(6, 'DC=corp,DC=local', 2, eq('sAMAccountName', 'DC01$'), ['operatingSystem', 'operatingSystemVersion', 'dNSHostName']));
    expect(dc[0]!.attrs).toEqual({ operatingSystem: ['Windows Server 2019 Standard'], operatingSystemVersion: ['10.0 (17763)'], dNSHostName: ['dc01.corp.local'] });
  });

  it('answers noSuchObject outside the directory and refuses writes', () => {
    const s = bound();
    expect(replies(s, search(2, 'DC=evil,DC=com', 2, present('objectClass'))).at(-1)).toMatchObject({ code: 32 });
    const del = s.handle(msg(3, prim(0x4a, 'CN=alice,CN=Users,DC=corp,DC=local')));
    expect(parse(del.replies[0]!)).toMatchObject({ tag: 0x6b, code: 50 });
    expect(del.events[0]).toMatchObject({ op: 'delete', dn: 'CN=alice,CN=Users,DC=corp,DC=local' });
  });
});

describe('NTLM binds', () => {
  const challenge = Buffer.from('0123456789abcdef', 'hex');
  it('sicily: CHALLENGE in matchedDN, a crackable capture, then 52e', () => {
    const s = new LdapSession({ persona, config, seed: 'decky-a', tls: false, challenge });
    expect(parse(s.handle(sicily(1, 0x89, Buffer.alloc(0))).replies[0]!)).toMatchObject({ code: 0, matched: Buffer.from('NTLM') });
    const r1 = parse(s.handle(sicily(2, 0x8a, negotiate())).replies[0]!);
    expect(r1.code).toBe(0);
    expect(r1.matched!.subarray(0, 8).toString('latin1')).toBe('NTLMSSP\0');
    expect(r1.matched!.subarray(24, 32)).toEqual(challenge);
    const out = s.handle(sicily(3, 0x8b, authenticate(r1.matched!, 'bob', 'CORP', 'Password1')));
    expect(parse(out.replies[0]!)).toMatchObject({ code: 49 });
    const ev = out.events[0]!;
    expect(ev).toMatchObject({ event: 'auth_attempt', principal: 'CORP\\bob', secret_kind: 'netntlmv2', bind_method: 'sicily_ntlm', success: false });
    expect(verifyHashcat5600(ev['secret'] as string, 'Password1')).toBe(true);
    expect(verifyHashcat5600(ev['secret'] as string, 'Password2')).toBe(false);
  });

  it('sicily: a configured account whose response verifies is accepted', () => {
    const s = session();
    const r1 = parse(s.handle(sicily(1, 0x8a, negotiate())).replies[0]!);
    const out = s.handle(sicily(2, 0x8b, authenticate(r1.matched!, 'alice', 'CORP', 'Secret1')));
    expect(parse(out.replies[0]!).code).toBe(0);
    expect(out.events[0]).toMatchObject({ success: true });
  });

  it('SASL GSS-SPNEGO: NegTokenInit hint, wrapped and raw NTLMSSP', () => {
    const s = new LdapSession({ persona, config, seed: 'decky-a', tls: false, challenge });
    expect(parse(s.handle(saslBind(1, 'GSS-SPNEGO')).replies[0]!)).toMatchObject({ code: 14 });
    // raw NTLMSSP inside GSS-SPNEGO, as Windows' own LDAP client may send
    const raw = parse(s.handle(saslBind(2, 'GSS-SPNEGO', negotiate())).replies[0]!);
    expect(raw.code).toBe(14);
    expect(raw.saslCreds!.subarray(0, 8).toString('latin1')).toBe('NTLMSSP\0');
    const out = s.handle(saslBind(3, 'GSS-SPNEGO', authenticate(raw.saslCreds!, 'carol', 'CORP', 'hunter2')));
    expect(parse(out.replies[0]!)).toMatchObject({ code: 49 });
    expect(out.events[0]).toMatchObject({ principal: 'CORP\\carol', bind_method: 'sasl_ntlm', sasl_mechanism: 'GSS-SPNEGO' });
    expect(verifyHashcat5600(out.events[0]!['secret'] as string, 'hunter2')).toBe(true);
    // SPNEGO-wrapped: the reply is a NegTokenResp carrying the CHALLENGE
    const wrappedResp = parse(s.handle(saslBind(4, 'GSS-SPNEGO', buildNegTokenResp('accept-incomplete', negotiate(), false))).replies[0]!);
    const token = unwrapSpnego(wrappedResp.saslCreds!);
    expect(token.wrapped).toBe(true);
    const out2 = s.handle(saslBind(5, 'GSS-SPNEGO', buildNegTokenResp('accept-incomplete', authenticate(token.mechToken!, 'dave', 'CORP', 'pw'), false)));
    expect(verifyHashcat5600(out2.events[0]!['secret'] as string, 'pw')).toBe(true);
  });
});

describe('extended operations and robustness', () => {
  it('StartTLS on plain connections only, WhoAmI', () => {
    const s = session();
    const st = s.handle(msg(1, cons(0x77, prim(0x80, '1.3.6.1.4.1.1466.20037'))));
    expect(st.startTls).toBe(true);
    expect(parse(st.replies[0]!).code).toBe(0);
    expect(s.handle(msg(2, cons(0x77, prim(0x80, '1.3.6.1.4.1.1466.20037')))).startTls).toBeUndefined();
    s.handle(simpleBind(3, 'CORP\\alice', 'Secret1'));
    const who = s.handle(msg(4, cons(0x77, prim(0x80, '1.3.6.1.4.1.4203.1.11.3')))).replies[0]!;
    expect(who.includes(Buffer.from('u:CORP\\alice'))).toBe(true);
  });

  it('sends a notice of disconnection for garbage and then stays silent', () => {
    const s = session();
    const out = s.handle(Buffer.from('3003020101', 'hex'));
    expect(out.close).toBe(true);
    const notice = parse(out.replies[0]!);
    expect(notice).toMatchObject({ id: 0, tag: 0x78, code: 2 });
    expect(s.handle(simpleBind(1, '', '')).replies).toEqual([]);
  });

  it('closes on unbind', () => {
    expect(session().handle(msg(5, prim(0x42, ''))).close).toBe(true);
  });
});
