/**
 * Redis honeypot: an unauthenticated-looking redis-server speaking RESP2.
 * Persona keys: redis_version (default 7.0.11), os_string (default
 * "Linux 5.15.0-91-generic x86_64"). Every command is emitted as a `command`
 * event with its argv (truncated); AUTH becomes an `auth_attempt` and fails.
 */
import { secretFields } from '@decnet/api';
import { startTcpService } from '../../runtime/tcp.js';
import { safeWrite } from '../../runtime/limits.js';
import type { RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { execute, RedisState, type Session } from './redis-commands.js';
import { encode, error, RespReader } from './resp.js';

const MAX_ARGS_LOGGED = 16;
const MAX_ARG_CHARS = 256;

function str(ctx: ServiceContext, key: string, def: string): string {
  const v = ctx.config[key];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : def;
}

/** argv as printable strings for an event: at most 16 args of 256 chars. */
export function argvForEvent(argv: Buffer[]): string[] {
  return argv.slice(0, MAX_ARGS_LOGGED).map((b) => {
    const s = secretFields(b.subarray(0, MAX_ARG_CHARS)).secret;
    return b.length > MAX_ARG_CHARS ? `${s}...[${b.length} bytes]` : s;
  });
}

export const redisService: ServiceModule = {
  name: 'redis',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const tcpPort = ctx.ports.find((p) => p.proto === 'tcp')?.port ?? 6379;
    const state = new RedisState({
      version: str(ctx, 'redis_version', '7.0.11'),
      os: str(ctx, 'os_string', 'Linux 5.15.0-91-generic x86_64'),
      hostname: ctx.hostname,
      port: tcpPort,
    });
    let nextId = 3;
    const running = await startTcpService(
      ctx,
      (socket, info) => {
        state.connections++;
        state.clients++;
        socket.once('close', () => state.clients--);
        const session: Session = { db: 0, name: '', id: nextId++, addr: `${info.src_ip}:${info.src_port}` };
        const reader = new RespReader();
        let closing = false;
        socket.on('data', (chunk: Buffer) => {
          if (closing) return;
          for (const frame of reader.feed(chunk)) {
            if ('error' in frame) {
              ctx.emit({ event: 'protocol_error', ...info, message: frame.error });
              safeWrite(socket, encode(error(`ERR ${frame.error}`)));
              closing = true;
              socket.end();
              return;
            }
            let r;
            try {
              r = execute(frame.argv, state, session);
            } catch (err) {
              ctx.log('redis command failed', { err: String(err) });
              r = { reply: error('ERR internal error') };
            }
            const name = frame.argv[0]!.toString('latin1').slice(0, 64).toUpperCase();
            ctx.emit({
              event: 'command',
              ...info,
              command: name,
              argv: argvForEvent(frame.argv),
              argc: frame.argv.length,
              db: session.db,
              ...(r.technique ? { technique: r.technique } : {}),
            });
            if (r.auth) {
              ctx.emit({ event: 'auth_attempt', ...info, principal: r.auth.user, secret_kind: 'plaintext', ...secretFields(r.auth.password), success: false });
            }
            safeWrite(socket, encode(r.reply));
            if (r.close) {
              closing = true;
              socket.end();
              return;
            }
          }
        });
      },
      { idleMs: 300_000 },
    );
    if (running.ports[0] !== undefined) state.persona.port = running.ports[0];
    return running;
  },
};
