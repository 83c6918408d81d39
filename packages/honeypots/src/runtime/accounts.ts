/**
 * Accepted logins of a service (`users` config: `user:pass,user2:pass2`, or a
 * list of `user:pass`; the password may contain ':'). One parser for every
 * service that lets some logins in (mailboxes, SMB, LDAP binds, shells).
 */
import type { ConfigValue } from '@decnet/api';

export const MAX_ACCOUNTS = 64;

export interface Account {
  /** the name as configured (case kept) */
  user: string;
  pass: string;
}

export function parseAccounts(v: ConfigValue | undefined | unknown): Account[] {
  const items = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : [];
  const out: Account[] = [];
  for (const raw of items.slice(0, MAX_ACCOUNTS)) {
    const item = raw.trim();
    const i = item.indexOf(':');
    if (i <= 0) continue;
    out.push({ user: item.slice(0, i).trim(), pass: item.slice(i + 1) });
  }
  return out;
}

/** Accounts keyed by name: lower-cased (Windows, mail) unless `caseSensitive` (Unix shells). */
export function accountMap(v: ConfigValue | undefined | unknown, caseSensitive = false): Map<string, Account> {
  const m = new Map<string, Account>();
  for (const a of parseAccounts(v)) m.set(caseSensitive ? a.user : a.user.toLowerCase(), a);
  return m;
}
