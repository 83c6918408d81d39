/**
 * The small fake mailbox an accepted mail login sees (imap and pop3 read the
 * same one, so an intruder who tries both finds the same mail): a few days of
 * ordinary company mail for the user at the decky's domain, delivered by the
 * decky's own MTA, with the kind of content intruders look for (a VPN
 * password, a database connection string, a failed backup share). Pure data:
 * built from the persona and the login name, stable for the life of a process.
 */
import { createHash } from 'node:crypto';
import type { Persona } from '@decnet/api';

export interface MailMessage {
  uid: number;
  /** when the decky's MTA received it */
  internalDate: Date;
  flags: string[];
  from: string;
  to: string;
  subject: string;
  date: Date;
  messageId: string;
  /** the whole message, CRLF line ends */
  raw: Buffer;
  /** offset of the body in raw (after the blank line) */
  bodyOffset: number;
}

export interface Mailbox {
  user: string;
  address: string;
  uidValidity: number;
  messages: MailMessage[];
}

/** The mail domain of a decky: its DNS domain, else the domain part of its FQDN, else `localdomain` (Debian's default). */
export function mailDomain(p: Pick<Persona, 'dnsDomain' | 'fqdn'>): string {
  if (p.dnsDomain) return p.dnsDomain.toLowerCase();
  const dot = p.fqdn.indexOf('.');
  return dot > 0 ? p.fqdn.slice(dot + 1).toLowerCase() : 'localdomain';
}

const hex = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** RFC 5322 date as Postfix writes it: "Tue, 01 Dec 2026 09:14:02 +0000". */
export function rfc822Date(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

interface Draft {
  daysAgo: number;
  at: [number, number];
  from: [string, string];
  subject: string;
  body: (v: { user: string; domain: string; host: string; first: string }) => string;
  seen: boolean;
}

const DRAFTS: Draft[] = [
  {
    daysAgo: 6,
    at: [8, 12],
    from: ['IT Service Desk', 'it-support'],
    subject: 'Your new VPN access',
    seen: true,
    body: ({ first, domain, user }) =>
      `Hi ${first},\n\nyour VPN account has been set up.\n\n  Portal:    https://vpn.${domain}/\n  Username:  ${user}\n  Temporary password:  Vpn!${hex(user + domain, 6)}\n\nPlease change the password at your first login. The client can be downloaded\nfrom the portal after you sign in.\n\nRegards,\nIT Service Desk\n`,
  },
  {
    daysAgo: 4,
    at: [16, 47],
    from: ['Backup Report', 'backup'],
    subject: '[FAILED] Nightly backup of db-01',
    seen: true,
    body: ({ domain }) =>
      `Job:        nightly-db-01\nStatus:     FAILED\nTarget:     \\\\nas-01.${domain}\\backups$\\db-01\nError:      Access denied writing to target (check the svc_backup password)\nDuration:   00:00:04\n\nThis is an automated message.\n`,
  },
  {
    daysAgo: 2,
    at: [10, 3],
    from: ['Daniel Weber', 'd.weber'],
    subject: 'Re: reporting database',
    seen: false,
    body: ({ first, domain }) =>
      `Hi ${first},\n\nthe read-only account for the reporting database works again:\n\n  postgresql://report_ro:R3port-2026@db-01.${domain}:5432/reporting\n\nDon't share it outside the team, it still has access to the customer tables.\n\nDaniel\n\n> Can you send me the connection details again? The old ones stopped working.\n`,
  },
  {
    daysAgo: 0,
    at: [7, 58],
    from: ['HR Department', 'hr'],
    subject: 'Updated payroll calendar',
    seen: false,
    body: ({ first }) =>
      `Dear ${first},\n\nplease find the updated payroll calendar for next year on the HR share.\nSalary statements will be available on the portal from the 25th.\n\nKind regards,\nHR Department\n`,
  },
];

/** The mailbox of `user` on this decky. `now` fixes the clock (tests); messages are dated some days back from it. */
export function mailboxFor(persona: Pick<Persona, 'hostname' | 'dnsDomain' | 'fqdn'>, user: string, now: Date = new Date()): Mailbox {
  const domain = mailDomain(persona);
  const local = user.includes('@') ? user.slice(0, user.indexOf('@')) : user;
  const address = user.includes('@') ? user.toLowerCase() : `${user.toLowerCase()}@${domain}`;
  const first = (local.split(/[._-]/)[0] ?? local).replace(/^./, (c) => c.toUpperCase()) || 'there';
  const host = persona.hostname.toLowerCase();
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const messages: MailMessage[] = [];
  DRAFTS.forEach((d, i) => {
    let sent = new Date(today - d.daysAgo * 86400_000 + (d.at[0] * 60 + d.at[1]) * 60_000 + (parseInt(hex(user + i, 2), 16) % 60) * 1000);
    if (sent.getTime() > now.getTime()) sent = new Date(now.getTime() - 3600_000 * (i + 1));
    const received = new Date(sent.getTime() + 2000);
    const from = `${d.from[0]} <${d.from[1]}@${domain}>`;
    const queue = hex(`${host}${user}${i}q`, 10).toUpperCase();
    const messageId = `<${rfc822DateId(sent)}.${hex(`${user}${i}m`, 8)}@${domain}>`;
    const headers = [
      `Return-Path: <${d.from[1]}@${domain}>`,
      `Delivered-To: ${address}`,
      `Received: by ${host}.${domain} (Postfix, from userid 0)`,
      `\tid ${queue}; ${rfc822Date(received)}`,
      `Message-ID: ${messageId}`,
      `Date: ${rfc822Date(sent)}`,
      `From: ${from}`,
      `To: ${address}`,
      `Subject: ${d.subject}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      'Content-Transfer-Encoding: 7bit',
    ].join('\r\n');
    const body = d.body({ user: local, domain, host, first }).replace(/\n/g, '\r\n');
    const head = `${headers}\r\n\r\n`;
    messages.push({
      uid: i + 1,
      internalDate: received,
      flags: d.seen ? ['\\Seen'] : [],
      from,
      to: address,
      subject: d.subject,
      date: sent,
      messageId,
      raw: Buffer.from(head + body, 'utf8'),
      bodyOffset: Buffer.byteLength(head),
    });
  });
  return { user, address, uidValidity: 1700000000 + (parseInt(hex(host + address, 6), 16) % 5_000_000), messages };
}

function rfc822DateId(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}
