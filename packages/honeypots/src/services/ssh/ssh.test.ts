import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { identOf, keyFingerprint, startSsh, SSH_LIMITS } from './ssh.js';

const { Client, utils } = ssh2;

interface Conn {
  client: InstanceType<typeof Client>;
  ready: Promise<void>;
}

function connect(port: number, opts: Partial<ssh2.ConnectConfig>): Conn {
  const client = new Client();
  const ready = new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
  });
  client.connect({ host: '127.0.0.1', port, readyTimeout: 10_000, ...opts });
  return { client, ready };
}

function exec(client: InstanceType<typeof Client>, cmd: string): Promise<{ out: string; code: number }> {
  return new Promise((resolve, reject) => {
    client.exec(cmd, (err, stream: ClientChannel) => {
      if (err) return reject(err);
      let out = '';
      let code = -1;
      stream.on('data', (d: Buffer) => (out += d.toString()));
      stream.on('exit', (c: number) => (code = c));
      stream.on('close', () => resolve({ out, code }));
    });
  });
}

describe('ssh honeypot', () => {
  let t: TestContext;
  let svc: RunningService;
  let port: number;
  beforeAll(async () => {
    t = makeTestContext('ssh', { users: 'root:hunter2,admin:admin', kernel_version: '5.4.0-150-generic', ssh_version: 'SSH-2.0-OpenSSH_7.4' });
    svc = await startSsh(t.ctx, { ...SSH_LIMITS, maxAuthAttempts: 3 });
    port = svc.ports[0]!;
  });
  afterAll(async () => {
    await svc.close();
    t.cleanup();
  });

  it('computes the ident and fingerprints', () => {
    expect(identOf('SSH-2.0-OpenSSH_9.2p1 Debian-2')).toBe('OpenSSH_9.2p1 Debian-2');
    expect(identOf(undefined)).toBe('OpenSSH_8.9p1 Ubuntu-3ubuntu0.6');
    expect(keyFingerprint(Buffer.from('x'))).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('rejects a wrong password and records the attempt', async () => {
    const { client, ready } = connect(port, { username: 'root', password: 'wrong' });
    await expect(ready).rejects.toThrow(/authentication methods failed/i);
    client.end();
    const ev = await t.waitFor((e) => e.event === 'auth_attempt' && e.secret === 'wrong');
    expect(ev).toMatchObject({ principal: 'root', secret_kind: 'plaintext', secret_b64: Buffer.from('wrong').toString('base64'), success: false, src_ip: '127.0.0.1', dst_port: port });
  });

  it('accepts a persona login and exec returns the persona kernel and exit status', async () => {
    const { client, ready } = connect(port, { username: 'root', password: 'hunter2' });
    await ready;
    const r = await exec(client, 'uname -a');
    expect(r.out).toMatch(/^Linux SRV-TEST-42 5\.4\.0-150-generic .*GNU\/Linux\n$/);
    expect(r.code).toBe(0);
    const bad = await exec(client, 'nosuchcmd');
    expect(bad).toEqual({ out: 'bash: nosuchcmd: command not found\n', code: 127 });
    client.end();
    expect(await t.waitFor((e) => e.event === 'auth_attempt' && e.success === true)).toMatchObject({ principal: 'root', secret: 'hunter2' });
    expect(await t.waitFor((e) => e.event === 'command' && e['command'] === 'uname -a')).toMatchObject({ principal: 'root', src_ip: '127.0.0.1' });
  });

  it('sends the persona ident', async () => {
    const net = await import('node:net');
    const line = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('data', (d) => {
        resolve(d.toString());
        s.destroy();
      });
    });
    expect(line).toBe('SSH-2.0-OpenSSH_7.4\r\n');
  });

  it('disconnects after the maximum number of auth attempts', async () => {
    let tries = 0;
    const client = new Client();
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.on('error', () => undefined);
    client.connect({
      host: '127.0.0.1',
      port,
      username: 'brute',
      authHandler: (_methods: unknown, _partial: unknown, next: (m: unknown) => void) => {
        tries++;
        next(tries > 20 ? false : { type: 'password', username: 'brute', password: `guess${tries}` });
      },
    } as never);
    await closed;
    await new Promise((r) => setTimeout(r, 50));
    const attempts = t.events.filter((e) => e.event === 'auth_attempt' && e.principal === 'brute');
    expect(attempts.map((e) => e.secret)).toEqual(['guess1', 'guess2', 'guess3']);
  });

  it('interactive pty shell: prompt, echo, commands, exit', async () => {
    const { client, ready } = connect(port, { username: 'admin', password: 'admin' });
    await ready;
    const out = await new Promise<string>((resolve, reject) => {
      client.shell({ term: 'xterm' }, (err, stream) => {
        if (err) return reject(err);
        let buf = '';
        stream.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.endsWith('admin@SRV-TEST-42:~$ ') && !buf.includes('whoami')) stream.write('whoami\r');
          if (buf.includes('whoami\r\nadmin\r\n') && buf.endsWith('$ ')) stream.write('exit\r');
        });
        stream.on('close', () => resolve(buf));
      });
    });
    client.end();
    expect(out).toContain('Welcome to Ubuntu 22.04.3 LTS (GNU/Linux 5.4.0-150-generic x86_64)');
    expect(out).toContain('admin@SRV-TEST-42:~$ whoami\r\nadmin\r\n');
    expect(out).toContain('logout');
  });

  it('logs and rejects public keys, and caps auth attempts', async () => {
    const key = utils.generateKeyPairSync('ed25519');
    const { client, ready } = connect(port, { username: 'deploy', privateKey: key.private, tryKeyboard: false });
    await expect(ready).rejects.toThrow();
    client.end();
    const ev = await t.waitFor((e) => e.event === 'auth_attempt' && e.secret_kind === 'ssh_key');
    expect(ev).toMatchObject({ principal: 'deploy', success: false, key_algo: 'ssh-ed25519' });
    expect(ev.secret).toMatch(/^SHA256:/);
  });

  it('keyboard-interactive logins are checked and recorded', async () => {
    const client = new Client();
    const ready = new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
    });
    client.on('keyboard-interactive', (_n, _i, _l, prompts, finish) => finish(prompts.map(() => 'admin')));
    client.connect({ host: '127.0.0.1', port, username: 'admin', tryKeyboard: true, authHandler: ['keyboard-interactive'] as never });
    await ready;
    client.end();
    expect(await t.waitFor((e) => e.event === 'auth_attempt' && e['method'] === 'keyboard-interactive')).toMatchObject({ principal: 'admin', secret: 'admin', success: true });
  });

  it('survives non-SSH garbage and keeps serving', async () => {
    const net = await import('node:net');
    for (const junk of [Buffer.from('GET / HTTP/1.0\r\n\r\n'), Buffer.from('SSH-2.0-x\r\n' + '\xff'.repeat(40000), 'latin1'), Buffer.alloc(70000, 0)]) {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.write(junk));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        setTimeout(() => s.destroy(), 1000);
      });
    }
    const { client, ready } = connect(port, { username: 'admin', password: 'admin' });
    await ready;
    expect((await exec(client, 'whoami')).out).toBe('admin\n');
    client.end();
  });

  const haveSshpass = existsSync('/usr/bin/sshpass') && existsSync('/usr/bin/ssh');
  it.skipIf(!haveSshpass)('works with the OpenSSH client (sshpass)', async () => {
    const run = (pass: string) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          'sshpass',
          ['-p', pass, 'ssh', '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PubkeyAuthentication=no', '-o', 'LogLevel=ERROR', 'admin@127.0.0.1', 'uname -r; id'],
          { timeout: 15_000 },
          (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout }),
        );
      });
    const ok = await run('admin');
    expect(ok.out).toBe('5.4.0-150-generic\nuid=1001(admin) gid=1001(admin) groups=1001(admin),4(adm),27(sudo)\n');
    expect(ok.code).toBe(0);
    const bad = await run('nope');
    expect(bad.code).not.toBe(0);
    expect(await t.waitFor((e) => e.event === 'auth_attempt' && e.secret === 'nope')).toMatchObject({ principal: 'admin', success: false });
  });
});

describe('client fingerprints', () => {
  it.skipIf(!existsSync('/usr/bin/ssh'))('the OpenSSH client (BatchMode) gets a client_version event with its HASSH', async () => {
    const t = makeTestContext('ssh', { users: 'root:hunter2' }, [{ port: 22, proto: 'tcp' }], { ephemeral: true });
    const svc = await startSsh(t.ctx);
    try {
      const port = svc.ports[0]!;
      const r = await new Promise<{ code: number; err: string }>((resolve) =>
        execFile(
          '/usr/bin/ssh',
          ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=10', '-p', String(port), 'root@127.0.0.1', 'true'],
          { timeout: 15_000 },
          (e, _out, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, err: stderr }),
        ),
      );
      expect(r.code).toBe(255);
      expect(r.err).toMatch(/Permission denied/);
      const ev = await t.waitFor((e) => e.event === 'client_version' && e['hassh'] !== undefined);
      expect(String(ev['client_version'])).toMatch(/^SSH-2\.0-OpenSSH_/);
      expect(String(ev['hassh'])).toMatch(/^[0-9a-f]{32}$/);
      const algos = String(ev['hassh_algorithms']).split(';');
      expect(algos).toHaveLength(4);
      expect(algos[0]).toContain('curve25519-sha256');
      expect(algos[3]).toMatch(/none/);
      console.log(`openssh client: ${String(ev['client_version'])} hassh=${String(ev['hassh'])}`);
      console.log(`ssh stderr: ${r.err.trim()}`);
    } finally {
      await svc.close();
      t.cleanup();
    }
  }, 30_000);

  it('a client that sends only its ident still gets a client_version event, without HASSH', async () => {
    const t = makeTestContext('ssh', {}, [{ port: 22, proto: 'tcp' }], { ephemeral: true });
    const svc = await startSsh(t.ctx);
    try {
      const s = net.connect(svc.ports[0]!, '127.0.0.1', () => s.write('SSH-2.0-Go\r\n'));
      s.on('error', () => undefined);
      setTimeout(() => s.destroy(), 500);
      const ev = await t.waitFor((e) => e.event === 'client_version');
      expect(ev['client_version']).toBe('SSH-2.0-Go');
      expect(ev['hassh']).toBeUndefined();
    } finally {
      await svc.close();
      t.cleanup();
    }
  });
});

describe('apply-time host keys', () => {
  it.skipIf(!existsSync('/usr/bin/ssh-keyscan'))('serves the decky\'s kept host keys (what ssh-keyscan sees is what the state dir holds), not fresh ones', async () => {
    const { makeSshHostKeys } = await import('../../protocols/ssh-host-keys.js');
    const keys = await makeSshHostKeys();
    const t = makeTestContext('ssh', {});
    t.ctx.sshHostKeys = keys;
    const svc = await startSsh(t.ctx);
    try {
      const out = await new Promise<string>((resolve) => execFile('/usr/bin/ssh-keyscan', ['-p', String(svc.ports[0]), '-t', 'rsa,ecdsa,ed25519', '127.0.0.1'], { timeout: 20_000 }, (_e, stdout) => resolve(stdout)));
      const seen = out.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ').slice(1, 3).join(' ')).sort();
      const want = keys.map((k) => {
        const p = ssh2.utils.parseKey(k) as ssh2.ParsedKey;
        return `${p.type} ${p.getPublicSSH().toString('base64')}`;
      }).sort();
      expect(seen).toEqual(want);
    } finally {
      await svc.close();
      t.cleanup();
    }
  }, 60_000);
});
