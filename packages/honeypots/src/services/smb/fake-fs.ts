/**
 * The decky's shares and a small fake file tree per share, as a Windows of the
 * persona's role has them: workstations ADMIN$, C$, IPC$, Users; servers add Shared;
 * domain controllers add NETLOGON and SYSVOL. Configured `shares` replace the
 * non-administrative defaults. Pure data, built once per service.
 */
import { createHash } from 'node:crypto';
import type { Persona } from '@decnet/api';

export interface FsNode {
  name: string;
  dir: boolean;
  children: Map<string, FsNode>;
  content: Buffer;
  /** FILETIME (100 ns since 1601) */
  created: bigint;
  modified: bigint;
  id: bigint;
}

export interface Share {
  name: string;
  /** srvsvc share type: 0 disk, 3 IPC, | 0x80000000 for administrative shares */
  type: number;
  comment: string;
  root: FsNode;
}

export const STYPE = { DISK: 0, IPC: 3, SPECIAL: 0x80000000 } as const;

let nextId = 0x10000n;

function filetimeOf(ms: number): bigint {
  return (BigInt(Math.floor(ms)) + 11644473600000n) * 10000n;
}

/** A node factory whose timestamps are stable per decky (installed some months before "now"). */
function nodeMaker(seed: string) {
  const h = createHash('sha256').update(seed).digest();
  const installed = Date.UTC(2024, 0, 1) + (h.readUInt32LE(0) % (300 * 86400)) * 1000;
  let k = 0;
  return (name: string, dir: boolean, content = '', children: FsNode[] = []): FsNode => {
    k += 1;
    const t = filetimeOf(installed + k * 3_600_000 + (h[k % 32]! * 60_000));
    nextId += 1n;
    return { name, dir, content: Buffer.from(content, 'utf8'), children: new Map(children.map((c) => [c.name.toLowerCase(), c])), created: t, modified: t, id: nextId };
  };
}

const WIN_INI = '; for 16-bit app support\r\n[fonts]\r\n[extensions]\r\n[mci extensions]\r\n[files]\r\n[Mail]\r\nMAPI=1\r\n';
const HOSTS =
  '# Copyright (c) 1993-2009 Microsoft Corp.\r\n#\r\n# This is a sample HOSTS file used by Microsoft TCP/IP for Windows.\r\n#\r\n# localhost name resolution is handled within DNS itself.\r\n#\t127.0.0.1       localhost\r\n#\t::1             localhost\r\n';
const DESKTOP_INI = '\r\n[.ShellClassInfo]\r\nLocalizedResourceName=@%SystemRoot%\\system32\\shell32.dll,-21813\r\n';

function windowsDir(mk: ReturnType<typeof nodeMaker>): FsNode {
  return mk('Windows', true, '', [
    mk('System32', true, '', [mk('drivers', true, '', [mk('etc', true, '', [mk('hosts', false, HOSTS)])])]),
    mk('Temp', true),
    mk('win.ini', false, WIN_INI),
  ]);
}

function usersDir(mk: ReturnType<typeof nodeMaker>, name: string): FsNode {
  return mk(name, true, '', [mk('Public', true, '', [mk('Documents', true), mk('Downloads', true), mk('desktop.ini', false, DESKTOP_INI)]), mk('Default', true), mk('desktop.ini', false, DESKTOP_INI)]);
}

/** "name:comment,name2:comment2" -> entries (bounded). */
export function parseSharesConfig(text: string): { name: string; comment: string }[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .slice(0, 32)
    .map((s) => {
      const i = s.indexOf(':');
      return i < 0 ? { name: s.slice(0, 80), comment: '' } : { name: s.slice(0, i).trim().slice(0, 80), comment: s.slice(i + 1).trim().slice(0, 200) };
    })
    .filter((s) => s.name !== '' && s.name.toUpperCase() !== 'IPC$');
}

export function buildShares(persona: Persona, sharesConfig: string | undefined, seed: string): Share[] {
  const mk = nodeMaker(seed);
  const shares: Share[] = [
    { name: 'ADMIN$', type: STYPE.DISK | STYPE.SPECIAL, comment: 'Remote Admin', root: mk('', true, '', [...windowsDir(mk).children.values()]) },
    { name: 'C$', type: STYPE.DISK | STYPE.SPECIAL, comment: 'Default share', root: mk('', true, '', [windowsDir(mk), usersDir(mk, 'Users'), mk('Program Files', true), mk('Program Files (x86)', true), mk('PerfLogs', true)]) },
    { name: 'IPC$', type: STYPE.IPC | STYPE.SPECIAL, comment: 'Remote IPC', root: mk('', true) },
  ];
  if (sharesConfig && sharesConfig.trim() !== '') {
    for (const s of parseSharesConfig(sharesConfig)) {
      if (shares.some((x) => x.name.toUpperCase() === s.name.toUpperCase())) continue;
      shares.push({ name: s.name, type: STYPE.DISK, comment: s.comment, root: mk('', true) });
    }
  } else {
    if (persona.domainController) {
      const dom = persona.dnsDomain || 'corp.local';
      const gpo = mk('{31B2F340-016D-11D2-945F-00C04FB984F9}', true, '', [mk('GPT.INI', false, '[General]\r\nVersion=3\r\n'), mk('MACHINE', true), mk('USER', true)]);
      shares.push({ name: 'NETLOGON', type: STYPE.DISK, comment: 'Logon server share ', root: mk('', true) });
      shares.push({ name: 'SYSVOL', type: STYPE.DISK, comment: 'Logon server share ', root: mk('', true, '', [mk(dom, true, '', [mk('Policies', true, '', [gpo]), mk('scripts', true)])]) });
    } else if (persona.windows?.server) {
      shares.push({ name: 'Shared', type: STYPE.DISK, comment: '', root: mk('', true) });
    }
    if (!persona.domainController) shares.push({ name: 'Users', type: STYPE.DISK, comment: '', root: usersDir(mk, '') });
  }
  return shares;
}

/** Resolve a share-relative path ("a\\b") to its node, case-insensitively. */
export function lookup(root: FsNode, path: string): FsNode | undefined {
  let node: FsNode | undefined = root;
  for (const part of path.split(/[\\/]/).filter(Boolean)) {
    if (!node || !node.dir || part.length > 255) return undefined;
    node = node.children.get(part.toLowerCase());
  }
  return node;
}

export function parentOf(root: FsNode, path: string): { parent: FsNode | undefined; leaf: string } {
  const parts = path.split(/[\\/]/).filter(Boolean);
  const leaf = parts.pop() ?? '';
  return { parent: lookup(root, parts.join('\\')), leaf };
}

export function newNode(name: string, dir: boolean, now: Date): FsNode {
  const t = filetimeOf(now.getTime());
  nextId += 1n;
  return { name, dir, children: new Map(), content: Buffer.alloc(0), created: t, modified: t, id: nextId };
}
