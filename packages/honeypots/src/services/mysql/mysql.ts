/**
 * MySQL honeypot: sends a v10 handshake (mysql_native_password, random 20-byte
 * scramble, no SSL), parses the client's HandshakeResponse, emits an
 * `auth_attempt` (secret_kind mysql_native: secret_b64 is the scrambled
 * response, `scramble_b64` the server scramble, enough for offline cracking)
 * and always answers ERR 1045 Access denied.
 *
 * Persona: mysql_version (default 8.0.36-0ubuntu0.22.04.1); mysql_banner, when
 * set, replaces the whole version string of the handshake (e.g.
 * "5.5.5-10.6.12-MariaDB-0ubuntu0.22.04.1").
 */
import { randomBytes, randomInt } from 'node:crypto';
import { secretFields } from '@decnet/api';
import { safeWrite } from '../../runtime/limits.js';
import { startTcpService } from '../../runtime/tcp.js';
import type { RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import {
  buildAuthSwitch,
  buildErr,
  buildHandshake,
  CLIENT,
  framePacket,
  NATIVE_PLUGIN,
  PacketReader,
  parseHandshakeResponse,
  type HandshakeResponse,
} from './mysql-protocol.js';

function versionString(ctx: ServiceContext): string {
  const banner = ctx.config['mysql_banner'];
  if (typeof banner === 'string' && banner.trim() !== '') return banner.trim().slice(0, 128);
  const v = ctx.config['mysql_version'];
  return typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 128) : '8.0.36-0ubuntu0.22.04.1';
}

/** "Scramble" scramble-only: a printable scramble (MySQL uses bytes 1..127 without NUL and '$'). */
export function makeScramble(): Buffer {
  const b = randomBytes(20);
  for (let i = 0; i < b.length; i++) {
    let v = b[i]! & 0x7f;
    if (v === 0 || v === 0x24) v = 0x41 + (v % 26);
    b[i] = v;
  }
  return b;
}

export const mysqlService: ServiceModule = {
  name: 'mysql',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const version = versionString(ctx);
    let connectionId = randomInt(8, 5000);
    return startTcpService(
      ctx,
      (socket, info) => {
        const scramble = makeScramble();
        const reader = new PacketReader();
        let state: 'handshake' | 'switch' | 'done' = 'handshake';
        let first: HandshakeResponse | undefined;
        const fail = (seq: number, code: number, sqlState: string, msg: string) => {
          state = 'done';
          safeWrite(socket, framePacket(seq, buildErr(code, sqlState, msg)));
          socket.end();
        };
        const deny = (seq: number, resp: HandshakeResponse, authResponse: Buffer, plugin: string) => {
          ctx.emit({
            event: 'auth_attempt',
            ...info,
            principal: resp.username,
            secret_kind: 'mysql_native',
            ...secretFields(authResponse),
            scramble_b64: scramble.toString('base64'),
            auth_plugin: plugin,
            ...(resp.database !== undefined ? { database: resp.database } : {}),
            ...(Object.keys(resp.attrs).length > 0 ? { client_attrs: resp.attrs } : {}),
            success: false,
          });
          const user = resp.username.replace(/'/g, "\\'").slice(0, 64);
          fail(seq, 1045, '28000', `Access denied for user '${user}'@'${info.src_ip}' (using password: ${authResponse.length > 0 ? 'YES' : 'NO'})`);
        };
        socket.on('data', (chunk: Buffer) => {
          for (const pkt of reader.feed(chunk)) {
            if (state === 'done') return;
            if ('error' in pkt) {
              ctx.emit({ event: 'protocol_error', ...info, message: pkt.error });
              return fail(1, 1153, '08S01', "Got a packet bigger than 'max_allowed_packet' bytes");
            }
            if (state === 'switch' && first) {
              deny(pkt.seq + 1, first, pkt.payload, NATIVE_PLUGIN);
              continue;
            }
            let resp: HandshakeResponse;
            try {
              resp = parseHandshakeResponse(pkt.payload);
            } catch (err) {
              ctx.emit({ event: 'protocol_error', ...info, message: `bad handshake: ${(err as Error).message}`, size: pkt.payload.length });
              return fail(pkt.seq + 1, 1043, '08S01', 'Bad handshake');
            }
            if (resp.sslRequest) {
              ctx.emit({ event: 'tls_request', ...info });
              return fail(pkt.seq + 1, 1043, '08S01', 'Bad handshake');
            }
            const plugin = resp.plugin ?? NATIVE_PLUGIN;
            if (plugin !== NATIVE_PLUGIN && resp.capabilities & CLIENT.PLUGIN_AUTH) {
              // ask for a mysql_native_password response, as a real server would
              first = resp;
              state = 'switch';
              safeWrite(socket, framePacket(pkt.seq + 1, buildAuthSwitch(NATIVE_PLUGIN, scramble)));
              continue;
            }
            deny(pkt.seq + 1, resp, resp.authResponse, plugin);
          }
        });
        safeWrite(socket, framePacket(0, buildHandshake({ version, connectionId: connectionId++, scramble })));
      },
      { idleMs: 30_000 },
    );
  },
};
