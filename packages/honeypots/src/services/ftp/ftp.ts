/**
 * FTP honeypot (vsFTPd-like): anonymous logins accepted, every USER/PASS
 * recorded, passive data connections on the address the client dialled,
 * LIST/NLST/RETR of a small fake tree, STOR captured (size-capped, hashed)
 * into the quarantine dir. Active mode (PORT/EPRT) is refused: the honeypot
 * never dials out.
 */
import type { Socket } from 'node:net';
import { posix } from 'node:path';
import { secretFields } from '@decnet/api';
import type { ConnInfo, EmitFields, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { createLineReader, safeWrite, stripV4Mapped } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import { MAX_FTP_LINE, epsvReply, ftpListing, ftpResolve, ftpTree, listPathArg, parseFtpCommand, pasvReply, type FtpNode } from './ftp-commands.js';
import { PassiveChannel, captureUpload, sendData, type QuarantineBudget } from './ftp-data.js';

export const DEFAULT_FTP_BANNER = '220 (vsFTPd 3.0.5)';

export interface FtpLimits {
  maxUploadBytes: number;
  quarantineBytes: number;
  maxLoginFailures: number;
  idleMs: number;
  maxConnections: number;
}

export const FTP_LIMITS: FtpLimits = { maxUploadBytes: 1024 * 1024, quarantineBytes: 64 * 1024 * 1024, maxLoginFailures: 5, idleMs: 300_000, maxConnections: 128 };

const MAX_QUEUED = 64;
const ANONYMOUS = new Set(['anonymous', 'ftp']);
const OPEN_VERBS = new Set(['USER', 'PASS', 'QUIT', 'SYST', 'FEAT', 'AUTH', 'NOOP', 'HELP', 'OPTS']);

export function bannerLine(banner: unknown): string {
  const b = typeof banner === 'string' && banner.trim() ? banner.replace(/[\r\n]+/g, ' ').trim().slice(0, 200) : DEFAULT_FTP_BANNER;
  return /^220[ -]/.test(b) ? b : `220 ${b}`;
}

interface Shared {
  ctx: ServiceContext;
  limits: FtpLimits;
  budget: QuarantineBudget;
  tree: Map<string, FtpNode>;
}

function session(socket: Socket, info: ConnInfo, sh: Shared): void {
  const { ctx, limits } = sh;
  const emit = (f: EmitFields) => ctx.emit({ ...info, ...f });
  const reply = (text: string) => safeWrite(socket, `${text}\r\n`);
  const localIp = stripV4Mapped(socket.localAddress);
  let user = '';
  let loggedIn = false;
  let failures = 0;
  let cwd = '/';
  let binary = false;
  let pasv: PassiveChannel | undefined;
  let busy: Promise<void> = Promise.resolve();
  let queued = 0;

  const openPassive = async (extended: boolean) => {
    pasv?.close();
    pasv = await PassiveChannel.open(localIp || ctx.bindHost, info.src_ip);
    const r = extended ? epsvReply(pasv.port) : pasvReply(localIp, pasv.port);
    reply(r ?? '425 Use EPSV for IPv6.');
  };

  /** Run a transfer on the pending passive connection. */
  const withData = async (opening: string, work: (s: Socket) => Promise<string>) => {
    const ch = pasv;
    pasv = undefined;
    if (!ch) return reply('425 Use PORT or PASV first.');
    reply(opening);
    const s = await ch.socket();
    if (!s) return reply('425 Failed to establish connection.');
    try {
      reply(await work(s));
    } finally {
      ch.close();
    }
  };

  const handle = async (verb: string, arg: string): Promise<boolean> => {
    if (verb !== 'PASS') emit({ event: 'command', command: arg ? `${verb} ${arg}` : verb, principal: user || undefined });
    if (!loggedIn && !OPEN_VERBS.has(verb)) {
      reply(verb ? '530 Please login with USER and PASS.' : '500 Unknown command.');
      return true;
    }
    const path = ftpResolve(cwd, arg);
    switch (verb) {
      case 'USER':
        if (loggedIn) reply('530 Can\'t change to another user.');
        else {
          user = arg.slice(0, 256);
          reply('331 Please specify the password.');
        }
        return true;
      case 'PASS': {
        if (loggedIn) return reply('230 Already logged in.'), true;
        if (!user) return reply('503 Login with USER first.'), true;
        const ok = ANONYMOUS.has(user.toLowerCase());
        emit({ event: 'auth_attempt', principal: user, secret_kind: 'plaintext', ...secretFields(arg), success: ok });
        if (ok) {
          loggedIn = true;
          reply('230 Login successful.');
          return true;
        }
        reply('530 Login incorrect.');
        user = '';
        if (++failures >= limits.maxLoginFailures) return false;
        return true;
      }
      case 'QUIT':
        reply('221 Goodbye.');
        return false;
      case 'SYST':
        return reply('215 UNIX Type: L8'), true;
      case 'FEAT':
        return reply('211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End'), true;
      case 'OPTS':
        return reply(/^utf8 on$/i.test(arg) ? '200 Always in UTF8 mode.' : '501 Option not understood.'), true;
      case 'AUTH':
        return reply('530 Please login with USER and PASS.'), true;
      case 'HELP':
        return reply('214-The following commands are recognized.\r\n ABOR CDUP CWD EPSV FEAT HELP LIST MDTM NLST NOOP OPTS PASS PASV PWD QUIT RETR SIZE STOR SYST TYPE USER\r\n214 Help OK.'), true;
      case 'NOOP':
        return reply('200 NOOP ok.'), true;
      case 'PWD':
      case 'XPWD':
        return reply(`257 "${cwd}" is the current directory`), true;
      case 'CWD':
      case 'XCWD':
      case 'CDUP': {
        const target = verb === 'CDUP' ? ftpResolve(cwd, '..') : path;
        if (sh.tree.get(target)?.type === 'dir') {
          cwd = target;
          reply('250 Directory successfully changed.');
        } else reply('550 Failed to change directory.');
        return true;
      }
      case 'TYPE':
        if (/^I/i.test(arg) || /^L ?8/i.test(arg)) binary = true;
        else if (/^A/i.test(arg)) binary = false;
        else return reply('500 Unrecognised TYPE command.'), true;
        return reply(binary ? '200 Switching to Binary mode.' : '200 Switching to ASCII mode.'), true;
      case 'MODE':
      case 'STRU':
        return reply(/^[SF]$/i.test(arg) ? `200 ${verb} set.` : '504 Bad MODE command.'), true;
      case 'REST':
        return reply(`350 Restart position accepted (${/^\d{1,15}$/.test(arg) ? arg : 0}).`), true;
      case 'ABOR':
        return reply('225 No transfer to ABOR.'), true;
      case 'PASV':
        await openPassive(false);
        return true;
      case 'EPSV':
        if (/^all$/i.test(arg)) return reply('200 EPSV ALL ok.'), true;
        await openPassive(true);
        return true;
      case 'PORT':
      case 'EPRT':
        emit({ event: 'request', request: 'active_mode', target: arg.slice(0, 100) });
        return reply('500 Illegal PORT command.'), true;
      case 'LIST':
      case 'NLST': {
        const target = ftpResolve(cwd, listPathArg(arg));
        const listing = ftpListing(sh.tree, target, verb === 'LIST') ?? '';
        await withData('150 Here comes the directory listing.', async (s) => ((await sendData(s, listing)) ? '226 Directory send OK.' : '426 Failure writing network stream.'));
        return true;
      }
      case 'SIZE':
      case 'MDTM': {
        const n = sh.tree.get(path);
        if (n?.type !== 'file') return reply(verb === 'SIZE' ? '550 Could not get file size.' : '550 Could not get file modification time.'), true;
        return reply(verb === 'SIZE' ? `213 ${Buffer.byteLength(n.content ?? '')}` : '213 20240115091200'), true;
      }
      case 'RETR': {
        const n = sh.tree.get(path);
        emit({ event: 'download_attempt', path, principal: user, found: n?.type === 'file' });
        if (n?.type !== 'file') return reply('550 Failed to open file.'), true;
        const body = Buffer.from(n.content ?? '');
        await withData(`150 Opening ${binary ? 'BINARY' : 'ASCII'} mode data connection for ${posix.basename(path)} (${body.length} bytes).`, async (s) =>
          (await sendData(s, body)) ? '226 Transfer complete.' : '426 Failure writing network stream.',
        );
        return true;
      }
      case 'STOR':
      case 'APPE':
      case 'STOU': {
        if (!arg && verb !== 'STOU') return reply('553 Could not create file.'), true;
        await withData('150 Ok to send data.', async (s) => {
          const r = await captureUpload(s, ctx.quarantineDir, limits.maxUploadBytes, sh.budget);
          emit({ event: 'upload_attempt', path, principal: user, bytes: r.bytes, sha256: r.sha256, truncated: r.truncated, ...(r.stored ? { stored: r.stored } : {}) });
          return r.truncated ? '552 Requested file action aborted. Exceeded storage allocation.' : '226 Transfer complete.';
        });
        return true;
      }
      case 'DELE':
      case 'MKD':
      case 'XMKD':
      case 'RMD':
      case 'XRMD':
      case 'RNFR':
      case 'RNTO':
      case 'SITE':
      case 'CHMOD':
        return reply('550 Permission denied.'), true;
      default:
        return reply(verb ? '502 Command not implemented.' : '500 Unknown command.'), true;
    }
  };

  reply(bannerLine(ctx.config['banner']));
  const reader = createLineReader({
    maxLine: MAX_FTP_LINE,
    onOverflow: () => {
      reply('500 Input line too long.');
      socket.end();
    },
    onLine: (line) => {
      // commands run one at a time, in order (a transfer finishes before the next command)
      if (++queued > MAX_QUEUED) {
        reader.stop();
        socket.destroy();
        return;
      }
      busy = busy.then(async () => {
        queued--;
        if (socket.destroyed) return;
        const { verb, arg } = parseFtpCommand(line);
        let keep = true;
        try {
          keep = await handle(verb, arg);
        } catch (err) {
          ctx.log('ftp command failed', { err: String(err) });
          reply('451 Requested action aborted. Local error in processing.');
        }
        if (!keep) {
          reader.stop();
          pasv?.close();
          socket.end();
        }
      });
    },
  });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.once('close', () => {
    reader.stop();
    pasv?.close();
  });
}

export function startFtp(ctx: ServiceContext, limits: FtpLimits = FTP_LIMITS): Promise<RunningService> {
  const shared: Shared = { ctx, limits, budget: { remaining: limits.quarantineBytes }, tree: ftpTree(ctx.hostname) };
  return startTcpService(ctx, (socket, info) => session(socket, info, shared), { idleMs: limits.idleMs, maxConnections: limits.maxConnections });
}

export const ftpService: ServiceModule = { name: 'ftp', start: (ctx) => startFtp(ctx) };
