import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import md4 from 'js-md4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttackerEvent } from '@decnet/api';
import { makeTestContext, scratchDir, type TestContext } from '../../runtime/test-context.js';
import { RawClient, hasBinary, run } from '../../runtime/test-util.js';
import type { RunningService } from '../../runtime/types.js';
import { smbService } from './smb.js';

const PY = '/usr/bin/python3';
const SHELL = fileURLToPath(new URL('./__fixtures__/impacket-shell.py', import.meta.url));
const hasImpacket = existsSync(PY) && existsSync('/usr/lib/python3/dist-packages/impacket/smbconnection.py');

const hmac = (k: Buffer, ...d: Buffer[]) => d.reduce((h, x) => h.update(x), createHmac('md5', k)).digest();
/** What hashcat -m 5600 does with a candidate password. */
function crack5600(line: string, password: string): boolean {
  const [user, , domain, chal, proof, blob] = line.split(':');
  const nt = Buffer.from(md4.create().update(Buffer.from(password, 'utf16le')).arrayBuffer());
  const owf = hmac(nt, Buffer.from(user!.toUpperCase() + domain!, 'utf16le'));
  return hmac(owf, Buffer.from(chal!, 'hex'), Buffer.from(blob!, 'hex')).toString('hex') === proof;
}

const auths = (t: TestContext) => t.events.filter((e) => e.event === 'auth_attempt');

describe('smb service (socket)', () => {
  let t: TestContext;
  let svc: RunningService;
  let port: number;
  beforeAll(async () => {
    t = makeTestContext('smb', { users: 'alice:Winter2025!' }, [{ port: 0, proto: 'tcp' }], { hostname: 'FILESRV01', nmapOS: 'windows_server' });
    svc = await smbService.start(t.ctx);
    port = svc.ports[0]!;
  });
  afterAll(async () => {
    await svc.close();
    t.cleanup();
  });

  it('answers a NetBIOS SESSION REQUEST (port 139 style) and hangs up on SMB1-only NEGOTIATE', async () => {
    const c = await RawClient.connect(port);
    c.send(Buffer.concat([Buffer.from([0x81, 0, 0, 4]), Buffer.from('ABCD')]));
    await c.waitFor((b) => b.length >= 4);
    expect(c.bytes.subarray(0, 4)).toEqual(Buffer.from([0x82, 0, 0, 0]));
    const smb1 = Buffer.from('ff534d4272000000001845680000000000000000000000000000656000000100000e00024e54204c4d20302e3132000200', 'hex');
    const h = Buffer.alloc(4);
    h.writeUInt32BE(smb1.length);
    c.send(Buffer.concat([h, smb1]));
    await c.waitFor(() => c.closed).catch(() => undefined);
    expect(c.closed).toBe(true);
  });

  describe.skipIf(!hasBinary('smbclient'))('smbclient', () => {
    it('smbclient -L lists the shares after an accepted login', async () => {
      const r = await run('smbclient', ['-L', '//127.0.0.1', '-p', String(port), '-U', 'alice%Winter2025!']);
      // smbclient 4.17 prints:
      //   Sharename       Type      Comment
      //   ADMIN$          Disk      Remote Admin
      //   C$              Disk      Default share
      //   IPC$            IPC       Remote IPC
      //   Shared          Disk
      //   Users           Disk
      //   SMB1 disabled -- no workgroup available
      expect(r.stdout).toMatch(/ADMIN\$\s+Disk\s+Remote Admin/);
      expect(r.stdout).toMatch(/C\$\s+Disk\s+Default share/);
      expect(r.stdout).toMatch(/IPC\$\s+IPC\s+Remote IPC/);
      expect(r.stdout).toMatch(/Shared\s+Disk/);
      expect(r.stdout).toMatch(/Users\s+Disk/);
      expect(r.stdout).toContain('SMB1 disabled -- no workgroup available');
      const a = auths(t).at(-1)!;
      expect(a).toMatchObject({ principal: 'WORKGROUP\\alice', secret_kind: 'netntlmv2', success: true });
      expect(crack5600(String(a['secret']), 'Winter2025!')).toBe(true);
    });

    it('ls, get and put on a share; download and upload events; upload quarantined', async () => {
      const dir = scratchDir('decnet-smbget-');
      writeFileSync(join(dir, 'up.txt'), 'dropped payload\n');
      const r = await run('smbclient', ['//127.0.0.1/C$', '-p', String(port), '-U', 'alice%Winter2025!', '-c', `ls; cd Windows; ls; get win.ini ${join(dir, 'win.ini')}; put ${join(dir, 'up.txt')} up.txt`]);
      // "  Windows                             D        0  Wed Feb 28 18:42:40 2024"
      // "  win.ini                             A       92  Wed Feb 28 18:08:40 2024"
      // "		61055904 blocks of size 4096. 28951010 blocks available"
      expect(r.stdout).toMatch(/\s+Windows\s+D\s+0\s/);
      expect(r.stdout).toMatch(/\s+Program Files \(x86\)\s+D\s+0\s/);
      expect(r.stdout).toMatch(/\s+win\.ini\s+A\s+92\s/);
      expect(r.stdout).toMatch(/blocks of size 4096\. \d+ blocks available/);
      expect(readFileSync(join(dir, 'win.ini'), 'utf8')).toContain('[fonts]');
      expect(await t.waitFor((e) => e.event === 'download_attempt')).toMatchObject({ share: 'C$', path: 'Windows\\win.ini', principal: 'WORKGROUP\\alice' });
      const up = await t.waitFor((e) => e.event === 'upload_attempt');
      expect(up).toMatchObject({ share: 'C$', path: 'Windows\\up.txt', bytes: 16, truncated: false });
      expect(readFileSync(join(t.ctx.quarantineDir, String(up['stored'])), 'utf8')).toBe('dropped payload\n');
    });

    it('every dialect with client signing required, and SMB 3 encryption (CCM on 3.0, GCM/CCM on 3.1.1)', async () => {
      const variants: string[][] = [
        ...['SMB2_02', 'SMB2_10', 'SMB3_00', 'SMB3_02', 'SMB3_11'].map((m) => ['-m', m, '--option=client signing=required']),
        ['-m', 'SMB3_00', '--option=client smb encrypt=required'],
        ['-m', 'SMB3_11', '--option=client smb encrypt=required'],
      ];
      for (const v of variants) {
        const r = await run('smbclient', ['//127.0.0.1/C$', '-p', String(port), '-U', 'alice%Winter2025!', ...v, '-c', 'ls']);
        expect(r.stdout, v.join(' ')).toMatch(/\s+PerfLogs\s+D\s+0\s/);
      }
    }, 60_000);

    it('a 3 MB put/get round-trips (multi-credit 1 MiB WRITEs, 24-bit direct-TCP lengths)', async () => {
      const dir = scratchDir('decnet-smbbig-');
      const data = Buffer.alloc(3_000_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
      writeFileSync(join(dir, 'big.bin'), data);
      const r = await run('smbclient', ['//127.0.0.1/Shared', '-p', String(port), '-U', 'alice%Winter2025!', '-c', `put ${join(dir, 'big.bin')} big.bin; get big.bin ${join(dir, 'back.bin')}`]);
      expect(r.stdout + r.stderr).not.toContain('NT_STATUS');
      expect(readFileSync(join(dir, 'back.bin')).equals(data)).toBe(true);
      expect(await t.waitFor((e) => e.event === 'upload_attempt' && e['path'] === 'big.bin')).toMatchObject({ bytes: 3_000_000, truncated: false });
    }, 30_000);

    it('a wrong password is STATUS_LOGON_FAILURE and is still captured', async () => {
      const r = await run('smbclient', ['-L', '//127.0.0.1', '-p', String(port), '-U', 'bob%Summer2024']);
      expect(r.stdout + r.stderr).toContain('NT_STATUS_LOGON_FAILURE');
      const a = auths(t).find((e) => e['principal'] === 'WORKGROUP\\bob')!;
      expect(a).toMatchObject({ success: false, secret_kind: 'netntlmv2' });
      expect(crack5600(String(a['secret']), 'Summer2024')).toBe(true);
    });

    it('an unknown share is NT_STATUS_BAD_NETWORK_NAME', async () => {
      const r = await run('smbclient', ['//127.0.0.1/Finance', '-p', String(port), '-U', 'alice%Winter2025!', '-c', 'ls']);
      expect(r.stdout + r.stderr).toContain('NT_STATUS_BAD_NETWORK_NAME');
    });
  });

  describe.skipIf(!hasBinary('nmap'))('nmap', () => {
    it('smb-protocols, smb2-security-mode, smb2-time, smb2-capabilities, smb-os-discovery', async () => {
      const r = await run('nmap', ['-Pn', '-p', String(port), '--script', 'smb-protocols,smb2-security-mode,smb2-time,smb2-capabilities,smb-os-discovery', '--script-args', `smbport=${port}`, '127.0.0.1'], { timeoutMs: 60_000 });
      // | smb-protocols:
      // |   dialects:
      // |     202
      // |     210
      // |     300
      // |     302
      // |_    311
      // | smb2-security-mode:
      // |   311:
      // |_    Message signing enabled but not required
      // | smb2-time:
      // |   date: 2026-12-02T16:45:53
      // |_  start_date: N/A
      expect(r.stdout).toMatch(/smb-protocols:\s+\|\s+dialects:\s+\|\s+202\s+\|\s+210\s+\|\s+300\s+\|\s+302\s+\|_\s+311/);
      expect(r.stdout).not.toContain('NT LM 0.12');
      expect(r.stdout).toContain('Message signing enabled but not required');
      expect(r.stdout).toMatch(/date: \d{4}-\d\d-\d\dT/);
      expect(r.stdout).toContain('start_date: N/A');
      expect(r.stdout).toMatch(/311:\s+\|\s+Distributed File System\s+\|\s+Leasing\s+\|_?\s+Multi-credit operations/);
      // SMB1 is off, so smb-os-discovery has nothing to say (as against a real Windows 10 / 2019)
      expect(r.stdout).not.toContain('smb-os-discovery');
    }, 70_000);
  });

  describe.skipIf(!hasImpacket)("impacket's smbclient shell", () => {
    it('shares, use, ls, get, put', async () => {
      const dir = scratchDir('decnet-smbimp-');
      writeFileSync(join(dir, 'note.txt'), 'x');
      const r = await run(PY, [SHELL, String(port), 'WORKGROUP', 'alice', 'Winter2025!'], { input: `shares\nuse Users\nls\nput ${join(dir, 'note.txt')}\nls\n`, timeoutMs: 30_000 });
      // dialect 0x0311 ... ADMIN$ C$ IPC$ Shared Users, then
      // "-rw-rw-rw-         86  Thu Feb 29 11:17:40 2024 desktop.ini"
      expect(r.stdout).toMatch(/^ADMIN\$$/m);
      expect(r.stdout).toMatch(/^Users$/m);
      expect(r.stdout).toMatch(/-rw-rw-rw-\s+86\s+.*desktop\.ini/);
      expect(r.stdout).toMatch(/drw-rw-rw-\s+0\s+.*Public/);
      expect(r.stdout).toMatch(/-rw-rw-rw-\s+1\s+.*note\.txt/);
    }, 40_000);
  });
});

describe('smb service on a domain controller (signing required)', () => {
  let t: TestContext;
  let svc: RunningService;
  let port: number;
  beforeAll(async () => {
    t = makeTestContext('smb', { users: 'Administrator:P@ssw0rd1' }, [{ port: 0, proto: 'tcp' }], {
      hostname: 'dc01',
      nmapOS: 'windows_server',
      otherServices: [{ name: 'ldap', config: { domain: 'corp.local' } }],
    });
    svc = await smbService.start(t.ctx);
    port = svc.ports[0]!;
  });
  afterAll(async () => {
    await svc.close();
    t.cleanup();
  });

  it.skipIf(!hasBinary('smbclient'))('smbclient -L shows NETLOGON and SYSVOL over a signed session', async () => {
    const r = await run('smbclient', ['-L', '//127.0.0.1', '-p', String(port), '-U', 'CORP/Administrator%P@ssw0rd1']);
    expect(r.stdout).toMatch(/NETLOGON\s+Disk\s+Logon server share/);
    expect(r.stdout).toMatch(/SYSVOL\s+Disk\s+Logon server share/);
    expect(r.stdout).not.toMatch(/^\s+Users\s+Disk/m);
    const a = auths(t).at(-1) as AttackerEvent;
    expect(a).toMatchObject({ principal: 'CORP\\Administrator', success: true });
  });

  it.skipIf(!hasImpacket)('impacket (SMB 3.0, encrypted + signed) lists SYSVOL', async () => {
    const r = await run(PY, [SHELL, String(port), 'CORP', 'Administrator', 'P@ssw0rd1'], { input: 'shares\nuse SYSVOL\nls\ncd corp.local\nls\n', timeoutMs: 30_000 });
    expect(r.stdout).toMatch(/^dialect 0x0300/m);
    expect(r.stdout).toMatch(/^SYSVOL$/m);
    expect(r.stdout).toMatch(/drw-rw-rw-\s+0\s+.*corp\.local/);
    expect(r.stdout).toMatch(/drw-rw-rw-\s+0\s+.*Policies/);
  }, 40_000);

  it.skipIf(!hasBinary('nmap'))('nmap smb2-security-mode: signing required', async () => {
    const r = await run('nmap', ['-Pn', '-p', String(port), '--script', 'smb2-security-mode', '--script-args', `smbport=${port}`, '127.0.0.1'], { timeoutMs: 60_000 });
    expect(r.stdout).toContain('Message signing enabled and required');
  }, 70_000);
});

describe('smb service: guest sessions and NBNS', () => {
  it('guest=true accepts unknown users as guest; 137/udp starts alongside', async () => {
    const t = makeTestContext('smb', { guest: true }, [{ port: 0, proto: 'tcp' }, { port: 0, proto: 'udp' }], { hostname: 'DESKTOP-7QK2M1', nmapOS: 'windows' });
    const svc = await smbService.start(t.ctx);
    try {
      expect(svc.ports).toHaveLength(2);
      expect(svc.ports[1]).toBeGreaterThan(0);
      if (hasBinary('smbclient')) {
        const r = await run('smbclient', ['-L', '//127.0.0.1', '-p', String(svc.ports[0]), '-U', 'mallory%whatever']);
        // a workstation: ADMIN$, C$, IPC$, Users (no Shared)
        expect(r.stdout).toMatch(/Users\s+Disk/);
        expect(r.stdout).not.toMatch(/Shared\s+Disk/);
        expect(t.events.find((e) => e.event === 'auth_attempt')).toMatchObject({ principal: expect.stringMatching(/\\mallory$/), success: true, guest: true });
      }
    } finally {
      await svc.close();
      t.cleanup();
    }
  });
});
