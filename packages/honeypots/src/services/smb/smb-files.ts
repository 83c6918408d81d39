/**
 * Tree and file commands of an authenticated SMB2 session: TREE_CONNECT/DISCONNECT,
 * CREATE, CLOSE, READ, WRITE, QUERY_DIRECTORY, QUERY_INFO, SET_INFO, IOCTL, FLUSH,
 * LOCK, over the fake share tree and the DCE/RPC named pipes (srvsvc, wkssvc).
 * Reads emit download_attempt; writes land in memory (bounded) and are handed to the
 * adapter as uploads on CLOSE.
 */
import type { Persona } from '@decnet/api';
import { pipeFor, type PipeEndpoint } from './srvsvc.js';
import { STYPE, lookup, newNode, parentOf, type FsNode, type Share } from './fake-fs.js';
import { Body, CMD, STATUS, align8, utf16At, type Smb2Header } from './smb2-messages.js';
import { attributesOf, allocationOf, dirEntry, fileInfo, fsInfo, securityDescriptor, supportsDirClass } from './smb2-info.js';
import type { SmbOutput, SmbSess, SmbSessionOptions } from './smb-session.js';

export interface Tree {
  id: number;
  share: Share;
}

export interface Open {
  key: string;
  fileId: Buffer;
  sessionId: bigint;
  treeId: number;
  share: Share;
  path: string;
  /** DOMAIN\\user of the session, for events */
  principal: string;
  node?: FsNode;
  pipe?: PipeEndpoint;
  cursor?: number;
  pattern?: string;
  downloaded: boolean;
  written: boolean;
  truncated: boolean;
  deleteOnClose: boolean;
}

export interface FileConn {
  readonly opts: SmbSessionOptions;
  readonly persona: Persona;
  readonly out: SmbOutput;
  dialect: number | undefined;
  nextTree: number;
  nextFile: bigint;
  opens: Map<string, Open>;
  readonly clientGuid: Buffer;
  clientSecurityMode: number;
  clientCaps: number;
  readonly securityMode: number;
  capabilitiesFor(d: number): number;
  now(): Date;
}

export interface FileResult {
  status: number;
  body: Buffer;
  treeId?: number;
  fileId?: Buffer;
}

const MAX_TREES = 16;
const MAX_OPENS = 64;
const MAX_NODES = 512;
const DEFAULT_MAX_UPLOAD = 4 * 1024 * 1024;
let createdNodes = 0;

const err = (status: number): FileResult => ({ status, body: Buffer.from([9, 0, 0, 0, 0, 0, 0, 0, 0]) });
const ok = (body: Buffer, extra: Partial<FileResult> = {}): FileResult => ({ status: STATUS.SUCCESS, body, ...extra });

function simple(size: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(size, 0);
  return b;
}

/** Convert a Windows wildcard ("*", "*.txt", "a?c") to a matcher. */
function matcher(pattern: string): (name: string) => boolean {
  if (pattern === '' || pattern === '*' || pattern === '*.*') return () => true;
  const re = new RegExp('^' + pattern.slice(0, 255).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.').replace(/[<>"]/g, '.') + '$', 'i');
  return (n) => re.test(n);
}

export function handleFileCommand(conn: FileConn, sess: SmbSess, req: Buffer, h: Smb2Header, relatedFileId: Buffer | undefined): FileResult | undefined {
  const b = new Body(req);
  if (h.command === CMD.TREE_CONNECT) return treeConnect(conn, sess, req, b);
  const tree = sess.trees.get(h.treeId);
  if (!tree) return err(STATUS.NETWORK_NAME_DELETED);
  if (h.command === CMD.TREE_DISCONNECT) {
    sess.trees.delete(tree.id);
    for (const [k, o] of conn.opens) if (o.sessionId === sess.id && o.treeId === tree.id) conn.opens.delete(k);
    return ok(simple(4));
  }
  if (h.command === CMD.CREATE) return create(conn, sess, tree, req, b);
  // every other command names a FileId; in a related compound all-ones means "the last one"
  const fileIdAt: Record<number, number> = { [CMD.CLOSE]: 8, [CMD.FLUSH]: 8, [CMD.READ]: 16, [CMD.WRITE]: 16, [CMD.LOCK]: 8, [CMD.IOCTL]: 8, [CMD.QUERY_DIRECTORY]: 8, [CMD.CHANGE_NOTIFY]: 8, [CMD.QUERY_INFO]: 24, [CMD.SET_INFO]: 16 };
  const at = fileIdAt[h.command];
  if (at === undefined) return err(STATUS.NOT_SUPPORTED);
  let fid = b.bytes(at, 16);
  if (fid.equals(Buffer.alloc(16, 0xff)) && relatedFileId) fid = relatedFileId;
  const open = conn.opens.get(fid.toString('hex'));
  if (h.command === CMD.IOCTL) return ioctl(conn, open, req, b);
  if (!open || open.sessionId !== sess.id) return err(STATUS.FILE_CLOSED);
  switch (h.command) {
    case CMD.CLOSE:
      return close(conn, open, b);
    case CMD.FLUSH:
      return ok(simple(4));
    case CMD.LOCK:
      return ok(simple(4));
    case CMD.READ:
      return read(conn, open, b);
    case CMD.WRITE:
      return write(conn, open, req, b);
    case CMD.QUERY_DIRECTORY:
      return queryDirectory(open, req, b);
    case CMD.QUERY_INFO:
      return queryInfo(conn, open, b);
    case CMD.SET_INFO:
      return setInfo(open, req, b);
    default:
      return err(STATUS.NOT_SUPPORTED);
  }
}

function treeConnect(conn: FileConn, sess: SmbSess, req: Buffer, b: Body): FileResult {
  const path = utf16At(req, b.u16(4), b.u16(6), 512) ?? '';
  const name = path.split('\\').filter(Boolean).pop() ?? '';
  const share = conn.opts.shares.find((s) => s.name.toUpperCase() === name.toUpperCase());
  conn.out.events.push({ event: 'request', command: 'tree_connect', path: path.slice(0, 300), share: name.slice(0, 100), found: share !== undefined });
  if (!share) return err(STATUS.BAD_NETWORK_NAME);
  const ipc = (share.type & 0xff) === STYPE.IPC;
  if (sess.anonymous && !ipc) return err(STATUS.ACCESS_DENIED);
  if (sess.trees.size >= MAX_TREES) return err(STATUS.INSUFFICIENT_RESOURCES);
  const id = conn.nextTree++;
  sess.trees.set(id, { id, share });
  const r = Buffer.alloc(16);
  r.writeUInt16LE(16, 0);
  r[2] = ipc ? 2 : 1;
  r.writeUInt32LE(ipc ? 0x30 : 0x0, 4);
  r.writeUInt32LE(0, 8);
  r.writeUInt32LE(0x001f01ff, 12);
  return ok(r, { treeId: id });
}

function create(conn: FileConn, sess: SmbSess, tree: Tree, req: Buffer, b: Body): FileResult {
  if (conn.opens.size >= MAX_OPENS) return err(STATUS.INSUFFICIENT_RESOURCES);
  const raw = utf16At(req, b.u16(44), b.u16(46), 1024);
  if (raw === undefined) return err(STATUS.INVALID_PARAMETER);
  const path = raw.replace(/^[\\/]+/, '').replace(/[\\/]+$/, '');
  const disposition = b.u32(36);
  const options = b.u32(40);
  const wantDir = (options & 0x1) !== 0;
  const fileId = Buffer.alloc(16);
  fileId.writeBigUInt64LE(conn.nextFile, 0);
  fileId.writeBigUInt64LE(conn.nextFile | 0x100000000n, 8);
  conn.nextFile += 1n;
  const base: Open = { key: fileId.toString('hex'), fileId, sessionId: sess.id, treeId: tree.id, share: tree.share, path, principal: sess.principal, downloaded: false, written: false, truncated: false, deleteOnClose: (options & 0x1000) !== 0 };
  if ((tree.share.type & 0xff) === STYPE.IPC) {
    const pipe = pipeFor(path, conn.persona, conn.opts.shares.map((s) => ({ name: s.name, type: s.type, comment: s.comment })), (c) =>
      conn.out.events.push({ event: 'request', command: 'rpc', pipe: c.pipe, opnum: c.opnum, operation: c.operation }),
    );
    conn.out.events.push({ event: 'request', command: 'open_pipe', pipe: path.slice(0, 100), found: pipe !== undefined });
    if (!pipe) return err(STATUS.OBJECT_NAME_NOT_FOUND);
    conn.opens.set(base.key, { ...base, pipe });
    return ok(createBody(fileId, undefined, 1), { fileId });
  }
  let node = lookup(tree.share.root, path);
  let action = 1;
  if (node) {
    if (disposition === 2) return err(STATUS.OBJECT_NAME_COLLISION);
    if (wantDir && !node.dir) return err(STATUS.NOT_A_DIRECTORY);
    if (options & 0x40 && node.dir) return err(STATUS.FILE_IS_A_DIRECTORY);
    if ((disposition === 0 || disposition === 4 || disposition === 5) && !node.dir) {
      node.content = Buffer.alloc(0);
      action = disposition === 0 ? 0 : 3;
    }
  } else {
    if (disposition === 1 || disposition === 4) {
      const { parent } = parentOf(tree.share.root, path);
      return err(parent && parent.dir ? STATUS.OBJECT_NAME_NOT_FOUND : STATUS.OBJECT_PATH_NOT_FOUND);
    }
    const { parent, leaf } = parentOf(tree.share.root, path);
    if (!parent || !parent.dir || leaf === '' || leaf.length > 255 || /[\x00-\x1f"*<>?|]/.test(leaf)) return err(STATUS.OBJECT_PATH_NOT_FOUND);
    if (createdNodes >= MAX_NODES || parent.children.size >= 256) return err(STATUS.ACCESS_DENIED);
    createdNodes++;
    node = newNode(leaf, wantDir, conn.now());
    parent.children.set(leaf.toLowerCase(), node);
    action = 2;
    conn.out.events.push({ event: 'request', command: 'create', share: tree.share.name, path, directory: wantDir });
  }
  conn.opens.set(base.key, { ...base, node });
  return ok(createBody(fileId, node, action), { fileId });
}

function createBody(fileId: Buffer, n: FsNode | undefined, action: number): Buffer {
  const r = Buffer.alloc(88);
  r.writeUInt16LE(89, 0);
  r.writeUInt32LE(action, 4);
  if (n) {
    r.writeBigUInt64LE(n.created, 8);
    r.writeBigUInt64LE(n.modified, 16);
    r.writeBigUInt64LE(n.modified, 24);
    r.writeBigUInt64LE(n.modified, 32);
    r.writeBigUInt64LE(allocationOf(n), 40);
    r.writeBigUInt64LE(BigInt(n.content.length), 48);
    r.writeUInt32LE(attributesOf(n), 56);
  } else {
    r.writeBigUInt64LE(4096n, 40);
    r.writeUInt32LE(0x80, 56);
  }
  fileId.copy(r, 64);
  return r;
}

function close(conn: FileConn, open: Open, b: Body): FileResult {
  conn.opens.delete(open.key);
  const n = open.node;
  if (n && open.written && !n.dir) conn.out.uploads.push({ share: open.share.name, path: open.path, principal: open.principal, data: Buffer.from(n.content), truncated: open.truncated });
  if (n && open.deleteOnClose) {
    const { parent, leaf } = parentOf(open.share.root, open.path);
    parent?.children.delete(leaf.toLowerCase());
    conn.out.events.push({ event: 'request', command: 'delete', share: open.share.name, path: open.path });
  }
  const r = Buffer.alloc(60);
  r.writeUInt16LE(60, 0);
  if (n && b.u16(2) & 1) {
    r.writeUInt16LE(1, 2);
    r.writeBigUInt64LE(n.created, 8);
    r.writeBigUInt64LE(n.modified, 16);
    r.writeBigUInt64LE(n.modified, 24);
    r.writeBigUInt64LE(n.modified, 32);
    r.writeBigUInt64LE(allocationOf(n), 40);
    r.writeBigUInt64LE(BigInt(n.content.length), 48);
    r.writeUInt32LE(attributesOf(n), 56);
  }
  return ok(r);
}

function readBody(data: Buffer): Buffer {
  const r = Buffer.alloc(16);
  r.writeUInt16LE(17, 0);
  r[2] = 0x50;
  r.writeUInt32LE(data.length, 4);
  return Buffer.concat([r, data]);
}

function read(conn: FileConn, open: Open, b: Body): FileResult {
  const len = Math.min(b.u32(4), 8 * 1024 * 1024);
  const offset = b.u64(8);
  if (open.pipe) {
    const data = open.pipe.read(len);
    if (data.length === 0) return err(STATUS.PIPE_BROKEN);
    return { status: open.pipe.available > 0 ? STATUS.BUFFER_OVERFLOW : STATUS.SUCCESS, body: readBody(data) };
  }
  const n = open.node;
  if (!n || n.dir) return err(STATUS.INVALID_DEVICE_REQUEST);
  if (!open.downloaded) {
    open.downloaded = true;
    conn.out.events.push({ event: 'download_attempt', share: open.share.name, path: open.path, size: n.content.length, found: true, principal: open.principal });
  }
  if (offset >= BigInt(n.content.length)) return err(STATUS.END_OF_FILE);
  const start = Number(offset);
  return ok(readBody(n.content.subarray(start, start + len)));
}

function write(conn: FileConn, open: Open, req: Buffer, b: Body): FileResult {
  const off = b.u16(2);
  const len = b.u32(4);
  if (off < 64 || off + len > req.length) return err(STATUS.INVALID_PARAMETER);
  const data = req.subarray(off, off + len);
  const resp = (count: number) => {
    const r = Buffer.alloc(16);
    r.writeUInt16LE(17, 0);
    r.writeUInt32LE(count, 4);
    return ok(r);
  };
  if (open.pipe) {
    open.pipe.write(Buffer.from(data));
    return resp(len);
  }
  const n = open.node;
  if (!n || n.dir) return err(STATUS.INVALID_DEVICE_REQUEST);
  const offset = Number(b.u64(8) > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : b.u64(8));
  const cap = conn.opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD;
  const end = Math.min(offset + data.length, cap);
  const grow = Math.max(0, end - n.content.length);
  const room = Math.min(grow, Math.max(0, conn.opts.budget.remaining));
  if (room < grow || offset + data.length > cap) open.truncated = true;
  const newLen = n.content.length + room;
  if (offset < newLen) {
    const buf = newLen > n.content.length ? Buffer.concat([n.content, Buffer.alloc(newLen - n.content.length)]) : n.content;
    data.copy(buf, offset, 0, Math.min(data.length, newLen - offset));
    n.content = buf;
    conn.opts.budget.remaining -= room;
  }
  n.modified = BigInt(conn.now().getTime() + 11644473600000) * 10000n;
  open.written = true;
  // a Windows share says it wrote everything; what did not fit is simply not kept
  return resp(len);
}

function queryDirectory(open: Open, req: Buffer, b: Body): FileResult {
  const n = open.node;
  if (!n || !n.dir) return err(STATUS.INVALID_PARAMETER);
  const cls = b.u8(2);
  const flags = b.u8(3);
  if (!supportsDirClass(cls)) return err(STATUS.INVALID_INFO_CLASS);
  const pattern = utf16At(req, b.u16(24), b.u16(26), 512) ?? '*';
  const maxOut = Math.min(b.u32(28), 1024 * 1024);
  if (flags & 0x11 || open.cursor === undefined) {
    open.cursor = 0;
    open.pattern = pattern || '*';
  }
  const match = matcher(open.pattern ?? '*');
  const entries: [string, FsNode][] = [['.', n], ['..', n], ...[...n.children.values()].sort((x, y) => x.name.localeCompare(y.name)).map((c) => [c.name, c] as [string, FsNode])];
  const list = entries.filter(([name]) => match(name));
  const parts: Buffer[] = [];
  let size = 0;
  while (open.cursor < list.length) {
    const [name, node] = list[open.cursor]!;
    const e = dirEntry(cls, node, name);
    const start = align8(size);
    if (start + e.length > maxOut) break;
    parts.push(e);
    size = start + e.length;
    open.cursor++;
    if (flags & 0x2) break;
  }
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    const full = Buffer.concat([p, Buffer.alloc(align8(p.length) - p.length)]);
    full.writeUInt32LE(full.length, 0);
    parts[i] = full;
  }
  if (parts.length === 0) return err(open.cursor < list.length ? STATUS.INFO_LENGTH_MISMATCH : STATUS.NO_MORE_FILES);
  const data = Buffer.concat(parts);
  const r = Buffer.alloc(8);
  r.writeUInt16LE(9, 0);
  r.writeUInt16LE(72, 2);
  r.writeUInt32LE(data.length, 4);
  return ok(Buffer.concat([r, data]));
}

function infoBody(data: Buffer, maxOut: number, variable: boolean): FileResult {
  const r = Buffer.alloc(8);
  r.writeUInt16LE(9, 0);
  r.writeUInt16LE(72, 2);
  if (data.length > maxOut) {
    if (!variable) return err(STATUS.INFO_LENGTH_MISMATCH);
    const cut = data.subarray(0, maxOut);
    r.writeUInt32LE(cut.length, 4);
    return { status: STATUS.BUFFER_OVERFLOW, body: Buffer.concat([r, cut]) };
  }
  r.writeUInt32LE(data.length, 4);
  return ok(Buffer.concat([r, data]));
}

function queryInfo(conn: FileConn, open: Open, b: Body): FileResult {
  const type = b.u8(2);
  const cls = b.u8(3);
  const maxOut = Math.min(b.u32(4), 1024 * 1024);
  if (type === 3) {
    const sd = securityDescriptor();
    if (sd.length > maxOut) {
      const need = Buffer.alloc(4);
      need.writeUInt32LE(sd.length);
      const r = Buffer.alloc(8);
      r.writeUInt16LE(9, 0);
      r.writeUInt16LE(72, 2);
      r.writeUInt32LE(4, 4);
      return { status: STATUS.BUFFER_TOO_SMALL, body: Buffer.concat([r, need]) };
    }
    return infoBody(sd, maxOut, false);
  }
  const node = open.node ?? { name: open.path, dir: false, children: new Map(), content: Buffer.alloc(0), created: 0n, modified: 0n, id: 0n };
  if (type === 1) {
    const data = fileInfo(cls, node, open.path);
    return data ? infoBody(data, maxOut, cls === 18 || cls === 9 || cls === 22) : err(STATUS.INVALID_INFO_CLASS);
  }
  if (type === 2) {
    const serial = conn.opts.serverGuid.readUInt32LE(0);
    const data = fsInfo(cls, '', serial, open.share.root.created);
    return data ? infoBody(data, maxOut, cls === 1 || cls === 5) : err(STATUS.INVALID_INFO_CLASS);
  }
  return err(STATUS.INVALID_PARAMETER);
}

function setInfo(open: Open, req: Buffer, b: Body): FileResult {
  const type = b.u8(2);
  const cls = b.u8(3);
  const len = b.u32(4);
  const off = b.u16(8);
  const data = off >= 64 && off + len <= req.length ? req.subarray(off, off + len) : Buffer.alloc(0);
  if (type === 1 && cls === 13 && data.length >= 1) open.deleteOnClose = data[0] !== 0;
  if (type === 1 && (cls === 20 || cls === 19) && data.length >= 8 && open.node && !open.node.dir) {
    const size = Number(data.readBigUInt64LE(0));
    if (size < open.node.content.length) open.node.content = open.node.content.subarray(0, size);
  }
  return ok(simple(2));
}

function ioctl(conn: FileConn, open: Open | undefined, req: Buffer, b: Body): FileResult {
  const code = b.u32(4);
  const inOff = b.u32(24);
  const inLen = b.u32(28);
  const maxOut = Math.min(b.u32(44), 1024 * 1024);
  const input = inOff >= 64 && inOff + inLen <= req.length ? req.subarray(inOff, inOff + inLen) : Buffer.alloc(0);
  const resp = (status: number, out: Buffer) => {
    const r = Buffer.alloc(48);
    r.writeUInt16LE(49, 0);
    r.writeUInt32LE(code, 4);
    b.bytes(8, 16).copy(r, 8);
    r.writeUInt32LE(112, 24);
    r.writeUInt32LE(112, 32);
    r.writeUInt32LE(out.length, 36);
    return { status, body: Buffer.concat([r, out]) };
  };
  conn.out.events.push({ event: 'request', command: 'ioctl', ctl_code: '0x' + code.toString(16).padStart(8, '0') });
  if (code === 0x00140204) {
    const out = Buffer.alloc(24);
    out.writeUInt32LE(conn.capabilitiesFor(conn.dialect ?? 0x0202), 0);
    conn.opts.serverGuid.copy(out, 4);
    out.writeUInt16LE(conn.securityMode, 20);
    out.writeUInt16LE(conn.dialect ?? 0x0202, 22);
    return resp(STATUS.SUCCESS, out);
  }
  if (code === 0x0011c017) {
    if (!open?.pipe) return err(STATUS.INVALID_DEVICE_REQUEST);
    const out = open.pipe.transceive(Buffer.from(input), maxOut);
    return resp(open.pipe.available > 0 ? STATUS.BUFFER_OVERFLOW : STATUS.SUCCESS, out);
  }
  if (code === 0x00060194 || code === 0x000601b0) return err(STATUS.NOT_FOUND);
  return err(STATUS.NOT_SUPPORTED);
}
