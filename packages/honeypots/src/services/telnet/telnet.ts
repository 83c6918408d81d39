/**
 * Telnet honeypot: option negotiation, `<hostname> login:` / `Password:`,
 * every attempt recorded, persona users get the fake shell, three failures
 * close the connection.
 */
import type { Socket } from 'node:net';
import { secretFields } from '@decnet/api';
import type { ConnInfo, EmitFields, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import { FakeShell, shellPersona, type ShellPersona } from '../../shell/fake-shell.js';
import { LineEditor, motd, toCrlf } from '../../shell/fake-shell-terminal.js';
import { SERVER_OFFER, createTelnetParser } from './telnet-iac.js';

export const TELNET_MAX_FAILURES = 3;
const MAX_LOGIN = 256;

function session(socket: Socket, info: ConnInfo, ctx: ServiceContext, persona: ShellPersona): void {
  const emit = (f: EmitFields) => ctx.emit({ ...info, ...f });
  const parser = createTelnetParser();
  const editor = new LineEditor();
  let state: 'login' | 'password' | 'shell' | 'closed' = 'login';
  let user = '';
  let failures = 0;
  let shell: FakeShell | undefined;
  const localIp = (socket.localAddress ?? '').replace(/^::ffff:/, '');
  const loginPrompt = () => `${persona.hostname} login: `;
  const close = () => {
    state = 'closed';
    socket.end();
  };

  safeWrite(socket, Buffer.concat([SERVER_OFFER, Buffer.from(`Ubuntu 22.04.3 LTS\r\n${loginPrompt()}`)]));

  const onLine = (line: string): string => {
    if (state === 'login') {
      user = line.trim().slice(0, MAX_LOGIN);
      if (!user) return loginPrompt();
      state = 'password';
      return 'Password: ';
    }
    if (state === 'password') {
      const ok = persona.users.has(user) && persona.users.get(user) === line;
      emit({ event: 'auth_attempt', principal: user, secret_kind: 'plaintext', ...secretFields(line), success: ok });
      if (ok) {
        state = 'shell';
        shell = new FakeShell({ user, persona, emit, localIp, remoteIp: info.src_ip });
        return `\r\n${toCrlf(motd(persona.kernel))}${shell.prompt()}`;
      }
      if (++failures >= TELNET_MAX_FAILURES) {
        state = 'closed';
        return '\r\nLogin incorrect\r\n';
      }
      state = 'login';
      return `\r\nLogin incorrect\r\n${loginPrompt()}`;
    }
    if (state === 'shell' && shell) {
      const r = shell.execute(line);
      if (r.exit) {
        state = 'closed';
        return `${toCrlf(r.output)}logout\r\n`;
      }
      return toCrlf(r.output) + shell.prompt();
    }
    return '';
  };

  socket.on('data', (chunk: Buffer) => {
    if (state === 'closed') return;
    const { data, replies } = parser.feed(chunk);
    let out = '';
    for (const ev of editor.feed(data)) {
      if (state === 'closed') break;
      if (ev.type === 'echo') out += state === 'password' ? ev.text.replace(/[^\r\n]/g, '') : ev.text;
      else if (ev.type === 'line') out += onLine(ev.line);
      else if (ev.type === 'interrupt') out += state === 'shell' && shell ? shell.prompt() : state === 'login' ? loginPrompt() : '';
      else if (ev.type === 'eof' && (state === 'shell' || state === 'login')) {
        out += state === 'shell' ? 'logout\r\n' : '';
        state = 'closed';
      }
    }
    if (replies.length) safeWrite(socket, replies);
    if (out) safeWrite(socket, out);
    if (state === 'closed') close();
  });
}

export function startTelnet(ctx: ServiceContext, opts: { idleMs?: number; maxConnections?: number } = {}): Promise<RunningService> {
  const persona = shellPersona(ctx);
  return startTcpService(ctx, (socket, info) => session(socket, info, ctx, persona), { idleMs: opts.idleMs ?? 180_000, maxConnections: opts.maxConnections ?? 128 });
}

export const telnetService: ServiceModule = { name: 'telnet', start: (ctx) => startTelnet(ctx) };
