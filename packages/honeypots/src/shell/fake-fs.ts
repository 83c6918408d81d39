/**
 * A small, read-only fake Linux filesystem shared by the fake shell (ssh,
 * telnet) and ftp. Content is derived from the persona so /etc/hostname and
 * /etc/passwd agree with what the other services say.
 */
import { posix } from 'node:path';

export interface FakeNode {
  type: 'dir' | 'file';
  /** file content (files only) */
  content?: string;
  mode: string;
  owner: string;
  group: string;
  mtime: Date;
}

export interface FakeFsPersona {
  hostname: string;
  /** login names (besides root) that get a home directory and a passwd line */
  users: string[];
  /** PRETTY_NAME-style distro; default Ubuntu 22.04.3 LTS */
  osRelease?: string;
}

export interface FakeFs {
  stat(path: string): FakeNode | undefined;
  /** names in a directory, sorted; undefined when not a directory */
  list(path: string): string[] | undefined;
  read(path: string): string | undefined;
  /** absolute, normalised path of `arg` seen from `cwd` (~ expands to `home`) */
  resolve(cwd: string, arg: string, home: string): string;
}

const MTIME = new Date('2024-01-15T09:12:00Z');

function osRelease(pretty: string): string {
  return [
    `PRETTY_NAME="${pretty}"`,
    'NAME="Ubuntu"',
    'VERSION_ID="22.04"',
    'VERSION="22.04.3 LTS (Jammy Jellyfish)"',
    'VERSION_CODENAME=jammy',
    'ID=ubuntu',
    'ID_LIKE=debian',
    'HOME_URL="https://www.ubuntu.com/"',
    'SUPPORT_URL="https://help.ubuntu.com/"',
    'BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"',
    'UBUNTU_CODENAME=jammy',
    '',
  ].join('\n');
}

/** uid for the n-th persona user (1000, 1001, ...). */
export function uidOf(users: string[], name: string): number {
  if (name === 'root') return 0;
  const i = users.indexOf(name);
  return i < 0 ? 1000 : 1000 + i;
}

function passwd(users: string[]): string {
  const lines = [
    'root:x:0:0:root:/root:/bin/bash',
    'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
    'bin:x:2:2:bin:/bin:/usr/sbin/nologin',
    'sys:x:3:3:sys:/dev:/usr/sbin/nologin',
    'sync:x:4:65534:sync:/bin:/bin/sync',
    'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
    'systemd-network:x:100:102:systemd Network Management,,,:/run/systemd:/usr/sbin/nologin',
    'messagebus:x:103:104::/nonexistent:/usr/sbin/nologin',
    'sshd:x:105:65534::/run/sshd:/usr/sbin/nologin',
  ];
  for (const u of users.filter((x) => x !== 'root')) {
    const uid = uidOf(users, u);
    lines.push(`${u}:x:${uid}:${uid}:${u},,,:/home/${u}:/bin/bash`);
  }
  return `${lines.join('\n')}\n`;
}

export function homeOf(user: string): string {
  return user === 'root' ? '/root' : `/home/${user}`;
}

export function createFakeFs(persona: FakeFsPersona): FakeFs {
  const nodes = new Map<string, FakeNode>();
  const dir = (p: string, owner = 'root', mode = 'drwxr-xr-x') =>
    nodes.set(p, { type: 'dir', mode, owner, group: owner, mtime: MTIME });
  const file = (p: string, content: string, owner = 'root', mode = '-rw-r--r--') =>
    nodes.set(p, { type: 'file', content, mode, owner, group: owner, mtime: MTIME });

  for (const d of ['/', '/bin', '/boot', '/dev', '/etc', '/etc/ssh', '/home', '/lib', '/mnt', '/opt', '/proc', '/run', '/sbin', '/srv', '/usr', '/usr/bin', '/usr/local', '/usr/sbin', '/var', '/var/log', '/var/www', '/var/www/html'])
    dir(d);
  dir('/root', 'root', 'drwx------');
  dir('/tmp', 'root', 'drwxrwxrwt');
  file('/etc/hostname', `${persona.hostname}\n`);
  file('/etc/hosts', `127.0.0.1\tlocalhost\n127.0.1.1\t${persona.hostname}\n\n::1\tip6-localhost ip6-loopback\n`);
  file('/etc/passwd', passwd(persona.users));
  file('/etc/group', 'root:x:0:\nadm:x:4:syslog\nsudo:x:27:\nwww-data:x:33:\n');
  file('/etc/os-release', osRelease(persona.osRelease ?? 'Ubuntu 22.04.3 LTS'));
  file('/etc/issue', `${persona.osRelease ?? 'Ubuntu 22.04.3 LTS'} \\n \\l\n\n`);
  file('/etc/shadow', '', 'root', '-rw-r-----');
  file('/etc/ssh/sshd_config', 'Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\nSubsystem sftp /usr/lib/openssh/sftp-server\n');
  file('/var/www/html/index.html', '<html><body><h1>It works!</h1></body></html>\n', 'www-data');
  file('/var/log/auth.log', '', 'syslog', '-rw-r-----');
  file('/root/.bashrc', '# ~/.bashrc: executed by bash(1) for non-login shells.\n', 'root');
  file('/root/.profile', '# ~/.profile: executed by Bourne-compatible login shells.\n', 'root');
  for (const u of persona.users.filter((x) => x !== 'root')) {
    dir(`/home/${u}`, u);
    file(`/home/${u}/.bashrc`, '# ~/.bashrc: executed by bash(1) for non-login shells.\n', u);
    file(`/home/${u}/.profile`, '# ~/.profile: executed by the command interpreter for login shells.\n', u);
  }
  file('/home/readme.txt', 'backup server - contact ops before rebooting\n');

  const fs: FakeFs = {
    stat: (p) => nodes.get(p),
    list(p) {
      if (nodes.get(p)?.type !== 'dir') return undefined;
      const prefix = p === '/' ? '/' : `${p}/`;
      const names: string[] = [];
      for (const k of nodes.keys()) {
        if (k !== p && k.startsWith(prefix) && !k.slice(prefix.length).includes('/')) names.push(k.slice(prefix.length));
      }
      return names.sort();
    },
    read: (p) => {
      const n = nodes.get(p);
      return n?.type === 'file' ? (n.content ?? '') : undefined;
    },
    resolve(cwd, arg, home) {
      let a = arg;
      if (a === '~' || a.startsWith('~/')) a = home + a.slice(1);
      const abs = posix.resolve(cwd || '/', a || '.');
      return abs.length > 1 && abs.endsWith('/') ? abs.slice(0, -1) : abs;
    },
  };
  return fs;
}

/** `ls -l` style line for a node (size of a dir is 4096). */
export function longListing(name: string, n: FakeNode): string {
  const size = n.type === 'dir' ? 4096 : Buffer.byteLength(n.content ?? '');
  const month = n.mtime.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const day = String(n.mtime.getUTCDate()).padStart(2, ' ');
  const hm = `${String(n.mtime.getUTCHours()).padStart(2, '0')}:${String(n.mtime.getUTCMinutes()).padStart(2, '0')}`;
  const links = n.type === 'dir' ? 2 : 1;
  return `${n.mode} ${links} ${n.owner.padEnd(8)} ${n.group.padEnd(8)} ${String(size).padStart(5)} ${month} ${day} ${hm} ${name}`;
}
