/**
 * File, directory-entry and file-system information classes (MS-FSCC 2.4, 2.5) for
 * the fake tree: what QUERY_INFO and QUERY_DIRECTORY return.
 */
import type { FsNode } from './fake-fs.js';

export const ATTR = { READONLY: 0x1, HIDDEN: 0x2, SYSTEM: 0x4, DIRECTORY: 0x10, ARCHIVE: 0x20, NORMAL: 0x80 } as const;

export function attributesOf(n: FsNode): number {
  if (n.dir) return ATTR.DIRECTORY;
  if (n.name.toLowerCase() === 'desktop.ini') return ATTR.HIDDEN | ATTR.SYSTEM | ATTR.ARCHIVE;
  return ATTR.ARCHIVE;
}

export const allocationOf = (n: FsNode): bigint => (n.dir ? 0n : BigInt(Math.ceil(n.content.length / 4096) * 4096));

function times(b: Buffer, at: number, n: FsNode): void {
  b.writeBigUInt64LE(n.created, at);
  b.writeBigUInt64LE(n.modified, at + 8);
  b.writeBigUInt64LE(n.modified, at + 16);
  b.writeBigUInt64LE(n.modified, at + 24);
}

export function basicInfo(n: FsNode): Buffer {
  const b = Buffer.alloc(40);
  times(b, 0, n);
  b.writeUInt32LE(attributesOf(n), 32);
  return b;
}

export function standardInfo(n: FsNode, deletePending = false): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64LE(allocationOf(n), 0);
  b.writeBigUInt64LE(BigInt(n.content.length), 8);
  b.writeUInt32LE(1, 16);
  b[20] = deletePending ? 1 : 0;
  b[21] = n.dir ? 1 : 0;
  return b;
}

export function networkOpenInfo(n: FsNode): Buffer {
  const b = Buffer.alloc(56);
  times(b, 0, n);
  b.writeBigUInt64LE(allocationOf(n), 32);
  b.writeBigUInt64LE(BigInt(n.content.length), 40);
  b.writeUInt32LE(attributesOf(n), 48);
  return b;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
function u64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
}

/** FILE_INFO_* classes; undefined: class not supported (STATUS_INVALID_INFO_CLASS). */
export function fileInfo(cls: number, n: FsNode, path: string): Buffer | undefined {
  const name = Buffer.from('\\' + path, 'utf16le');
  switch (cls) {
    case 4:
      return basicInfo(n);
    case 5:
      return standardInfo(n);
    case 6:
      return u64(n.id);
    case 7:
      return u32(0);
    case 8:
      return u32(0x001f01ff);
    case 9:
      return Buffer.concat([u32(name.length), name]);
    case 14:
      return u64(0n);
    case 16:
      return u32(0);
    case 17:
      return u32(0);
    case 18:
      return Buffer.concat([basicInfo(n), standardInfo(n), u64(n.id), u32(0), u32(0x001f01ff), u64(0n), u32(0), u32(0), u32(name.length), name]);
    case 22: {
      if (n.dir) return Buffer.alloc(0);
      const sname = Buffer.from('::$DATA', 'utf16le');
      return Buffer.concat([u32(0), u32(sname.length), u64(BigInt(n.content.length)), u64(allocationOf(n)), sname]);
    }
    case 34:
      return networkOpenInfo(n);
    case 35:
      return Buffer.concat([u32(attributesOf(n)), u32(0)]);
    default:
      return undefined;
  }
}

/** FILE_FS_* classes for an NTFS volume. */
export function fsInfo(cls: number, label: string, serial: number, created: bigint): Buffer | undefined {
  const total = 0x3a3a3a0n;
  const free = 0x1b9c1e2n;
  switch (cls) {
    case 1: {
      const l = Buffer.from(label, 'utf16le');
      const b = Buffer.alloc(18);
      b.writeBigUInt64LE(created, 0);
      b.writeUInt32LE(serial >>> 0, 8);
      b.writeUInt32LE(l.length, 12);
      return Buffer.concat([b, l]);
    }
    case 3: {
      const b = Buffer.alloc(24);
      b.writeBigUInt64LE(total, 0);
      b.writeBigUInt64LE(free, 8);
      b.writeUInt32LE(8, 16);
      b.writeUInt32LE(512, 20);
      return b;
    }
    case 4:
      return Buffer.concat([u32(7), u32(0x20)]);
    case 5: {
      const fs = Buffer.from('NTFS', 'utf16le');
      return Buffer.concat([u32(0x03e700ff), u32(255), u32(fs.length), fs]);
    }
    case 7: {
      const b = Buffer.alloc(32);
      b.writeBigUInt64LE(total, 0);
      b.writeBigUInt64LE(free, 8);
      b.writeBigUInt64LE(free, 16);
      b.writeUInt32LE(8, 24);
      b.writeUInt32LE(512, 28);
      return b;
    }
    case 8:
      return Buffer.alloc(64);
    case 11: {
      const b = Buffer.alloc(28);
      b.writeUInt32LE(512, 0);
      b.writeUInt32LE(4096, 4);
      b.writeUInt32LE(4096, 8);
      b.writeUInt32LE(4096, 12);
      b.writeUInt32LE(0xb, 16);
      return b;
    }
    default:
      return undefined;
  }
}

/** A minimal self-relative security descriptor: owner Administrators, group SYSTEM, DACL Everyone full control. */
export function securityDescriptor(): Buffer {
  const sid = (auth: number, ...subs: number[]) => {
    const b = Buffer.alloc(8 + subs.length * 4);
    b[0] = 1;
    b[1] = subs.length;
    b.writeUIntBE(auth, 2, 6);
    subs.forEach((s, i) => b.writeUInt32LE(s, 8 + i * 4));
    return b;
  };
  const owner = sid(5, 32, 544);
  const group = sid(5, 18);
  const everyone = sid(1, 0);
  const ace = Buffer.concat([Buffer.from([0, 3]), Buffer.from([0, 0]), u32(0x001f01ff), everyone]);
  ace.writeUInt16LE(ace.length, 2);
  const aclHead = Buffer.alloc(8);
  aclHead[0] = 2;
  aclHead.writeUInt16LE(8 + ace.length, 2);
  aclHead.writeUInt16LE(1, 4);
  const dacl = Buffer.concat([aclHead, ace]);
  const head = Buffer.alloc(20);
  head[0] = 1;
  head.writeUInt16LE(0x8004, 2);
  head.writeUInt32LE(20, 4);
  head.writeUInt32LE(20 + owner.length, 8);
  head.writeUInt32LE(0, 12);
  head.writeUInt32LE(20 + owner.length + group.length, 16);
  return Buffer.concat([head, owner, group, dacl]);
}

/** Header size of each directory-entry class, before the file name. */
const DIR_HEADER: Record<number, number> = { 1: 64, 2: 68, 3: 94, 0x0c: 12, 0x25: 104, 0x26: 80 };

export function supportsDirClass(cls: number): boolean {
  return DIR_HEADER[cls] !== undefined;
}

/** One directory entry of class `cls` (without NextEntryOffset set). */
export function dirEntry(cls: number, n: FsNode, name: string): Buffer {
  const fname = Buffer.from(name, 'utf16le');
  const hl = DIR_HEADER[cls] ?? 104;
  const b = Buffer.alloc(hl + fname.length);
  if (cls === 0x0c) {
    b.writeUInt32LE(fname.length, 8);
    fname.copy(b, 12);
    return b;
  }
  times(b, 8, n);
  b.writeBigUInt64LE(BigInt(n.content.length), 40);
  b.writeBigUInt64LE(allocationOf(n), 48);
  b.writeUInt32LE(attributesOf(n), 56);
  b.writeUInt32LE(fname.length, 60);
  if (cls === 0x26) b.writeBigUInt64LE(n.id, 72);
  if (cls === 0x25) b.writeBigUInt64LE(n.id, 96);
  fname.copy(b, hl);
  return b;
}
