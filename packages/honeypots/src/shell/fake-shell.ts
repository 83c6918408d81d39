/**
 * A plausible fake Linux shell shared by ssh and telnet. Transport-agnostic:
 * the transport feeds complete lines to `execute` and prints the output
 * (with \n line ends; terminals convert to \r\n) and `prompt()`.
 * Every command line is emitted as a `command` event.
 */
import type { ConfigValue } from '@decnet/api';
import type { EmitFields, ServiceContext } from '../runtime/types.js';
import { createFakeFs, homeOf, longListing, uidOf, type FakeFs } from './fake-fs.js';
import { MAX_SHELL_LINE, parseShellLine } from './fake-shell-parse.js';
import { parseAccounts } from '../runtime/accounts.js';

export const DEFAULT_KERNEL = '5.15.0-91-generic';
export const DEFAULT_SSH_VERSION = 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6';
/** used when the persona has no `users` key, so a default decky still captures sessions */
export const DEFAULT_USERS = 'root:root,admin:admin';

export interface ShellPersona {
  hostname: string;
  kernel: string;
  /** accepted logins: user -> password */
  users: Map<string, string>;
  fs: FakeFs;
}

/** Parse `user:pass,user2:pass2` (or a list of `user:pass`); the password may contain ':'. */
export function parseUsers(v: ConfigValue | undefined): Map<string, string> {
  return new Map(parseAccounts(v).map((a) => [a.user, a.pass]));
}

export function shellPersona(ctx: Pick<ServiceContext, 'config' | 'hostname'>): ShellPersona {
  const c = ctx.config;
  const hostname = typeof c['hostname'] === 'string' && c['hostname'] ? c['hostname'] : ctx.hostname;
  const kernel = typeof c['kernel_version'] === 'string' && c['kernel_version'] ? c['kernel_version'] : DEFAULT_KERNEL;
  const users = parseUsers(c['users'] === undefined ? DEFAULT_USERS : c['users']);
  return { hostname, kernel, users, fs: createFakeFs({ hostname, users: [...users.keys()] }) };
}

export interface ShellResult {
  output: string;
  exitCode: number;
  /** the session should end (exit/logout) */
  exit: boolean;
}

export interface ShellOptions {
  user: string;
  persona: ShellPersona;
  /** emits an event (the transport adds connection info) */
  emit: (fields: EmitFields) => void;
  /** the address the client connected to, shown by ifconfig/ip */
  localIp?: string;
  /** the client address, shown by w */
  remoteIp?: string;
}

const MAX_HISTORY = 200;
const BOOT = Date.now();

export class FakeShell {
  cwd: string;
  private readonly history: string[] = [];
  private readonly env = new Map<string, string>();

  constructor(private readonly o: ShellOptions) {
    this.cwd = homeOf(o.user);
    this.env.set('HOME', this.cwd).set('USER', o.user).set('SHELL', '/bin/bash').set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  }

  get user(): string {
    return this.o.user;
  }

  prompt(): string {
    const home = homeOf(this.o.user);
    const cwd = this.cwd === home ? '~' : this.cwd.startsWith(`${home}/`) ? `~${this.cwd.slice(home.length)}` : this.cwd;
    return `${this.o.user}@${this.o.persona.hostname}:${cwd}${this.o.user === 'root' ? '#' : '$'} `;
  }

  /** Run one input line (possibly several commands). Never throws. */
  execute(rawLine: string): ShellResult {
    const line = rawLine.length > MAX_SHELL_LINE ? rawLine.slice(0, MAX_SHELL_LINE) : rawLine;
    if (line.trim() === '') return { output: '', exitCode: 0, exit: false };
    this.o.emit({ event: 'command', command: line, principal: this.o.user, cwd: this.cwd });
    if (this.history.length >= MAX_HISTORY) this.history.shift();
    this.history.push(line);
    let output = '';
    let code = 0;
    try {
      for (const cmd of parseShellLine(line, (n) => this.env.get(n))) {
        if (cmd.joiner === '&&' && code !== 0) continue;
        if (cmd.joiner === '||' && code === 0) continue;
        if (cmd.joiner === '|') output = ''; // a pipe: only the last command's output shows
        const argv = cmd.argv;
        if (argv[0] === 'exit' || argv[0] === 'logout') return { output, exitCode: Number(argv[1] ?? 0) & 0xff || 0, exit: true };
        const r = this.run(argv);
        code = r.code;
        if (!cmd.redirect) output += r.out;
      }
    } catch {
      output += 'bash: syntax error\n';
      code = 2;
    }
    return { output, exitCode: code, exit: false };
  }

  private run(argv: string[]): { out: string; code: number } {
    const [name = '', ...args] = argv;
    const p = this.o.persona;
    const home = homeOf(this.o.user);
    switch (name) {
      case 'uname':
        return { out: `${this.uname(args)}\n`, code: 0 };
      case 'id': {
        const uid = uidOf([...p.users.keys()], this.o.user);
        const groups = uid === 0 ? '0(root)' : `${uid}(${this.o.user}),4(adm),27(sudo)`;
        return { out: `uid=${uid}(${this.o.user}) gid=${uid}(${this.o.user}) groups=${groups}\n`, code: 0 };
      }
      case 'whoami':
        return { out: `${this.o.user}\n`, code: 0 };
      case 'pwd':
        return { out: `${this.cwd}\n`, code: 0 };
      case 'cd': {
        const target = p.fs.resolve(this.cwd, args[0] ?? '~', home);
        const node = p.fs.stat(target);
        if (!node) return { out: `bash: cd: ${args[0]}: No such file or directory\n`, code: 1 };
        if (node.type !== 'dir') return { out: `bash: cd: ${args[0]}: Not a directory\n`, code: 1 };
        this.cwd = target;
        this.env.set('PWD', target);
        return { out: '', code: 0 };
      }
      case 'ls':
      case 'dir':
        return this.ls(args, home);
      case 'cat':
        return this.cat(args, home);
      case 'echo':
        return { out: args[0] === '-n' ? args.slice(1).join(' ') : `${args.join(' ')}\n`, code: 0 };
      case 'hostname':
        return { out: `${p.hostname}\n`, code: 0 };
      case 'uptime':
        return { out: `${this.uptime()}\n`, code: 0 };
      case 'w':
        return { out: `${this.uptime()}\nUSER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT\n${this.o.user.padEnd(8)} pts/0    ${(this.o.remoteIp ?? '-').padEnd(16)} ${this.clock()}    0.00s  0.02s  0.00s w\n`, code: 0 };
      case 'ps':
        return { out: this.ps(args), code: 0 };
      case 'ifconfig':
        return { out: this.ifconfig(), code: 0 };
      case 'ip':
        if (['a', 'addr', 'address'].includes(args[0] ?? '')) return { out: this.ipAddr(), code: 0 };
        return { out: 'Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n', code: args.length ? 255 : 255 };
      case 'history':
        return { out: this.history.map((h, i) => `${String(i + 1).padStart(5)}  ${h}\n`).join(''), code: 0 };
      case 'export': {
        for (const a of args) {
          const i = a.indexOf('=');
          if (i > 0) this.env.set(a.slice(0, i), a.slice(i + 1));
        }
        return { out: '', code: 0 };
      }
      case 'true':
      case 'clear':
      case 'unset':
      case 'sleep':
      case ':':
        return { out: name === 'clear' ? '\x1b[H\x1b[2J' : '', code: 0 };
      case 'false':
        return { out: '', code: 1 };
      case 'sudo':
        return args.length ? this.run(args) : { out: 'usage: sudo -h | -K | -k | -V\n', code: 1 };
      case 'which':
        return { out: args.map((a) => `/usr/bin/${a}\n`).join(''), code: args.length ? 0 : 1 };
      case 'wget':
      case 'curl':
        return this.download(name, args);
      case 'free':
        return { out: '               total        used        free      shared  buff/cache   available\nMem:         2030224      412876      987240        1136      630108     1456432\nSwap:        2097148           0     2097148\n', code: 0 };
      default: {
        const shown = name.length > 256 ? name.slice(0, 256) : name;
        return { out: `bash: ${shown}: command not found\n`, code: 127 };
      }
    }
  }

  private uname(args: string[]): string {
    const p = this.o.persona;
    const build = '#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023';
    const flags = args.join('').replace(/-/g, '');
    if (flags.includes('a')) return `Linux ${p.hostname} ${p.kernel} ${build} x86_64 x86_64 x86_64 GNU/Linux`;
    const parts: string[] = [];
    if (flags.includes('s') || flags === '') parts.push('Linux');
    if (flags.includes('n')) parts.push(p.hostname);
    if (flags.includes('r')) parts.push(p.kernel);
    if (flags.includes('v')) parts.push(build);
    if (flags.includes('m') || flags.includes('p') || flags.includes('i')) parts.push('x86_64');
    if (flags.includes('o')) parts.push('GNU/Linux');
    return parts.join(' ');
  }

  private ls(args: string[], home: string): { out: string; code: number } {
    const flags = args.filter((a) => a.startsWith('-')).join('');
    const long = flags.includes('l');
    const all = flags.includes('a');
    const targets = args.filter((a) => !a.startsWith('-'));
    let out = '';
    let code = 0;
    for (const t of targets.length ? targets : ['.']) {
      const path = this.o.persona.fs.resolve(this.cwd, t, home);
      const node = this.o.persona.fs.stat(path);
      if (!node) {
        out += `ls: cannot access '${t}': No such file or directory\n`;
        code = 2;
        continue;
      }
      if (node.type === 'file') {
        out += long ? `${longListing(t, node)}\n` : `${t}\n`;
        continue;
      }
      let names = this.o.persona.fs.list(path) ?? [];
      if (!all) names = names.filter((n) => !n.startsWith('.'));
      if (targets.length > 1) out += `${t}:\n`;
      if (long) {
        const entries = all ? ['.', '..', ...names] : names;
        out += `total ${entries.length * 4}\n`;
        for (const n of entries) {
          const child = n === '.' ? node : n === '..' ? this.o.persona.fs.stat(this.o.persona.fs.resolve(path, '..', home)) : this.o.persona.fs.stat(path === '/' ? `/${n}` : `${path}/${n}`);
          if (child) out += `${longListing(n, child)}\n`;
        }
      } else if (names.length) out += `${(all ? ['.', '..', ...names] : names).join('  ')}\n`;
    }
    return { out, code };
  }

  private cat(args: string[], home: string): { out: string; code: number } {
    let out = '';
    let code = 0;
    for (const a of args.filter((x) => !x.startsWith('-'))) {
      const path = this.o.persona.fs.resolve(this.cwd, a, home);
      const node = this.o.persona.fs.stat(path);
      if (node?.type === 'dir') {
        out += `cat: ${a}: Is a directory\n`;
        code = 1;
      } else if (node && (node.mode.startsWith('-rw-r--r') || this.o.user === 'root')) out += node.content ?? '';
      else if (node) {
        out += `cat: ${a}: Permission denied\n`;
        code = 1;
      } else {
        out += `cat: ${a}: No such file or directory\n`;
        code = 1;
      }
    }
    return { out, code };
  }

  private download(tool: string, args: string[]): { out: string; code: number } {
    const url = args.find((a) => /^[a-z]+:\/\//i.test(a) || /^[\w.-]+\.[a-z]{2,}(\/|$)/i.test(a));
    if (!url) return { out: `${tool}: missing URL\n`, code: tool === 'curl' ? 2 : 1 };
    this.o.emit({ event: 'download_attempt', url, tool, principal: this.o.user });
    const host = url.replace(/^[a-z]+:\/\//i, '').split(/[/:]/)[0] ?? url;
    if (tool === 'curl') return { out: `curl: (6) Could not resolve host: ${host}\n`, code: 6 };
    return { out: `--${new Date().toISOString().slice(0, 19).replace('T', ' ')}--  ${url}\nResolving ${host} (${host})... failed: Temporary failure in name resolution.\nwget: unable to resolve host address '${host}'\n`, code: 4 };
  }

  private clock(): string {
    const d = new Date();
    return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  }

  private uptime(): string {
    const mins = 47 * 24 * 60 + 3 * 60 + 12 + Math.floor((Date.now() - BOOT) / 60000);
    const days = Math.floor(mins / 1440);
    const hh = Math.floor((mins % 1440) / 60);
    const mm = String(mins % 60).padStart(2, '0');
    return ` ${this.clock()}:${String(new Date().getUTCSeconds()).padStart(2, '0')} up ${days} days, ${hh}:${mm},  1 user,  load average: 0.08, 0.03, 0.01`;
  }

  private ps(args: string[]): string {
    const u = this.o.user;
    if (args.some((a) => /a|e/.test(a))) {
      return [
        'USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND',
        'root           1  0.0  0.5 167744 11520 ?        Ss   Jan15   0:41 /sbin/init',
        'root         412  0.0  0.3  47928  7416 ?        Ss   Jan15   0:12 /lib/systemd/systemd-journald',
        'root         771  0.0  0.1   7284  2880 ?        Ss   Jan15   0:02 /usr/sbin/cron -f',
        'syslog       774  0.0  0.2 222404  5344 ?        Ssl  Jan15   0:09 /usr/sbin/rsyslogd -n -iNONE',
        'root         801  0.0  0.3  15432  7032 ?        Ss   Jan15   0:00 sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups',
        `${u.padEnd(8)}    2231  0.0  0.2  10032  5216 pts/0    Ss   ${this.clock()}   0:00 -bash`,
        `${u.padEnd(8)}    2290  0.0  0.1  10808  3412 pts/0    R+   ${this.clock()}   0:00 ps ${args.join(' ')}`,
        '',
      ].join('\n');
    }
    return '    PID TTY          TIME CMD\n   2231 pts/0    00:00:00 bash\n   2290 pts/0    00:00:00 ps\n';
  }

  private ip(): string {
    return this.o.localIp && /^\d+\.\d+\.\d+\.\d+$/.test(this.o.localIp) ? this.o.localIp : '10.0.0.15';
  }

  private ifconfig(): string {
    const ip = this.ip();
    const bcast = ip.replace(/\.\d+$/, '.255');
    return `eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n        inet ${ip}  netmask 255.255.255.0  broadcast ${bcast}\n        ether 02:42:ac:1d:4e:0b  txqueuelen 1000  (Ethernet)\n        RX packets 1842213  bytes 512338812 (512.3 MB)\n        TX packets 1201877  bytes 198223104 (198.2 MB)\n\nlo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536\n        inet 127.0.0.1  netmask 255.0.0.0\n        loop  txqueuelen 1000  (Local Loopback)\n\n`;
  }

  private ipAddr(): string {
    const ip = this.ip();
    return `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 1000\n    link/ether 02:42:ac:1d:4e:0b brd ff:ff:ff:ff:ff:ff\n    inet ${ip}/24 brd ${ip.replace(/\.\d+$/, '.255')} scope global eth0\n       valid_lft forever preferred_lft forever\n`;
  }
}
