/**
 * FTP pieces that need no socket: the command-line parser, the anonymous
 * fake tree with its listing format, and PASV/EPSV reply formatting.
 */
import { posix } from 'node:path';

export interface FtpCommand {
  /** upper-case verb, '' when the line has none */
  verb: string;
  /** argument, trimmed, clipped */
  arg: string;
}

export const MAX_FTP_LINE = 1024;
const MAX_VERB = 8;

/** Parse one control line (terminator already stripped). Never throws. */
export function parseFtpCommand(line: Buffer | string): FtpCommand {
  const text = (typeof line === 'string' ? line : line.toString('latin1')).slice(0, MAX_FTP_LINE);
  const m = /^\s*([A-Za-z]{1,8})(?:\s(.*))?$/s.exec(text);
  if (!m) return { verb: '', arg: text.trim() };
  return { verb: m[1]!.toUpperCase().slice(0, MAX_VERB), arg: (m[2] ?? '').trim() };
}

export interface FtpNode {
  type: 'dir' | 'file';
  content?: string;
}

const MTIME = 'Jan 15 09:12';

/** The anonymous FTP tree (vsftpd-like /srv/ftp). */
export function ftpTree(hostname: string): Map<string, FtpNode> {
  return new Map<string, FtpNode>([
    ['/', { type: 'dir' }],
    ['/pub', { type: 'dir' }],
    ['/incoming', { type: 'dir' }],
    ['/README.txt', { type: 'file', content: `Welcome to ${hostname} FTP service.\r\nPublic files are in /pub. Uploads go to /incoming.\r\n` }],
    ['/pub/firmware-notes.txt', { type: 'file', content: 'Firmware 2.4.1 rollout: staged on all floors, reboot window Sunday 02:00.\r\n' }],
    ['/pub/backup.cfg', { type: 'file', content: '# nightly backup\r\ntarget=//nas01/backup\r\nuser=svc_backup\r\nretention=14\r\n' }],
  ]);
}

/** Resolve `arg` against `cwd` inside the FTP root (no escaping above /). */
export function ftpResolve(cwd: string, arg: string): string {
  const p = posix.resolve('/', cwd, arg || '.');
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

export function ftpChildren(tree: Map<string, FtpNode>, dir: string): string[] {
  const prefix = dir === '/' ? '/' : `${dir}/`;
  return [...tree.keys()].filter((k) => k !== dir && k.startsWith(prefix) && !k.slice(prefix.length).includes('/')).map((k) => k.slice(prefix.length)).sort();
}

function listLine(name: string, n: FtpNode): string {
  const mode = n.type === 'dir' ? (name === 'incoming' ? 'drwxrwxrwx' : 'drwxr-xr-x') : '-rw-r--r--';
  const size = n.type === 'dir' ? 4096 : Buffer.byteLength(n.content ?? '');
  return `${mode}    ${n.type === 'dir' ? 2 : 1} ftp      ftp      ${String(size).padStart(8)} ${MTIME} ${name}`;
}

/** LIST (long) or NLST (names) output for a path, or undefined when it does not exist. */
export function ftpListing(tree: Map<string, FtpNode>, path: string, long: boolean): string | undefined {
  const node = tree.get(path);
  if (!node) return undefined;
  if (node.type === 'file') {
    const name = posix.basename(path);
    return `${long ? listLine(name, node) : name}\r\n`;
  }
  return ftpChildren(tree, path)
    .map((n) => `${long ? listLine(n, tree.get(path === '/' ? `/${n}` : `${path}/${n}`)!) : n}\r\n`)
    .join('');
}

/** 227 reply for PASV; undefined when the address is not IPv4. */
export function pasvReply(ip: string, port: number): string | undefined {
  const v4 = ip.replace(/^::ffff:/, '');
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(v4)) return undefined;
  return `227 Entering Passive Mode (${v4.split('.').join(',')},${port >> 8},${port & 0xff}).`;
}

export function epsvReply(port: number): string {
  return `229 Entering Extended Passive Mode (|||${port}|)`;
}

/** Strip a leading `-la`-style option from LIST arguments (clients send `LIST -la`). */
export function listPathArg(arg: string): string {
  return arg
    .split(/\s+/)
    .filter((a) => a && !a.startsWith('-'))
    .join(' ');
}
