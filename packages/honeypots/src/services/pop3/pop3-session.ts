/**
 * POP3 (RFC 1939 + CAPA/SASL/STLS) session as Dovecot 2.3 speaks it, pure:
 * one line in, replies and events out. USER/PASS, APOP and AUTH PLAIN/LOGIN
 * are captured; the accounts of the `users` config get the decky's fake
 * maildrop (protocols/mailbox.ts, the same mail imap shows), everything else
 * is refused like a Dovecot with a bad password. DELE marks for the session
 * only: nothing is kept.
 */
import { secretFields, type Persona } from '@decnet/api';
import type { Account } from '../../runtime/accounts.js';
import type { EmitFields } from '../../runtime/types.js';
import { mailboxFor, type MailMessage } from '../../protocols/mailbox.js';

export interface Pop3Output {
  replies: string[];
  events: EmitFields[];
  close: boolean;
  /** the shell upgrades the connection after writing the replies */
  starttls?: boolean;
  /** Dovecot's auth_failure_delay: answer a failed login this much later */
  delayMs?: number;
}

export interface Pop3SessionOptions {
  /** the connection runs TLS (995, or after STLS) */
  tls?: boolean;
  /** STLS can be offered */
  starttls?: boolean;
  accounts?: Map<string, Account>;
  persona?: Pick<Persona, 'hostname' | 'dnsDomain' | 'fqdn'>;
  now?: () => Date;
  authFailureDelayMs?: number;
}

const AUTH_FAILED = '-ERR [AUTH] Authentication failed.';
const UNKNOWN = '-ERR Unknown command.';
const MAX_BAD = 20;

type Pending = { mech: 'PLAIN' } | { mech: 'LOGIN'; user?: string } | undefined;

const printable = (s: string, max = 256) => secretFields(s.slice(0, max)).secret;

export class Pop3Session {
  private user: string | undefined;
  private pending: Pending;
  private bad = 0;
  private tls: boolean;
  private maildrop: MailMessage[] | undefined;
  private uidValidity = 0;
  private deleted = new Set<number>();
  private login = '';
  closed = false;

  constructor(
    readonly banner: string,
    private readonly o: Pop3SessionOptions = {},
  ) {
    this.tls = o.tls ?? false;
  }

  greeting(): string {
    return `+OK ${this.banner}`;
  }

  secured(): void {
    this.tls = true;
  }

  private capa(): string {
    const base = ['+OK', 'CAPA', 'TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE'];
    if (this.maildrop) return [...base, '.'].join('\r\n');
    return [...base, ...(this.o.starttls && !this.tls ? ['STLS'] : []), 'USER', 'SASL PLAIN LOGIN', '.'].join('\r\n');
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
    if (cmd === '') return this.badCommand(out, UNKNOWN);
    const shown = cmd === 'PASS' ? '<redacted>' : cmd === 'AUTH' ? arg.split(' ')[0] ?? '' : arg;
    out.events.push({ event: 'command', command: printable(cmd, 16), args: printable(shown) });
    if (this.maildrop) return this.transaction(cmd, arg.trim(), out);
    switch (cmd) {
      case 'CAPA':
        out.replies.push(this.capa());
        break;
      case 'USER':
        if (arg.trim() === '') return this.badCommand(out, '-ERR USER: Missing username argument.');
        this.user = arg.trim().slice(0, 256);
        out.replies.push('+OK');
        break;
      case 'PASS':
        if (this.user === undefined) return this.badCommand(out, '-ERR No username given.');
        this.tryLogin(out, this.user, Buffer.from(arg, 'utf8'), 'USER/PASS');
        this.user = undefined;
        break;
      case 'APOP': {
        const [name = '', digest = ''] = arg.trim().split(/\s+/);
        // APOP needs a timestamp in the greeting, which Dovecot only sends with the APOP mechanism on
        out.events.push({ event: 'auth_attempt', principal: name.slice(0, 256), secret_kind: 'plaintext', ...secretFields(digest.slice(0, 128)), auth_method: 'APOP', tls: this.tls, success: false });
        return this.badCommand(out, UNKNOWN);
      }
      case 'AUTH':
        this.auth(arg.trim(), out);
        break;
      case 'STLS':
        if (this.tls) out.replies.push('-ERR [IN-USE] TLS is already active.');
        else if (!this.o.starttls) out.replies.push("-ERR TLS support isn't enabled.");
        else {
          out.replies.push('+OK Begin TLS negotiation now.');
          out.starttls = true;
        }
        break;
      case 'QUIT':
        out.replies.push('+OK Logging out.');
        out.close = true;
        this.closed = true;
        break;
      default:
        return this.badCommand(out, UNKNOWN);
    }
    return out;
  }

  private transaction(cmd: string, arg: string, out: Pop3Output): Pop3Output {
    const msgs = this.maildrop!;
    const live = () => msgs.map((m, i) => ({ m, n: i + 1 })).filter(({ n }) => !this.deleted.has(n));
    const pick = (): { m: MailMessage; n: number } | undefined => {
      const n = /^\d{1,9}$/.test(arg.split(' ')[0] ?? '') ? Number(arg.split(' ')[0]) : NaN;
      if (!Number.isFinite(n)) {
        out.replies.push(`-ERR Invalid message number: ${printable(arg.split(' ')[0] ?? '', 32)}`);
        return undefined;
      }
      if (n < 1 || n > msgs.length || this.deleted.has(n)) {
        out.replies.push(n >= 1 && n <= msgs.length ? '-ERR Message is deleted.' : `-ERR There's no message ${n}.`);
        return undefined;
      }
      return { m: msgs[n - 1]!, n };
    };
    const uidl = (m: MailMessage) => `${m.uid.toString(16).toUpperCase().padStart(8, '0')}${this.uidValidity.toString(16).toUpperCase().padStart(8, '0')}`;
    switch (cmd) {
      case 'CAPA':
        out.replies.push(this.capa());
        break;
      case 'STAT': {
        const l = live();
        out.replies.push(`+OK ${l.length} ${l.reduce((s, x) => s + x.m.raw.length, 0)}`);
        break;
      }
      case 'LIST':
      case 'UIDL': {
        const fmt = (x: { m: MailMessage; n: number }) => `${x.n} ${cmd === 'LIST' ? x.m.raw.length : uidl(x.m)}`;
        if (arg !== '') {
          const x = pick();
          if (x) out.replies.push(`+OK ${fmt(x)}`);
          break;
        }
        const l = live();
        out.replies.push([cmd === 'LIST' ? `+OK ${l.length} messages:` : '+OK', ...l.map(fmt), '.'].join('\r\n'));
        break;
      }
      case 'RETR':
      case 'TOP': {
        const lines = cmd === 'TOP' ? (arg.split(/\s+/)[1] ?? '') : '';
        if (cmd === 'TOP' && !/^\d{1,9}$/.test(lines)) {
          out.replies.push('-ERR Invalid number of lines: ' + printable(lines, 32));
          break;
        }
        const x = pick();
        if (!x) break;
        let text = x.m.raw.toString('utf8');
        if (cmd === 'TOP') {
          const head = x.m.raw.subarray(0, x.m.bodyOffset).toString('utf8');
          const body = x.m.raw.subarray(x.m.bodyOffset).toString('utf8').split('\r\n').slice(0, Number(lines));
          text = head + body.join('\r\n');
        }
        const stuffed = text.replace(/\r\n$/, '').split('\r\n').map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n');
        out.replies.push(`${cmd === 'RETR' ? `+OK ${x.m.raw.length} octets` : '+OK'}\r\n${stuffed}\r\n.`);
        out.events.push({ event: 'command', command: cmd, read_uids: [x.m.uid], user: this.login });
        break;
      }
      case 'DELE': {
        const x = pick();
        if (!x) break;
        this.deleted.add(x.n);
        out.replies.push('+OK Marked to be deleted.');
        break;
      }
      case 'RSET':
        this.deleted.clear();
        out.replies.push('+OK');
        break;
      case 'NOOP':
        out.replies.push('+OK');
        break;
      case 'LAST':
        out.replies.push('+OK 0');
        break;
      case 'QUIT':
        out.replies.push(this.deleted.size > 0 ? '+OK Logging out, messages deleted.' : '+OK Logging out.');
        out.close = true;
        this.closed = true;
        break;
      default:
        return this.badCommand(out, `-ERR Unknown command: ${printable(cmd, 16)}`);
    }
    return out;
  }

  private badCommand(out: Pop3Output, reply: string): Pop3Output {
    this.bad++;
    if (this.bad >= MAX_BAD) {
      out.replies.push('-ERR Too many invalid commands.');
      out.close = true;
      this.closed = true;
    } else out.replies.push(reply);
    return out;
  }

  private tryLogin(out: Pop3Output, principal: string, secret: Buffer, method: string): void {
    const acct = this.o.accounts?.get(principal.toLowerCase());
    const ok = acct !== undefined && this.o.persona !== undefined && Buffer.from(acct.pass, 'utf8').equals(secret);
    out.events.push({ event: 'auth_attempt', principal, secret_kind: 'plaintext', ...secretFields(secret.subarray(0, 1024)), auth_method: method, tls: this.tls, success: ok });
    if (ok) {
      const box = mailboxFor(this.o.persona!, acct.user, (this.o.now ?? (() => new Date()))());
      this.maildrop = box.messages;
      this.uidValidity = box.uidValidity;
      this.login = acct.user;
      out.replies.push('+OK Logged in.');
      return;
    }
    out.replies.push(AUTH_FAILED);
    out.delayMs = this.o.authFailureDelayMs ?? 0;
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
      this.tryLogin(out, p.user.slice(0, 256), b64(line), 'SASL LOGIN');
    }
  }

  private saslPlain(data: string, out: Pop3Output): void {
    const parts = b64(data).toString('binary').split('\0');
    if (parts.length !== 3) {
      out.replies.push('-ERR Invalid base64 data in continued response');
      return;
    }
    const user = Buffer.from(parts[1]!, 'binary').toString('utf8').slice(0, 256);
    this.tryLogin(out, user, Buffer.from(parts[2]!, 'binary'), 'SASL PLAIN');
  }
}

function b64(s: string): Buffer {
  return Buffer.from(s.slice(0, 4096), 'base64');
}
