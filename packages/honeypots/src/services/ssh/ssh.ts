/**
 * SSH honeypot on ssh2's Server: persona ident, password and
 * keyboard-interactive logins checked against the persona `users`, public
 * keys logged and rejected, and the fake shell for pty shells and exec.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ServerChannel, Session } from 'ssh2';
import { secretFields } from '@decnet/api';
import type { ConnInfo, EmitFields, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { stripV4Mapped } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import { DEFAULT_SSH_VERSION, FakeShell, shellPersona, type ShellPersona } from '../../shell/fake-shell.js';
import { attachShell, motd, toCrlf } from '../../shell/fake-shell-terminal.js';
import { usableHostKeys } from '../../protocols/ssh-host-keys.js';
import { MAX_SSH_START, readSshClientStart, type SshClientFingerprint } from '../../protocols/ssh-kexinit.js';

const { Server, utils } = ssh2;

export interface SshLimits {
  maxAuthAttempts: number;
  idleMs: number;
  maxConnections: number;
  maxSessionsPerConnection: number;
}

export const SSH_LIMITS: SshLimits = { maxAuthAttempts: 6, idleMs: 300_000, maxConnections: 128, maxSessionsPerConnection: 4 };

/** Host keys generated at start: ed25519 and RSA (older scanners only speak ssh-rsa). */
export function generateHostKeys(): string[] {
  return [utils.generateKeyPairSync('ed25519').private, utils.generateKeyPairSync('rsa', { bits: 2048 }).private];
}

/** The decky's apply-time host keys (kept in the state dir), else keys made now (tests, old config files). */
function hostKeysOf(ctx: ServiceContext): string[] {
  const kept = usableHostKeys(ctx.sshHostKeys);
  if (ctx.sshHostKeys !== undefined && kept.length === 0) ctx.log('ssh host keys in the config file are unusable: made new ones');
  return kept.length > 0 ? kept : generateHostKeys();
}

/** OpenSSH-style SHA256 fingerprint of a public key blob. */
export function keyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** ssh2 prepends "SSH-2.0-" itself: the persona gives the full identification line. */
export function identOf(version: unknown): string {
  const v = typeof version === 'string' && version.trim() ? version.trim() : DEFAULT_SSH_VERSION;
  return v.replace(/^SSH-2\.0-/, '').replace(/[\r\n]/g, '').slice(0, 200);
}

/** How long the client_version event waits for the client's KEXINIT. */
const KEXINIT_WAIT_MS = 10_000;

/**
 * Watch the client's first bytes (alongside ssh2, which reads the same chunks)
 * for its identification line and KEXINIT: resolves with the HASSH, or
 * undefined when they are malformed, never come, or the connection closes.
 */
export function tapClientStart(socket: Socket): Promise<SshClientFingerprint | undefined> {
  return new Promise((resolve) => {
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => done(undefined), KEXINIT_WAIT_MS);
    timer.unref?.();
    const onData = (chunk: Buffer) => {
      try {
        buf = buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([buf, chunk]);
        const r = readSshClientStart(buf);
        if (r.state === 'done') done(r.fingerprint);
        else if (r.state === 'bad' || buf.length > MAX_SSH_START) done(undefined);
      } catch {
        done(undefined);
      }
    };
    const onClose = () => done(undefined);
    function done(fp: SshClientFingerprint | undefined): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      buf = Buffer.alloc(0);
      resolve(fp);
    }
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    /* peer gone or protocol state changed: ignore */
  }
}

function handleAuth(
  actx: AuthContext,
  persona: ShellPersona,
  emit: (f: EmitFields) => void,
  state: { attempts: number; user?: string },
  limits: SshLimits,
  end: () => void,
): void {
  const methods: AuthContext['method'][] = ['publickey', 'password', 'keyboard-interactive'];
  const principal = actx.username;
  if (state.attempts >= limits.maxAuthAttempts) {
    safe(() => actx.reject());
    end();
    return;
  }
  const decide = (secret: string) => {
    const ok = persona.users.has(principal) && persona.users.get(principal) === secret;
    emit({ event: 'auth_attempt', principal, secret_kind: 'plaintext', ...secretFields(secret), success: ok, method: actx.method });
    if (ok) {
      state.user = principal;
      safe(() => actx.accept());
      return;
    }
    safe(() => actx.reject(methods));
    if (++state.attempts >= limits.maxAuthAttempts) end();
  };
  switch (actx.method) {
    case 'password':
      decide(actx.password);
      return;
    case 'keyboard-interactive':
      actx.prompt([{ prompt: 'Password: ', echo: false }], (answers) => decide(answers[0] ?? ''));
      return;
    case 'publickey': {
      const fp = keyFingerprint(actx.key.data);
      emit({ event: 'auth_attempt', principal, secret_kind: 'ssh_key', secret: fp, secret_b64: actx.key.data.toString('base64'), key_algo: actx.key.algo, success: false, method: 'publickey' });
      safe(() => actx.reject(methods));
      if (++state.attempts >= limits.maxAuthAttempts) end();
      return;
    }
    default:
      safe(() => actx.reject(methods));
  }
}

function handleSession(session: Session, user: string, persona: ShellPersona, emit: (f: EmitFields) => void, info: ConnInfo, localIp: string): void {
  let pty = false;
  const newShell = () => new FakeShell({ user, persona, emit, localIp, remoteIp: info.src_ip });
  session.on('pty', (accept) => {
    pty = true;
    safe(() => accept?.());
  });
  session.on('env', (accept) => safe(() => accept?.()));
  session.on('window-change', (accept) => safe(() => accept?.()));
  session.on('signal', (accept) => safe(() => accept?.()));
  session.on('auth-agent', (_accept, reject) => safe(() => reject?.()));
  session.on('x11', (_accept, reject) => safe(() => reject?.()));
  session.on('sftp', (_accept, reject) => {
    emit({ event: 'request', request: 'sftp', principal: user });
    safe(() => reject?.());
  });
  session.on('subsystem', (_accept, reject, i) => {
    emit({ event: 'request', request: 'subsystem', subsystem: String(i.name).slice(0, 100), principal: user });
    safe(() => reject?.());
  });
  session.on('shell', (accept) => {
    const stream: ServerChannel = accept();
    stream.on('error', () => undefined);
    const feed = attachShell(
      newShell(),
      {
        write: (t) => safe(() => stream.write(t)),
        close: (code) =>
          safe(() => {
            stream.exit(code);
            stream.end();
          }),
      },
      pty ? motd(persona.kernel) : '',
      pty,
    );
    stream.on('data', (d: Buffer) => feed(d));
  });
  session.on('exec', (accept, _reject, i) => {
    const stream: ServerChannel = accept();
    stream.on('error', () => undefined);
    const r = newShell().execute(String(i.command));
    safe(() => {
      if (r.output) stream.write(pty ? toCrlf(r.output) : r.output);
      stream.exit(r.exitCode);
      stream.end();
    });
  });
}

export async function startSsh(ctx: ServiceContext, limits: SshLimits = SSH_LIMITS): Promise<RunningService> {
  const persona = shellPersona(ctx);
  const sshServer = new Server({ hostKeys: hostKeysOf(ctx), ident: identOf(ctx.config['ssh_version']) });
  sshServer.on('error', (err: Error) => ctx.log('ssh server error', { err: err.message }));
  const pending = new Map<string, { info: ConnInfo; localIp: string; start?: Promise<SshClientFingerprint | undefined> }>();

  sshServer.on('connection', (client: Connection, cinfo) => {
    const key = `${stripV4Mapped(cinfo.ip)}:${cinfo.port}`;
    const meta = pending.get(key) ?? { info: { src_ip: stripV4Mapped(cinfo.ip), src_port: cinfo.port, dst_port: 0 }, localIp: '' };
    const emit = (f: EmitFields) => ctx.emit({ ...meta.info, ...f });
    const state: { attempts: number; user?: string } = { attempts: 0 };
    let sessions = 0;
    const end = () => safe(() => client.end());
    const clientVersion = cinfo.header.identRaw.slice(0, 255);
    // the event waits (bounded) for the client's KEXINIT, to carry its HASSH
    void (meta.start ?? Promise.resolve(undefined)).then((fp) =>
      emit({ event: 'client_version', client_version: clientVersion, ...(fp ? { hassh: fp.hassh, hassh_algorithms: fp.hassh_algorithms } : {}) }),
    );
    client.on('error', (err: Error) => ctx.log('ssh client error', { err: err.message }));
    client.on('authentication', (actx) => handleAuth(actx, persona, emit, state, limits, end));
    client.on('session', (accept, reject) => {
      if (!state.user || ++sessions > limits.maxSessionsPerConnection) return safe(() => reject());
      handleSession(accept(), state.user, persona, emit, meta.info, meta.localIp);
    });
    client.on('tcpip', (_accept, reject, i) => {
      emit({ event: 'request', request: 'direct-tcpip', dest_ip: i.destIP, dest_port: i.destPort, principal: state.user });
      safe(() => reject());
    });
    client.on('request', (_accept, reject, name) => {
      emit({ event: 'request', request: name, principal: state.user });
      safe(() => reject?.());
    });
  });

  // our own listener (cap, idle timeout, connection events), sockets handed to ssh2
  return startTcpService(
    ctx,
    (socket: Socket, info: ConnInfo) => {
      const key = `${info.src_ip}:${info.src_port}`;
      // tap before ssh2 attaches its own reader, so both see every chunk
      pending.set(key, { info, localIp: stripV4Mapped(socket.localAddress), start: tapClientStart(socket) });
      socket.once('close', () => pending.delete(key));
      sshServer.injectSocket(socket);
    },
    { maxConnections: limits.maxConnections, idleMs: limits.idleMs },
  );
}

export const sshService: ServiceModule = { name: 'ssh', start: (ctx) => startSsh(ctx) };
