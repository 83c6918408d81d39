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
import { ftpDialectFor } from './ftp-dialect.js';

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
  const banner = bannerLine(ctx.config['banner']);
  const d = ftpDialectFor(banner);
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
    if (!ch) return reply(d.noDataChannel);
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
      reply(verb ? d.notLoggedIn : d.unknown);
      return true;
    }
    const path = ftpResolve(cwd, arg);
    switch (verb) {
      case 'USER':
        if (loggedIn) reply(d.userChange);
        else {
          user = arg.slice(0, 256);
          reply(d.userOk(user));
        }
        return true;
      case 'PASS': {
        if (loggedIn) return reply(d.alreadyLoggedIn), true;
        if (!user) return reply(d.passWithoutUser), true;
        const ok = ANONYMOUS.has(user.toLowerCase());
        emit({ event: 'auth_attempt', principal: user, secret_kind: 'plaintext', ...secretFields(arg), success: ok });
        if (ok) {
          loggedIn = true;
          reply(d.loginOk);
          return true;
        }
        reply(d.loginBad);
        user = '';
        if (++failures >= limits.maxLoginFailures) return false;
        return true;
      }
      case 'QUIT':
        reply(d.quit);
        return false;
      case 'SYST':
        return reply(d.syst), true;
      case 'FEAT':
        return reply(d.feat), true;
      case 'OPTS':
        return reply(/^utf8 on$/i.test(arg) ? d.optsUtf8 : d.optsBad), true;
      case 'AUTH':
        return reply(d.authBeforeLogin), true;
      case 'HELP':
        return reply(d.help), true;
      case 'NOOP':
        return reply(d.noop), true;
      case 'PWD':
      case 'XPWD':
        return reply(d.pwd(cwd)), true;
      case 'CWD':
      case 'XCWD':
      case 'CDUP': {
        const target = verb === 'CDUP' ? ftpResolve(cwd, '..') : path;
        if (sh.tree.get(target)?.type === 'dir') {
          cwd = target;
          reply(d.cwdOk);
        } else reply(d.cwdBad);
        return true;
      }
      case 'TYPE':
        if (/^I/i.test(arg) || /^L ?8/i.test(arg)) binary = true;
        else if (/^A/i.test(arg)) binary = false;
        else return reply(d.typeBad), true;
        return reply(d.typeOk(binary)), true;
      case 'MODE':
      case 'STRU':
        return reply(/^[SF]$/i.test(arg) ? `200 ${verb} set.` : '504 Bad MODE command.'), true;
      case 'REST':
        return reply(`350 Restart position accepted (${/^\d{1,15}$/.test(arg) ? arg : 0}).`), true;
      case 'ABOR':
        return reply(d.abor), true;
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
        return reply(d.portRefused), true;
      case 'LIST':
      case 'NLST': {
        const target = ftpResolve(cwd, listPathArg(arg));
        const listing = ftpListing(sh.tree, target, verb === 'LIST') ?? '';
        await withData(d.listOpen, async (s) => ((await sendData(s, listing)) ? d.listDone : '426 Failure writing network stream.'));
        return true;
      }
      case 'SIZE':
      case 'MDTM': {
        const n = sh.tree.get(path);
        if (n?.type !== 'file') return reply(verb === 'SIZE' ? d.sizeMissing : d.mdtmMissing), true;
        return reply(verb === 'SIZE' ? `213 ${Buffer.byteLength(n.content ?? '')}` : '213 20240115091200'), true;
      }
      case 'RETR': {
        const n = sh.tree.get(path);
        emit({ event: 'download_attempt', path, principal: user, found: n?.type === 'file' });
        if (n?.type !== 'file') return reply(d.fileMissing), true;
        const body = Buffer.from(n.content ?? '');
        await withData(d.retrOpen(binary, posix.basename(path), body.length), async (s) =>
          (await sendData(s, body)) ? d.transferDone : '426 Failure writing network stream.',
        );
        return true;
      }
      case 'STOR':
      case 'APPE':
      case 'STOU': {
        if (!arg && verb !== 'STOU') return reply(d.storNoName), true;
        await withData(d.storOpen, async (s) => {
          const r = await captureUpload(s, ctx.quarantineDir, limits.maxUploadBytes, sh.budget);
          emit({ event: 'upload_attempt', path, principal: user, bytes: r.bytes, sha256: r.sha256, truncated: r.truncated, ...(r.stored ? { stored: r.stored } : {}) });
          return r.truncated ? '552 Requested file action aborted. Exceeded storage allocation.' : d.transferDone;
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
        return reply(d.denied), true;
      default:
        return reply(verb ? d.notImplemented : d.unknown), true;
    }
  };

  reply(banner);
  const reader = createLineReader({
    maxLine: MAX_FTP_LINE,
    onOverflow: () => {
      reply(d.lineTooLong);
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
