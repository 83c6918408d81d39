/**
 * POP3 (RFC 1939 + CAPA/SASL) session state machine, pure: one line in,
 * replies and events out. It never authenticates anybody: USER/PASS, APOP and
 * AUTH PLAIN/LOGIN are captured and refused like a Dovecot with a bad password.
 */
import { secretFields } from '@decnet/api';
import type { EmitFields } from '../../runtime/types.js';

export interface Pop3Output {
  replies: string[];
  events: EmitFields[];
  close: boolean;
}

const AUTH_FAILED = '-ERR [AUTH] Authentication failed.';
const UNKNOWN = '-ERR Unknown command.';
const MAX_BAD = 20;
const CAPA = ['+OK', 'CAPA', 'TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'USER', 'SASL PLAIN LOGIN', '.'].join('\r\n');

type Pending = { mech: 'PLAIN' } | { mech: 'LOGIN'; user?: string } | undefined;

const printable = (s: string, max = 256) => secretFields(s.slice(0, max)).secret;

export class Pop3Session {
  private user: string | undefined;
  private pending: Pending;
  private bad = 0;
  closed = false;

  constructor(readonly banner: string) {}

  greeting(): string {
    return `+OK ${this.banner}`;
  }

  onLine(raw: Buffer): Pop3Output {
    const out: Pop3Output = { replies: [], events: [], close: false };
    if (this.closed) return out;
    const line = raw.toString('utf8');
    if (this.pending) {
      this.continueSasl(line.trim(), out);
      return out;
    }
    const sp = line.indexOf(' ');
    const cmd = (sp < 0 ? line : line.slice(0, sp)).trim().toUpperCase().slice(0, 16);
    const arg = sp < 0 ? '' : line.slice(sp + 1);
    if (cmd === '') return this.badCommand(out, '', '-ERR Unknown command.');
    const shown = cmd === 'PASS' ? '<redacted>' : cmd === 'AUTH' ? arg.split(' ')[0] ?? '' : arg;
    out.events.push({ event: 'command', command: printable(cmd, 16), args: printable(shown) });
    switch (cmd) {
      case 'CAPA':
        out.replies.push(CAPA);
        break;
      case 'USER':
        if (arg.trim() === '') return this.badCommand(out, cmd, '-ERR USER: Missing username argument.');
        this.user = arg.trim().slice(0, 256);
        out.replies.push('+OK');
        break;
      case 'PASS':
        if (this.user === undefined) return this.badCommand(out, cmd, '-ERR No username given.');
        this.fail(out, this.user, Buffer.from(arg, 'utf8'), 'plaintext', 'USER/PASS');
        this.user = undefined;
        break;
      case 'APOP': {
        const [name = '', digest = ''] = arg.trim().split(/\s+/);
        this.fail(out, name.slice(0, 256), Buffer.from(digest.slice(0, 128), 'utf8'), 'apop', 'APOP');
        break;
      }
      case 'AUTH':
        this.auth(arg.trim(), out);
        break;
      case 'STLS':
        out.replies.push('-ERR TLS support isn\'t enabled.');
        break;
      case 'NOOP':
        out.replies.push(UNKNOWN);
        break;
      case 'QUIT':
        out.replies.push('+OK Logging out.');
        out.close = true;
        this.closed = true;
        break;
      default:
        return this.badCommand(out, cmd, UNKNOWN);
    }
    return out;
  }

  private badCommand(out: Pop3Output, _cmd: string, reply: string): Pop3Output {
    this.bad++;
    if (this.bad >= MAX_BAD) {
      out.replies.push('-ERR Too many invalid commands.');
      out.close = true;
      this.closed = true;
    } else out.replies.push(reply);
    return out;
  }

  private fail(out: Pop3Output, principal: string, secret: Buffer, kind: string, method: string): void {
    out.events.push({ event: 'auth_attempt', principal, secret_kind: kind, ...secretFields(secret.subarray(0, 1024)), auth_method: method, success: false });
    out.replies.push(AUTH_FAILED);
    this.bad++;
    if (this.bad >= MAX_BAD) {
      out.replies.push('-ERR Too many invalid commands.');
      out.close = true;
      this.closed = true;
    }
  }

  private auth(arg: string, out: Pop3Output): void {
    if (arg === '') {
      out.replies.push('+OK\r\nPLAIN\r\nLOGIN\r\n.');
      return;
    }
    const [mechRaw = '', initial] = arg.split(/\s+/);
    const mech = mechRaw.toUpperCase();
    if (mech === 'PLAIN') {
      if (initial !== undefined && initial !== '=') return this.saslPlain(initial, out);
      this.pending = { mech: 'PLAIN' };
      out.replies.push('+ ');
    } else if (mech === 'LOGIN') {
      if (initial !== undefined) {
        this.pending = { mech: 'LOGIN', user: b64(initial).toString('utf8') };
        out.replies.push(`+ ${Buffer.from('Password:').toString('base64')}`);
      } else {
        this.pending = { mech: 'LOGIN' };
        out.replies.push(`+ ${Buffer.from('Username:').toString('base64')}`);
      }
    } else out.replies.push('-ERR Unsupported authentication mechanism.');
  }

  private continueSasl(line: string, out: Pop3Output): void {
    const p = this.pending!;
    if (line === '*') {
      this.pending = undefined;
      out.replies.push('-ERR Authentication aborted by client.');
      return;
    }
    if (p.mech === 'PLAIN') {
      this.pending = undefined;
      this.saslPlain(line, out);
    } else if (p.user === undefined) {
      this.pending = { mech: 'LOGIN', user: b64(line).toString('utf8') };
      out.replies.push(`+ ${Buffer.from('Password:').toString('base64')}`);
    } else {
      this.pending = undefined;
      this.fail(out, p.user.slice(0, 256), b64(line), 'plaintext', 'SASL LOGIN');
    }
  }

  private saslPlain(data: string, out: Pop3Output): void {
    const parts = b64(data).toString('binary').split('\0');
    if (parts.length !== 3) {
      out.replies.push('-ERR Invalid base64 data in continued response');
      return;
    }
    const user = Buffer.from(parts[1]!, 'binary').toString('utf8').slice(0, 256);
    this.fail(out, user, Buffer.from(parts[2]!, 'binary'), 'plaintext', 'SASL PLAIN');
  }
}

function b64(s: string): Buffer {
  return Buffer.from(s.slice(0, 4096), 'base64');
}
