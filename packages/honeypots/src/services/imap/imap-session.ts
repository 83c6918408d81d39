/**
 * IMAP4rev1 session as Dovecot 2.3 speaks it, pure: one assembled command in,
 * replies and events out. Logins are captured; the accounts of the `users`
 * config get the decky's fake mailbox (protocols/mailbox.ts), read-only in
 * effect: flags and expunges live in the session, APPEND and mailbox changes
 * are recorded and acknowledged, nothing is kept.
 */
import { secretFields, type Persona } from '@decnet/api';
import type { Account } from '../../runtime/accounts.js';
import type { EmitFields } from '../../runtime/types.js';
import { mailboxFor, rfc822Date, type Mailbox, type MailMessage } from '../../protocols/mailbox.js';
import { asString, ParseError, parseSequenceSet, tokenize, type Segment, type Token } from './imap-reader.js';

export interface ImapOutput {
  replies: Array<string | Buffer>;
  events: EmitFields[];
  close: boolean;
  /** the shell upgrades the connection after writing the replies */
  starttls: boolean;
  /** Dovecot's auth_failure_delay: answer a failed login this much later */
  delayMs: number;
}

export interface ImapSessionOptions {
  banner: string;
  /** the connection runs TLS (993, or after STARTTLS) */
  tls: boolean;
  /** STARTTLS can be offered (the shell has a certificate and the connection is plain) */
  starttls: boolean;
  accounts: Map<string, Account>;
  persona: Pick<Persona, 'hostname' | 'dnsDomain' | 'fqdn'>;
  now?: () => Date;
  authFailureDelayMs?: number;
}

const PRE_CAPS = 'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+';
const POST_CAPS =
  'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE';
const FLAGS = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';
const MAX_BAD = 10;
const FOLDERS: Array<[string, string]> = [
  ['INBOX', '\\HasNoChildren'],
  ['Drafts', '\\HasNoChildren \\Drafts'],
  ['Sent', '\\HasNoChildren \\Sent'],
  ['Trash', '\\HasNoChildren \\Trash'],
  ['Junk', '\\HasNoChildren \\Junk'],
];

type Pending = { tag: string; mech: 'PLAIN' } | { tag: string; mech: 'LOGIN'; user?: string } | { tag: string; idle: true; started: number };

const shown = (s: string, max = 256) => secretFields(s.slice(0, max)).secret;
const quote = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
const nstring = (s: string | undefined) => (s === undefined || s === '' ? 'NIL' : quote(s));

export class ImapSession {
  private state: 'nonauth' | 'auth' | 'selected' | 'logout' = 'nonauth';
  private user = '';
  private mailbox: Mailbox | undefined;
  private messages: MailMessage[] = [];
  private selectedName = '';
  private readOnly = false;
  private pending: Pending | undefined;
  private bad = 0;
  private tls: boolean;
  private readonly now: () => Date;

  constructor(private readonly o: ImapSessionOptions) {
    this.tls = o.tls;
    this.now = o.now ?? (() => new Date());
  }

  /** lines are SASL responses or IDLE's DONE, not commands */
  get rawLines(): boolean {
    return this.pending !== undefined;
  }

  get closed(): boolean {
    return this.state === 'logout';
  }

  /** the connection is now TLS (after the STARTTLS handshake) */
  secured(): void {
    this.tls = true;
  }

  private caps(): string {
    if (this.state === 'auth' || this.state === 'selected') return POST_CAPS;
    return `${PRE_CAPS}${this.o.starttls && !this.tls ? ' STARTTLS' : ''} AUTH=PLAIN AUTH=LOGIN`;
  }

  greeting(): string {
    return `* OK [CAPABILITY ${this.caps()}] ${this.o.banner}`;
  }

  private timing(): string {
    return `(0.00${1 + Math.floor(Math.random() * 3)} + 0.000 secs).`;
  }

  onCommand(segments: Segment[]): ImapOutput {
    const out: ImapOutput = { replies: [], events: [], close: false, starttls: false, delayMs: 0 };
    if (this.state === 'logout') return out;
    if (this.pending) {
      const line = segments.map((s) => ('text' in s ? s.text : s.literal.toString('latin1'))).join('');
      this.continuePending(line.trim(), out);
      return out;
    }
    let tokens: Token[];
    try {
      tokens = tokenize(segments);
    } catch (err) {
      const tag = /^(\S{1,64})/.exec('text' in segments[0]! ? segments[0].text : '')?.[1] ?? '*';
      out.events.push({ event: 'protocol_error', message: `imap: ${err instanceof ParseError ? err.message : 'bad command'}` });
      return this.badCommand(out, tag, 'Error in IMAP command received by server.');
    }
    const tag = 'atom' in (tokens[0] ?? {}) ? (tokens[0] as { atom: string }).atom.slice(0, 64) : '';
    if (tag === '' || !/^[\x21-\x7e]+$/.test(tag) || tag.includes('+')) {
      return this.badCommand(out, '*', 'Error in IMAP command received by server.');
    }
    let name = (asString(tokens[1]) ?? '').toUpperCase().slice(0, 32);
    let args = tokens.slice(2);
    let uid = false;
    if (name === 'UID') {
      uid = true;
      name = (asString(args[0]) ?? '').toUpperCase().slice(0, 32);
      args = args.slice(1);
    }
    out.events.push({ event: 'command', command: uid ? `UID ${name}` : name, tag: shown(tag, 64), args: this.describeArgs(name, args) });
    if (name === '') return this.badCommand(out, tag, 'Error in IMAP command received by server.');
    const fn = this.handlers[name];
    if (!fn) return this.badCommand(out, tag, this.state === 'nonauth' ? 'Error in IMAP command received by server.' : `Error in IMAP command ${name}: Unknown command ${this.timing()}`);
    fn.call(this, tag, args, out, uid);
    return out;
  }

  private describeArgs(name: string, args: Token[]): string {
    if (name === 'LOGIN') return shown(asString(args[0]) ?? '');
    if (name === 'AUTHENTICATE') return shown(asString(args[0]) ?? '');
    const render = (t: Token): string => ('atom' in t ? t.atom : 'str' in t ? quote(t.str.toString('utf8', 0, 256)) : 'nil' in t ? 'NIL' : `(${t.list.map(render).join(' ')})`);
    return shown(args.map(render).join(' '), 512);
  }

  private badCommand(out: ImapOutput, tag: string, text: string): ImapOutput {
    this.bad++;
    if (this.bad >= MAX_BAD) {
      out.replies.push('* BYE Too many invalid IMAP commands.');
      out.close = true;
      this.state = 'logout';
    } else out.replies.push(`${tag} BAD ${text}`);
    return out;
  }

  private requireAuth(tag: string, out: ImapOutput): boolean {
    if (this.state === 'auth' || this.state === 'selected') return true;
    this.badCommand(out, tag, 'Error in IMAP command received by server.');
    return false;
  }

  private requireSelected(tag: string, name: string, out: ImapOutput): boolean {
    if (!this.requireAuth(tag, out)) return false;
    if (this.state === 'selected') return true;
    this.badCommand(out, tag, `Error in IMAP command ${name}: No mailbox selected ${this.timing()}`);
    return false;
  }

  private readonly handlers: Record<string, (this: ImapSession, tag: string, args: Token[], out: ImapOutput, uid: boolean) => void> = {
    CAPABILITY(tag, _a, out) {
      out.replies.push(`* CAPABILITY ${this.caps()}`);
      out.replies.push(this.state === 'nonauth' ? `${tag} OK Pre-login capabilities listed, post-login capabilities have more.` : `${tag} OK Capability completed ${this.timing()}`);
    },
    NOOP(tag, _a, out) {
      out.replies.push(this.state === 'nonauth' ? `${tag} OK NOOP completed.` : `${tag} OK NOOP completed ${this.timing()}`);
    },
    ID(tag, args, out) {
      const fields = args[0] && 'list' in args[0] ? args[0].list.map((t) => asString(t) ?? 'NIL') : [];
      if (fields.length > 0) out.events.push({ event: 'command', command: 'ID', client_id: shown(fields.join(' '), 512) });
      out.replies.push('* ID ("name" "Dovecot")');
      out.replies.push(`${tag} OK ID completed${this.state === 'nonauth' ? '.' : ` ${this.timing()}`}`);
    },
    LOGOUT(tag, _a, out) {
      out.replies.push('* BYE Logging out');
      out.replies.push(this.state === 'nonauth' ? `${tag} OK Logout completed.` : `${tag} OK Logout completed ${this.timing()}`);
      out.close = true;
      this.state = 'logout';
    },
    STARTTLS(tag, _a, out) {
      if (this.state !== 'nonauth') return void this.badCommand(out, tag, 'Error in IMAP command received by server.');
      if (this.tls) return void out.replies.push(`${tag} BAD TLS is already active.`);
      if (!this.o.starttls) return void out.replies.push(`${tag} BAD TLS support isn't enabled.`);
      out.replies.push(`${tag} OK Begin TLS negotiation now.`);
      out.starttls = true;
    },
    LOGIN(tag, args, out) {
      if (this.state !== 'nonauth') return void this.badCommand(out, tag, 'Error in IMAP command received by server.');
      const user = asString(args[0]);
      const pass = args[1] && 'str' in args[1] ? args[1].str : args[1] && 'atom' in args[1] ? Buffer.from(args[1].atom, 'utf8') : undefined;
      if (user === undefined || pass === undefined) return void this.badCommand(out, tag, 'Error in IMAP command LOGIN: Missing arguments.');
      this.tryLogin(tag, user, pass, 'LOGIN', out);
    },
    AUTHENTICATE(tag, args, out) {
      if (this.state !== 'nonauth') return void this.badCommand(out, tag, 'Error in IMAP command received by server.');
      const mech = (asString(args[0]) ?? '').toUpperCase();
      const initial = asString(args[1]);
      if (mech === 'PLAIN') {
        if (initial !== undefined && initial !== '=') return void this.saslPlain(tag, initial, out);
        this.pending = { tag, mech: 'PLAIN' };
        out.replies.push('+ ');
      } else if (mech === 'LOGIN') {
        if (initial !== undefined && initial !== '=') {
          this.pending = { tag, mech: 'LOGIN', user: b64(initial).toString('utf8') };
          out.replies.push(`+ ${Buffer.from('Password:').toString('base64')}`);
        } else {
          this.pending = { tag, mech: 'LOGIN' };
          out.replies.push(`+ ${Buffer.from('Username:').toString('base64')}`);
        }
      } else out.replies.push(`${tag} NO Unsupported authentication mechanism.`);
    },
    ENABLE(tag, args, out) {
      if (!this.requireAuth(tag, out)) return;
      const known = new Set(['CONDSTORE', 'QRESYNC', 'UTF8=ACCEPT']);
      const on = args.map((t) => (asString(t) ?? '').toUpperCase()).filter((x) => known.has(x));
      out.replies.push(`* ENABLED${on.map((x) => ` ${x}`).join('')}`);
      out.replies.push(`${tag} OK Enabled ${this.timing()}`);
    },
    NAMESPACE(tag, _a, out) {
      if (!this.requireAuth(tag, out)) return;
      out.replies.push('* NAMESPACE (("" ".")) NIL NIL');
      out.replies.push(`${tag} OK Namespace completed ${this.timing()}`);
    },
    LIST(tag, args, out) {
      if (!this.requireAuth(tag, out)) return;
      this.list(tag, args, out, 'LIST');
    },
    LSUB(tag, args, out) {
      if (!this.requireAuth(tag, out)) return;
      this.list(tag, args, out, 'LSUB');
    },
    STATUS(tag, args, out) {
      if (!this.requireAuth(tag, out)) return;
      const name = this.folder(asString(args[0]));
      if (!name) return void out.replies.push(`${tag} NO Mailbox doesn't exist: ${shown(asString(args[0]) ?? '', 100)} ${this.timing()}`);
      const items = args[1] && 'list' in args[1] ? args[1].list.map((t) => (asString(t) ?? '').toUpperCase()) : [];
      const msgs = name === 'INBOX' ? this.inbox() : [];
      const vals: string[] = [];
      for (const it of items) {
        if (it === 'MESSAGES') vals.push(`MESSAGES ${msgs.length}`);
        else if (it === 'RECENT') vals.push('RECENT 0');
        else if (it === 'UNSEEN') vals.push(`UNSEEN ${msgs.filter((m) => !m.flags.includes('\\Seen')).length}`);
        else if (it === 'UIDNEXT') vals.push(`UIDNEXT ${(msgs.at(-1)?.uid ?? 0) + 1}`);
        else if (it === 'UIDVALIDITY') vals.push(`UIDVALIDITY ${this.mailbox!.uidValidity + (name === 'INBOX' ? 0 : name.length)}`);
        else if (it === 'SIZE') vals.push(`SIZE ${msgs.reduce((s, m) => s + m.raw.length, 0)}`);
      }
      out.replies.push(`* STATUS ${name} (${vals.join(' ')})`);
      out.replies.push(`${tag} OK Status completed ${this.timing()}`);
    },
    SELECT(tag, args, out) {
      if (!this.requireAuth(tag, out)) return;
      this.select(tag, args, out, false);
    },
    EXAMINE(tag, args, out) {
      if (!this.requireAuth(tag, out)) return;
      this.select(tag, args, out, true);
    },
    CREATE(tag, args, out) {
      if (!this.requireAuth(tag, out)) return;
      out.replies.push(this.folder(asString(args[0])) ? `${tag} NO [ALREADYEXISTS] Mailbox already exists ${this.timing()}` : `${tag} OK Create completed ${this.timing()}`);
    },
    DELETE(tag, args, out) {
      if (!this.requireAuth(tag, out)) return;
      const name = this.folder(asString(args[0]));
      out.replies.push(name === 'INBOX' ? `${tag} NO INBOX can't be deleted. ${this.timing()}` : name ? `${tag} OK Delete completed ${this.timing()}` : `${tag} NO Mailbox doesn't exist: ${shown(asString(args[0]) ?? '', 100)} ${this.timing()}`);
    },
    RENAME(tag, _a, out) {
      if (!this.requireAuth(tag, out)) return;
      out.replies.push(`${tag} OK Rename completed ${this.timing()}`);
    },
    SUBSCRIBE(tag, _a, out) {
      if (!this.requireAuth(tag, out)) return;
      out.replies.push(`${tag} OK Subscribe completed ${this.timing()}`);
    },
    UNSUBSCRIBE(tag, _a, out) {
      if (!this.requireAuth(tag, out)) return;
      out.replies.push(`${tag} OK Unsubscribe completed ${this.timing()}`);
    },
    APPEND(tag, args, out) {
      if (!this.requireAuth(tag, out)) return;
      const msg = args.at(-1);
      const size = msg && 'str' in msg ? msg.str.length : 0;
      const head = msg && 'str' in msg ? msg.str.toString('utf8', 0, 2048) : '';
      out.events.push({
        event: 'upload_attempt',
        protocol: 'imap',
        mailbox: shown(asString(args[0]) ?? '', 100),
        size,
        subject: /^subject:[ \t]*(.*)$/im.exec(head.split(/\r?\n\r?\n/)[0] ?? '')?.[1]?.slice(0, 256),
      });
      out.replies.push(`${tag} OK [APPENDUID ${this.mailbox!.uidValidity} ${(this.mailbox!.messages.at(-1)?.uid ?? 0) + 1}] Append completed ${this.timing()}`);
    },
    IDLE(tag, _a, out) {
      if (!this.requireAuth(tag, out)) return;
      this.pending = { tag, idle: true, started: Date.now() };
      out.replies.push('+ idling');
    },
    CHECK(tag, _a, out) {
      if (!this.requireSelected(tag, 'CHECK', out)) return;
      out.replies.push(`${tag} OK Check completed ${this.timing()}`);
    },
    CLOSE(tag, _a, out) {
      if (!this.requireSelected(tag, 'CLOSE', out)) return;
      this.state = 'auth';
      out.replies.push(`${tag} OK Close completed ${this.timing()}`);
    },
    UNSELECT(tag, _a, out) {
      if (!this.requireSelected(tag, 'UNSELECT', out)) return;
      this.state = 'auth';
      out.replies.push(`${tag} OK Unselect completed ${this.timing()}`);
    },
    EXPUNGE(tag, _a, out) {
      if (!this.requireSelected(tag, 'EXPUNGE', out)) return;
      if (!this.readOnly) {
        for (let i = this.messages.length - 1; i >= 0; i--) {
          if (this.messages[i]!.flags.includes('\\Deleted')) {
            out.replies.push(`* ${i + 1} EXPUNGE`);
            this.messages.splice(i, 1);
          }
        }
      }
      out.replies.push(`${tag} OK Expunge completed ${this.timing()}`);
    },
    SEARCH(tag, args, out, uid) {
      if (!this.requireSelected(tag, 'SEARCH', out)) return;
      const crit = args.map((t) => (asString(t) ?? '').toUpperCase());
      const hits = this.messages
        .map((m, i) => ({ m, n: i + 1 }))
        .filter(({ m }) => (crit.includes('UNSEEN') ? !m.flags.includes('\\Seen') : crit.includes('SEEN') ? m.flags.includes('\\Seen') : true))
        .map(({ m, n }) => (uid ? m.uid : n));
      out.replies.push(`* SEARCH${hits.map((h) => ` ${h}`).join('')}`);
      out.replies.push(`${tag} OK Search completed ${this.timing()}`);
    },
    FETCH(tag, args, out, uid) {
      if (!this.requireSelected(tag, 'FETCH', out)) return;
      this.fetch(tag, args, out, uid);
    },
    STORE(tag, args, out, uid) {
      if (!this.requireSelected(tag, 'STORE', out)) return;
      const picked = this.pick(asString(args[0]) ?? '', uid);
      const op = (asString(args[1]) ?? '').toUpperCase();
      const flags = args[2] && 'list' in args[2] ? args[2].list.map((t) => asString(t) ?? '') : args.slice(2).map((t) => asString(t) ?? '');
      if (!picked || !/^[+-]?FLAGS(\.SILENT)?$/.test(op)) return void this.badCommand(out, tag, `Error in IMAP command STORE: Invalid arguments. ${this.timing()}`);
      for (const { m, n } of picked) {
        if (this.readOnly) break;
        const known = flags.filter((f) => FLAGS.split(' ').includes(f));
        if (op.startsWith('+')) m.flags = [...new Set([...m.flags, ...known])];
        else if (op.startsWith('-')) m.flags = m.flags.filter((f) => !known.includes(f));
        else m.flags = known;
        if (!op.endsWith('.SILENT')) out.replies.push(`* ${n} FETCH (${uid ? `UID ${m.uid} ` : ''}FLAGS (${m.flags.join(' ')}))`);
      }
      out.replies.push(this.readOnly ? `${tag} NO Mailbox is read-only. ${this.timing()}` : `${tag} OK Store completed ${this.timing()}`);
    },
    COPY(tag, _a, out) {
      if (!this.requireSelected(tag, 'COPY', out)) return;
      out.replies.push(`${tag} OK Copy completed ${this.timing()}`);
    },
    MOVE(tag, _a, out) {
      if (!this.requireSelected(tag, 'MOVE', out)) return;
      out.replies.push(`${tag} OK Move completed ${this.timing()}`);
    },
  };

  private tryLogin(tag: string, user: string, pass: Buffer, method: string, out: ImapOutput): void {
    const principal = user.slice(0, 256);
    const acct = this.o.accounts.get(principal.toLowerCase());
    const ok = acct !== undefined && Buffer.from(acct.pass, 'utf8').equals(pass);
    out.events.push({ event: 'auth_attempt', principal, secret_kind: 'plaintext', ...secretFields(pass.subarray(0, 1024)), auth_method: method, tls: this.tls, success: ok });
    if (!ok) {
      out.replies.push(`${tag} NO [AUTHENTICATIONFAILED] Authentication failed.`);
      out.delayMs = this.o.authFailureDelayMs ?? 2000;
      this.bad++;
      if (this.bad >= MAX_BAD) {
        out.replies.push('* BYE Too many invalid IMAP commands.');
        out.close = true;
        this.state = 'logout';
      }
      return;
    }
    this.user = acct.user;
    this.mailbox = mailboxFor(this.o.persona, acct.user, this.now());
    this.messages = this.mailbox.messages.map((m) => ({ ...m, flags: [...m.flags] }));
    this.state = 'auth';
    out.replies.push(`${tag} OK [CAPABILITY ${POST_CAPS}] Logged in`);
  }

  private continuePending(line: string, out: ImapOutput): void {
    const p = this.pending!;
    if ('idle' in p) {
      this.pending = undefined;
      if (line.toUpperCase() === 'DONE') out.replies.push(`${p.tag} OK Idle completed (0.001 + ${((Date.now() - p.started) / 1000).toFixed(3)} + 0.001 secs).`);
      else this.badCommand(out, p.tag, 'Expected DONE.');
      return;
    }
    if (line === '*') {
      this.pending = undefined;
      out.replies.push(`${p.tag} BAD Authentication aborted by client.`);
      return;
    }
    if (p.mech === 'PLAIN') {
      this.pending = undefined;
      this.saslPlain(p.tag, line, out);
    } else if (p.user === undefined) {
      this.pending = { tag: p.tag, mech: 'LOGIN', user: b64(line).toString('utf8') };
      out.replies.push(`+ ${Buffer.from('Password:').toString('base64')}`);
    } else {
      this.pending = undefined;
      this.tryLogin(p.tag, p.user, b64(line), 'AUTHENTICATE LOGIN', out);
    }
  }

  private saslPlain(tag: string, data: string, out: ImapOutput): void {
    const parts = b64(data).toString('binary').split('\0');
    if (parts.length !== 3) {
      out.replies.push(`${tag} BAD Invalid base64 data in continued response`);
      return;
    }
    this.tryLogin(tag, Buffer.from(parts[1]!, 'binary').toString('utf8'), Buffer.from(parts[2]!, 'binary'), 'AUTHENTICATE PLAIN', out);
  }

  private inbox(): MailMessage[] {
    return this.state === 'selected' && this.selectedName === 'INBOX' ? this.messages : (this.mailbox?.messages ?? []);
  }

  private folder(name: string | undefined): string | undefined {
    if (name === undefined) return undefined;
    if (name.toUpperCase() === 'INBOX') return 'INBOX';
    return FOLDERS.find(([f]) => f === name)?.[0];
  }

  private list(tag: string, args: Token[], out: ImapOutput, cmd: 'LIST' | 'LSUB'): void {
    const ref = asString(args[0]) ?? '';
    const pattern = asString(args[1]) ?? '';
    if (pattern === '') {
      out.replies.push(`* ${cmd} (\\Noselect) "." ""`);
    } else {
      const re = new RegExp(`^${(ref + pattern).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/%/g, '[^.]*')}$`, 'i');
      for (const [name, attrs] of FOLDERS) if (re.test(name)) out.replies.push(`* ${cmd} (${attrs}) "." ${name}`);
    }
    out.replies.push(`${tag} OK ${cmd === 'LIST' ? 'List' : 'Lsub'} completed ${this.timing()}`);
  }

  private select(tag: string, args: Token[], out: ImapOutput, examine: boolean): void {
    const name = this.folder(asString(args[0]));
    if (!name) {
      if (this.state === 'selected') this.state = 'auth';
      out.replies.push(`${tag} NO Mailbox doesn't exist: ${shown(asString(args[0]) ?? '', 100)} ${this.timing()}`);
      return;
    }
    if (name !== 'INBOX') this.messages = [];
    else if (this.selectedName !== 'INBOX' || this.state !== 'selected') this.messages = this.messages.length > 0 ? this.messages : this.mailbox!.messages.map((m) => ({ ...m, flags: [...m.flags] }));
    this.selectedName = name;
    this.readOnly = examine;
    this.state = 'selected';
    const msgs = this.messages;
    const firstUnseen = msgs.findIndex((m) => !m.flags.includes('\\Seen'));
    out.replies.push(`* FLAGS (${FLAGS})`);
    out.replies.push(examine ? '* OK [PERMANENTFLAGS ()] Read-only mailbox.' : `* OK [PERMANENTFLAGS (${FLAGS} \\*)] Flags permitted.`);
    out.replies.push(`* ${msgs.length} EXISTS`);
    out.replies.push('* 0 RECENT');
    if (firstUnseen >= 0) out.replies.push(`* OK [UNSEEN ${firstUnseen + 1}] First unseen.`);
    out.replies.push(`* OK [UIDVALIDITY ${this.mailbox!.uidValidity + (name === 'INBOX' ? 0 : name.length)}] UIDs valid`);
    out.replies.push(`* OK [UIDNEXT ${(msgs.at(-1)?.uid ?? 0) + 1}] Predicted next UID`);
    out.replies.push(`* OK [HIGHESTMODSEQ ${msgs.length + 2}] Highest`);
    out.replies.push(`${tag} OK [${examine ? 'READ-ONLY' : 'READ-WRITE'}] ${examine ? 'Examine' : 'Select'} completed ${this.timing()}`);
  }

  private pick(set: string, uid: boolean): Array<{ m: MailMessage; n: number }> | undefined {
    if (uid) {
      const max = this.messages.at(-1)?.uid ?? 0;
      const uids = parseSequenceSet(set, Math.max(max, 1));
      if (!uids) return undefined;
      const want = new Set(uids);
      return this.messages.map((m, i) => ({ m, n: i + 1 })).filter(({ m }) => want.has(m.uid));
    }
    const nums = parseSequenceSet(set, this.messages.length);
    if (!nums) return undefined;
    return nums.filter((n) => n <= this.messages.length).map((n) => ({ m: this.messages[n - 1]!, n }));
  }

  private fetch(tag: string, args: Token[], out: ImapOutput, uid: boolean): void {
    const picked = this.pick(asString(args[0]) ?? '', uid);
    const spec = args[1];
    let items: string[] = spec === undefined ? [] : 'list' in spec ? spec.list.map((t) => asString(t) ?? '') : [asString(spec) ?? ''];
    if (!picked || items.length === 0 || items.some((i) => i === '')) {
      this.badCommand(out, tag, `Error in IMAP command ${uid ? 'UID ' : ''}FETCH: Invalid arguments. ${this.timing()}`);
      return;
    }
    const macros: Record<string, string[]> = {
      ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
      FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
      FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
    };
    if (items.length === 1 && macros[items[0]!.toUpperCase()]) items = macros[items[0]!.toUpperCase()]!;
    if (uid && !items.some((i) => i.toUpperCase() === 'UID')) items = ['UID', ...items];
    const read: number[] = [];
    for (const { m, n } of picked) {
      const parts: Array<string | Buffer> = [];
      let setSeen = false;
      for (const raw of items) {
        const it = raw.toUpperCase();
        const r = this.fetchItem(m, raw, it);
        if (r === undefined) {
          this.badCommand(out, tag, `Error in IMAP command ${uid ? 'UID ' : ''}FETCH: Unknown parameter ${shown(raw, 64)} ${this.timing()}`);
          return;
        }
        parts.push(r.text);
        if (r.body) {
          read.push(m.uid);
          if (!it.includes('.PEEK') && !it.startsWith('RFC822.HEADER') && !it.startsWith('RFC822.SIZE')) setSeen = true;
        }
      }
      if (setSeen && !this.readOnly && !m.flags.includes('\\Seen')) {
        m.flags.push('\\Seen');
        if (!items.some((i) => i.toUpperCase() === 'FLAGS')) parts.push('FLAGS (\\Seen)');
      }
      out.replies.push(joinFetch(n, parts));
    }
    if (read.length > 0) out.events.push({ event: 'command', command: 'FETCH', mailbox: this.selectedName, read_uids: [...new Set(read)].slice(0, 100), user: this.user });
    out.replies.push(`${tag} OK Fetch completed ${this.timing()}`);
  }

  private fetchItem(m: MailMessage, raw: string, it: string): { text: string | Buffer; body?: boolean } | undefined {
    switch (it) {
      case 'UID':
        return { text: `UID ${m.uid}` };
      case 'FLAGS':
        return { text: `FLAGS (${m.flags.join(' ')})` };
      case 'RFC822.SIZE':
        return { text: `RFC822.SIZE ${m.raw.length}` };
      case 'INTERNALDATE':
        return { text: `INTERNALDATE "${internalDate(m.internalDate)}"` };
      case 'ENVELOPE':
        return { text: `ENVELOPE ${envelope(m)}` };
      case 'BODY':
      case 'BODYSTRUCTURE': {
        const lines = m.raw.subarray(m.bodyOffset).toString('latin1').split('\r\n').length - 1;
        const ext = it === 'BODYSTRUCTURE' ? ' NIL NIL NIL NIL' : '';
        return { text: `${it} ("text" "plain" ("charset" "UTF-8") NIL NIL "7bit" ${m.raw.length - m.bodyOffset} ${lines}${ext})` };
      }
      case 'RFC822':
        return { text: literal('RFC822', m.raw), body: true };
      case 'RFC822.HEADER':
        return { text: literal('RFC822.HEADER', m.raw.subarray(0, m.bodyOffset)), body: true };
      case 'RFC822.TEXT':
        return { text: literal('RFC822.TEXT', m.raw.subarray(m.bodyOffset)), body: true };
    }
    const sec = /^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK)\[([^\]]*)\](?:<(\d{1,9})(?:\.(\d{1,9}))?>)?$/i.exec(raw);
    if (!sec) return undefined;
    const section = sec[2]!.toUpperCase();
    let data: Buffer;
    let label = section;
    if (section === '') data = m.raw;
    else if (section === 'HEADER') data = m.raw.subarray(0, m.bodyOffset);
    else if (section === 'TEXT' || section === '1') data = m.raw.subarray(m.bodyOffset);
    else if (section.startsWith('HEADER.FIELDS')) {
      const not = section.startsWith('HEADER.FIELDS.NOT');
      const names = new Set((/\(([^)]*)\)/.exec(section)?.[1] ?? '').split(/\s+/).filter(Boolean));
      const head = m.raw.subarray(0, m.bodyOffset).toString('latin1');
      const fields = head.split(/\r\n(?![ \t])/).filter((f) => f !== '');
      const kept = fields.filter((f) => names.has(f.slice(0, f.indexOf(':')).toUpperCase()) !== not);
      data = Buffer.from(`${kept.map((f) => `${f}\r\n`).join('')}\r\n`, 'latin1');
      label = `${not ? 'HEADER.FIELDS.NOT' : 'HEADER.FIELDS'} (${[...names].join(' ')})`;
    } else return undefined;
    const name = sec[1]!.toUpperCase().replace('.PEEK', '');
    let origin = '';
    if (sec[3] !== undefined) {
      const start = Number(sec[3]);
      const len = sec[4] !== undefined ? Number(sec[4]) : data.length;
      data = data.subarray(Math.min(start, data.length), Math.min(start + len, data.length));
      origin = `<${start}>`;
    }
    return { text: literal(`${name}[${label}]${origin}`, data), body: true };
  }
}

function literal(label: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${label} {${data.length}}\r\n`, 'latin1'), data]);
}

function joinFetch(n: number, parts: Array<string | Buffer>): Buffer {
  const bufs: Buffer[] = [Buffer.from(`* ${n} FETCH (`)];
  parts.forEach((p, i) => {
    if (i > 0) bufs.push(Buffer.from(' '));
    bufs.push(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
  });
  bufs.push(Buffer.from(')'));
  return Buffer.concat(bufs);
}

function internalDate(d: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (x: number) => String(x).padStart(2, '0');
  return `${p(d.getUTCDate())}-${months[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function address(a: string): string {
  const m = /^(.*?)\s*<([^@>]+)@([^>]+)>$/.exec(a) ?? /^()([^@]+)@(.+)$/.exec(a);
  if (!m) return 'NIL';
  return `((${nstring(m[1])} NIL ${quote(m[2]!)} ${quote(m[3]!)}))`;
}

function envelope(m: MailMessage): string {
  return `(${quote(rfc822Date(m.date))} ${quote(m.subject)} ${address(m.from)} ${address(m.from)} ${address(m.from)} ${address(m.to)} NIL NIL NIL ${quote(m.messageId)})`;
}

function b64(s: string): Buffer {
  return Buffer.from(s.slice(0, 4096), 'base64');
}
