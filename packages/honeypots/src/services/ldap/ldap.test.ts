/**
 * The LDAP honeypot against the stock clients on loopback: ldapsearch (plain,
 * StartTLS, LDAPS), nmap -sV + ldap-rootdse, impacket's NTLM (sicily) login.
 */
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import { startLdapService } from './ldap.js';
import { verifyHashcat5600 } from '../../protocols/ntlm-test-client.js';
import { digestResponse, parseDirectives } from './sasl-digest.js';

const PY = '/usr/bin/python3';
const hasImpacket = existsSync('/usr/lib/python3/dist-packages/impacket/ldap/ldap.py');

let t: TestContext;
let svc: RunningService;
let plain: number;
let ldaps: number;
beforeAll(async () => {
  t = makeTestContext('ldap', { users: 'alice:Secret1' }, [{ port: 0, proto: 'tcp' }, { port: 0, proto: 'tcp' }], { hostname: 'dc01', nmapOS: 'windows_server', decky: 'decky-a' });
  svc = await startLdapService(t.ctx, [false, true]);
  [plain, ldaps] = svc.ports as [number, number];
});
afterAll(async () => {
  await svc.close();
  t.cleanup();
});

const ldapsearch = (args: string[]) => run('env', ['LDAPTLS_REQCERT=never', 'ldapsearch', '-o', 'ldif-wrap=no', ...args]);

describe.skipIf(!hasBinary('ldapsearch'))('ldap with ldapsearch', () => {
  it('shows the rootDSE of a domain controller', async () => {
    const r = await ldapsearch(['-x', '-H', `ldap://127.0.0.1:${plain}`, '-s', 'base', '-b', '']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dsServiceName: CN=NTDS Settings,CN=DC01,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=corp,DC=local');
    expect(r.stdout).toContain('defaultNamingContext: DC=corp,DC=local');
    expect(r.stdout).toContain('supportedCapabilities: 1.2.840.113556.1.4.800');
    expect(r.stdout).toContain('ldapServiceName: corp.local:dc01$@CORP.LOCAL');
    expect(r.stdout).toContain('dnsHostName: dc01.corp.local');
    expect(r.stdout).toContain('domainControllerFunctionality: 7');
    const ev = await t.waitFor((e) => e.event === 'request' && e['op'] === 'search');
    expect(ev).toMatchObject({ base: '', scope: 'base', filter: '(objectclass=*)', src_ip: '127.0.0.1' });
  });

  it('rejects a wrong password with the AD diagnostic and logs it', async () => {
    const r = await ldapsearch(['-x', '-H', `ldap://127.0.0.1:${plain}`, '-D', 'CORP\\bob', '-w', 'Summer2025!', '-b', 'DC=corp,DC=local']);
    expect(r.code).toBe(49);
    expect(r.stderr).toContain('ldap_bind: Invalid credentials (49)');
    expect(r.stderr).toContain('additional info: 80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563');
    const ev = await t.waitFor((e) => e.event === 'auth_attempt' && e.principal === 'CORP\\bob');
    expect(ev).toMatchObject({ secret_kind: 'plaintext', secret: 'Summer2025!', success: false });
  });

  it('refuses anonymous directory searches like AD', async () => {
    const r = await ldapsearch(['-x', '-H', `ldap://127.0.0.1:${plain}`, '-b', 'DC=corp,DC=local', '(objectClass=user)']);
    expect(r.stdout).toContain('result: 1 Operations error');
    expect(r.stdout).toContain('text: 000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563');
  });

  it('returns users for accepted credentials, over plain, StartTLS and LDAPS', async () => {
    for (const url of [['-H', `ldap://127.0.0.1:${plain}`], ['-ZZ', '-H', `ldap://127.0.0.1:${plain}`], ['-H', `ldaps://127.0.0.1:${ldaps}`]]) {
      const r = await ldapsearch(['-x', ...url, '-D', 'alice@corp.local', '-w', 'Secret1', '-b', 'DC=corp,DC=local', '(&(objectCategory=person)(objectClass=user))', 'sAMAccountName', 'memberOf']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('dn: CN=Administrator,CN=Users,DC=corp,DC=local');
      expect(r.stdout).toContain('memberOf: CN=Domain Admins,CN=Users,DC=corp,DC=local');
      expect(r.stdout).toContain('sAMAccountName: alice');
      expect(r.stdout).toContain('sAMAccountName: krbtgt');
    }
    const ev = await t.waitFor((e) => e.event === 'request' && e['filter'] === '(&(objectCategory=person)(objectClass=user))');
    expect(ev).toMatchObject({ authenticated: true, bound_as: 'alice', attributes: ['sAMAccountName', 'memberOf'] });
    expect(t.events.some((e) => e.event === 'request' && e['oid'] === '1.3.6.1.4.1.1466.20037')).toBe(true);
  });
});

describe.skipIf(!hasBinary('ldapsearch'))('ldap with ldapsearch SASL binds', () => {
  it('DIGEST-MD5: the AD challenge, a captured response that verifies against the password', async () => {
    const r = await ldapsearch(['-Y', 'DIGEST-MD5', '-H', `ldap://127.0.0.1:${plain}`, '-U', 'dana', '-w', 'Autumn#1', '-s', 'base', '-b', '']);
    expect(r.stderr).toContain('ldap_sasl_interactive_bind: Invalid credentials (49)');
    const ev = await t.waitFor((e) => e.event === 'auth_attempt' && e.principal === 'dana');
    expect(ev).toMatchObject({ secret_kind: 'sasl_digest_md5', digest_realm: 'corp.local', success: false });
    const d = parseDirectives(Buffer.from(ev.secret_b64!, 'base64'))!;
    expect(digestResponse(d, 'Autumn#1')).toBe(ev['digest_response']);
    expect(digestResponse(d, 'Autumn#2')).not.toBe(ev['digest_response']);
  });

  it.skipIf(!hasImpacket)('NTLM (cyrus-sasl): a captured NTLMv1 response that verifies against the password', async () => {
    const r = await ldapsearch(['-Y', 'NTLM', '-H', `ldap://127.0.0.1:${plain}`, '-U', 'erin', '-w', 'Pass1234', '-s', 'base', '-b', '']);
    expect(r.stderr).toContain('ldap_sasl_interactive_bind: Invalid credentials (49)');
    const ev = await t.waitFor((e) => e.event === 'auth_attempt' && e.principal === 'CORP\\erin');
    expect(ev).toMatchObject({ secret_kind: 'netntlmv1', bind_method: 'sasl_ntlm', sasl_mechanism: 'NTLM' });
    // mode 5500: user::domain:lm:nt:challenge; recompute the NT response with impacket's DES
    const [, , , , nt, chal] = ev.secret!.split(':');
    const py = `from impacket import ntlm; import binascii; print(ntlm.ntlmssp_DES_encrypt(ntlm.compute_nthash("Pass1234"), binascii.unhexlify("${chal}")).hex())`;
    expect((await run(PY, ['-c', py])).stdout.trim()).toBe(nt);
  });
});

describe.skipIf(!hasBinary('nmap'))('ldap with nmap', () => {
  it('is identified as Active Directory LDAP on both ports, and ldap-rootdse prints the rootDSE', async () => {
    const r = await run('nmap', ['-Pn', '-n', '-sV', '--script', 'ldap-rootdse', '-p', `${plain},${ldaps}`, '127.0.0.1'], { timeoutMs: 90_000 });
    expect(r.stdout).toMatch(new RegExp(`${plain}/tcp\\s+open\\s+ldap\\s+Microsoft Windows Active Directory LDAP \\(Domain: corp.local, Site: Default-First-Site-Name\\)`));
    expect(r.stdout).toMatch(new RegExp(`${ldaps}/tcp\\s+open\\s+ssl/ldap\\s+Microsoft Windows Active Directory LDAP \\(Domain: corp.local, Site: Default-First-Site-Name\\)`));
    expect(r.stdout).toContain('|       dsServiceName: CN=NTDS Settings,CN=DC01,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=corp,DC=local');
    expect(r.stdout).toContain('|       supportedSASLMechanisms: GSS-SPNEGO');
    expect(r.stdout).toContain('Service Info: Host: DC01; OS: Windows');
  }, 120_000);
});

// impacket's LDAPConnection only dials 389/636: map them to the test ports.
const IMPACKET = `
import socket, sys
from impacket.ldap import ldap
ports = {389: int(sys.argv[1]), 636: int(sys.argv[2])}
orig = socket.getaddrinfo
socket.getaddrinfo = lambda h, p, *a, **k: orig(h, ports.get(p, p), *a, **k)
for url, user, pw in [("ldap://127.0.0.1", "carol", "Password1"), ("ldaps://127.0.0.1", "alice", "Secret1")]:
    c = ldap.LDAPConnection(url, "DC=corp,DC=local")
    try:
        c.login(user, pw, "CORP")
        print("LOGIN OK", user)
        for x in c.search(searchFilter="(userAccountControl:1.2.840.113556.1.4.803:=4194304)", attributes=["sAMAccountName"]):
            if x.__class__.__name__ == "SearchResultEntry":
                print("ENTRY", x["objectName"])
    except Exception as e:
        print("LOGIN FAIL", user, e)
`;

describe.skipIf(!hasImpacket)('ldap with impacket', () => {
  it('captures a crackable NTLMv2 response from a sicily bind and accepts a configured account', async () => {
    const r = await run(PY, ['-c', IMPACKET, String(plain), String(ldaps)], { timeoutMs: 30_000 });
    expect(r.stdout).toContain('LOGIN FAIL carol Error in bindRequest -> invalidCredentials: 80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563');
    expect(r.stdout).toContain('LOGIN OK alice');
    expect(r.stdout).toMatch(/ENTRY CN=[^,]+,CN=Users,DC=corp,DC=local/);
    const bob = await t.waitFor((e) => e.event === 'auth_attempt' && e.principal === 'CORP\\carol');
    expect(bob).toMatchObject({ secret_kind: 'netntlmv2', bind_method: 'sicily_ntlm', success: false });
    expect(bob.secret).toMatch(/^carol::CORP:[0-9a-f]{16}:[0-9a-f]{32}:[0-9a-f]+$/);
    expect(verifyHashcat5600(bob.secret!, 'Password1')).toBe(true);
    expect(verifyHashcat5600(bob.secret!, 'Password2')).toBe(false);
    expect(Buffer.from(bob.secret_b64!, 'base64').toString()).toBe(bob.secret);
    const alice = await t.waitFor((e) => e.event === 'auth_attempt' && e.principal === 'CORP\\alice');
    expect(alice).toMatchObject({ success: true, tls: true });
  }, 40_000);
});

describe('ldap over raw sockets', () => {
  it('survives random bytes and still answers the rootDSE', async () => {
    const inputs = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 2048 }), 25);
    for (const bytes of inputs) {
      const c = await RawClient.connect(plain);
      c.send(Buffer.from(bytes));
      await new Promise((res) => setTimeout(res, 10));
      expect(c.bytes.length).toBeLessThan(64 * 1024);
      c.close();
    }
    const c = await RawClient.connect(plain);
    // nmap's LDAPSearchReq probe
    c.send(Buffer.from('30840000002d02010763840000002404000a01000a0100020100020164010100870b6f626a656374436c617373308400000000', 'hex'));
    await c.waitFor(/dsServiceName/);
    c.close();
    expect(t.logs.filter((l) => /threw/.test(l.msg))).toEqual([]);
  });
});
