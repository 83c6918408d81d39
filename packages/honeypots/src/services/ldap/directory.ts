/**
 * A deterministic fake Active Directory domain for authenticated searches:
 * the domain object, the standard containers, built-in accounts and groups,
 * a handful of generated users (seeded from the decky name, so the same decky
 * always shows the same people), the DC itself and a few workstations, plus
 * the accounts of the `users` config (so a bind that was accepted finds
 * itself). Entries keep AD's attribute names and order.
 */
import { createHash } from 'node:crypto';
import type { Persona } from '@decnet/api';
import type { EntryAttribute } from './ldap-codec.js';
import { dcNames, generalizedTime } from './rootdse.js';

export interface DirEntry {
  dn: string;
  attrs: EntryAttribute[];
  /** lower-cased attribute name -> string values the filter evaluator compares against */
  match: Map<string, string[]>;
}

const FIRST = ['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William', 'Barbara', 'Richard', 'Susan', 'Thomas', 'Jessica', 'Daniel', 'Sarah', 'Mark', 'Karen', 'Paul', 'Nancy', 'Steven', 'Lisa'];
const LAST = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor', 'Thomas', 'Moore', 'Martin', 'Jackson', 'Thompson', 'White', 'Harris', 'Clark', 'Lewis', 'Walker', 'Hall', 'Young', 'King', 'Wright'];
const DEPARTMENTS = ['IT', 'Finance', 'HR', 'Sales'];

/** A small seeded PRNG (sha256 counter mode): deterministic per decky. */
function prng(seed: string): () => number {
  let counter = 0;
  return () => createHash('sha256').update(`${seed}:${counter++}`).digest().readUInt32BE(0) / 0x1_0000_0000;
}

/** Binary SID from "S-1-5-21-a-b-c-rid". */
export function sidBytes(sid: string): Buffer {
  const parts = sid.split('-').slice(1).map(Number);
  const [rev, auth, ...subs] = parts as [number, number, ...number[]];
  const b = Buffer.alloc(8 + subs.length * 4);
  b[0] = rev;
  b[1] = subs.length;
  b.writeUIntBE(auth, 2, 6);
  subs.forEach((s, i) => b.writeUInt32LE(s >>> 0, 8 + i * 4));
  return b;
}

/** A FILETIME (100 ns since 1601) as the decimal string AD returns. */
const filetime = (d: Date): string => String(BigInt(d.getTime()) * 10_000n + 116_444_736_000_000_000n);

/** A SID value: binary on the wire, text for filters. */
class Sid {
  constructor(readonly text: string) {}
}
type Value = string | (string | Buffer)[] | Sid | undefined;
type Fields = Record<string, Value>;

export interface DirectoryOptions {
  persona: Persona;
  config: Record<string, unknown>;
  /** seeds every generated value: the decky name */
  seed: string;
  /** accounts of the `users` config */
  accounts: string[];
  now: Date;
}

export function buildDirectory(o: DirectoryOptions): DirEntry[] {
  const n = dcNames(o.persona, o.config);
  const rnd = prng(`dir:${o.seed}`);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const domainSid = `S-1-5-21-${int(1e9, 4e9)}-${int(1e9, 4e9)}-${int(1e9, 4e9)}`;
  const created = new Date(Date.UTC(int(2017, 2021), int(0, 11), int(1, 28), int(7, 18), int(0, 59), int(0, 59)));
  const at = (days: number) => new Date(Math.min(created.getTime() + days * 86_400_000, o.now.getTime() - 3_600_000));
  const schema = (cls: string) => `CN=${cls},${n.schemaDn}`;
  let usn = 4000;
  const entries: DirEntry[] = [];

  /** Add an entry: `head` attributes go right after the RDN attribute, `body` ones after uSNCreated (AD's order). */
  function add(dn: string, classes: string[], category: string, spec: { head?: Fields; body?: Fields }, when: Date): void {
    const cn = /^(?:CN|OU|DC)=([^,]+)/i.exec(dn)?.[1] ?? dn;
    const guid = createHash('sha256').update(`guid:${o.seed}:${dn}`).digest().subarray(0, 16);
    const ordered: [string, Value][] = [
      ['objectClass', classes],
      [dn.startsWith('OU=') ? 'ou' : dn.startsWith('DC=') ? 'dc' : 'cn', cn],
      ...Object.entries(spec.head ?? {}),
      ['distinguishedName', dn],
      ['instanceType', dn === n.baseDn ? '5' : '4'],
      ['whenCreated', generalizedTime(when)],
      ['whenChanged', generalizedTime(new Date(Math.min(when.getTime() + 86_400_000 * 30, o.now.getTime())))],
      ['uSNCreated', String((usn += int(3, 40)))],
      ...Object.entries(spec.body ?? {}),
      ['uSNChanged', String(usn + int(100, 4000))],
      ['name', cn],
      ['objectGUID', [guid]],
      ['objectCategory', schema(category)],
    ];
    const attrs: EntryAttribute[] = [];
    const match = new Map<string, string[]>();
    for (const [name, v] of ordered) {
      if (v === undefined) continue;
      if (v instanceof Sid) {
        // binary on the wire, but filters compare the S-1-5-... form
        attrs.push({ name, values: [sidBytes(v.text)] });
        match.set(name.toLowerCase(), [v.text]);
        continue;
      }
      const values = Array.isArray(v) ? v : [v];
      if (values.length === 0) continue;
      attrs.push({ name, values });
      match.set(name.toLowerCase(), values.map((x) => (typeof x === 'string' ? x : x.toString('hex'))));
    }
    // (objectCategory=person) matches the class by its short name, as AD does
    match.get('objectcategory')!.push(category === 'Person' ? 'person' : category);
    entries.push({ dn, attrs, match });
  }

  const sid = (rid: number) => new Sid(`${domainSid}-${rid}`);

  add(n.baseDn, ['top', 'domain', 'domainDNS'], 'Domain-DNS', {
    body: { objectSid: new Sid(domainSid), 'ms-DS-MachineAccountQuota': '10', minPwdLength: '7', lockoutThreshold: '0', maxPwdAge: '-36288000000000', nTMixedDomain: '0' },
  }, created);
  for (const c of ['Users', 'Computers', 'Builtin']) add(`CN=${c},${n.baseDn}`, ['top', c === 'Builtin' ? 'builtinDomain' : 'container'], c === 'Builtin' ? 'Builtin-Domain' : 'Container', {}, created);
  add(`OU=Domain Controllers,${n.baseDn}`, ['top', 'organizationalUnit'], 'Organizational-Unit', {}, created);

  // people: the built-ins, generated staff, configured accounts
  interface Person { sam: string; given?: string; sn?: string; rid: number; uac: string; groups: string[]; spn?: string[]; description?: string }
  const people: Person[] = [
    { sam: 'Administrator', rid: 500, uac: '66048', groups: ['Domain Admins', 'Enterprise Admins', 'Schema Admins', 'Group Policy Creator Owners'], description: 'Built-in account for administering the computer/domain' },
    { sam: 'Guest', rid: 501, uac: '66082', groups: [], description: 'Built-in account for guest access to the computer/domain' },
    { sam: 'krbtgt', rid: 502, uac: '514', groups: [], spn: ['kadmin/changepw'], description: 'Key Distribution Center Service Account' },
  ];
  let rid = 1103;
  const seen = new Set(people.map((p) => p.sam.toLowerCase()));
  const staffCount = int(8, 12);
  for (let i = 0; i < staffCount; i++) {
    const given = FIRST[int(0, FIRST.length - 1)]!;
    const sn = LAST[int(0, LAST.length - 1)]!;
    const sam = `${given[0]}${sn}`.toLowerCase();
    if (seen.has(sam)) continue;
    seen.add(sam);
    const dept = DEPARTMENTS[i % DEPARTMENTS.length]!;
    people.push({ sam, given, sn, rid: rid++, uac: i === 3 ? '4260352' : '512', groups: i === 0 ? [dept, 'Domain Admins'] : [dept] });
  }
  people.push({ sam: 'svc_sql', rid: rid++, uac: '66048', groups: [], spn: [`MSSQLSvc/${o.persona.fqdn}:1433`], description: 'SQL Server service account' });
  for (const acct of o.accounts) {
    if (seen.has(acct.toLowerCase())) continue;
    seen.add(acct.toLowerCase());
    people.push({ sam: acct, rid: rid++, uac: '512', groups: ['IT'] });
  }
  const groupMembers = new Map<string, string[]>();
  const userDn = (p: Person) => `CN=${p.given && p.sn ? `${p.given} ${p.sn}` : p.sam},CN=Users,${n.baseDn}`;
  const groupDn = (g: string) => `CN=${g},CN=Users,${n.baseDn}`;
  people.forEach((p, i) => {
    for (const g of p.groups) groupMembers.set(g, [...(groupMembers.get(g) ?? []), userDn(p)]);
    const when = p.rid < 1000 ? created : at(int(20, 900));
    const logon = filetime(new Date(o.now.getTime() - int(1, 20 * 86_400) * 1000));
    add(userDn(p), ['top', 'person', 'organizationalPerson', 'user'], 'Person', {
      head: { sn: p.sn, description: p.description, givenName: p.given },
      body: {
        displayName: p.given && p.sn ? `${p.given} ${p.sn}` : undefined,
        memberOf: p.groups.map(groupDn),
        userAccountControl: p.uac,
        badPwdCount: '0',
        codePage: '0',
        countryCode: '0',
        badPasswordTime: '0',
        lastLogoff: '0',
        lastLogon: p.rid === 501 || p.rid === 502 ? '0' : logon,
        pwdLastSet: filetime(at(int(30, 1200) + i)),
        primaryGroupID: p.rid === 501 ? '514' : '513',
        objectSid: sid(p.rid),
        adminCount: p.groups.includes('Domain Admins') || p.rid === 502 ? '1' : undefined,
        accountExpires: p.rid < 1000 ? '0' : '9223372036854775807',
        logonCount: String(p.rid === 501 || p.rid === 502 ? 0 : int(3, 900)),
        sAMAccountName: p.sam,
        sAMAccountType: '805306368',
        userPrincipalName: p.rid < 1000 ? undefined : `${p.sam}@${n.dnsDomain}`,
        servicePrincipalName: p.spn,
        mail: p.given ? `${p.sam}@${n.dnsDomain}` : undefined,
        department: p.groups.find((g) => DEPARTMENTS.includes(g)),
      },
    }, when);
  });

  const groups: [string, number, string][] = [
    ['Domain Admins', 512, 'Designated administrators of the domain'],
    ['Domain Users', 513, 'All domain users'],
    ['Domain Guests', 514, 'All domain guests'],
    ['Domain Computers', 515, 'All workstations and servers joined to the domain'],
    ['Domain Controllers', 516, 'All domain controllers in the domain'],
    ['Schema Admins', 518, 'Designated administrators of the schema'],
    ['Enterprise Admins', 519, 'Designated administrators of the enterprise'],
    ['Group Policy Creator Owners', 520, 'Members in this group can modify group policy for the domain'],
    ['Protected Users', 525, 'Members of this group are afforded additional protections against authentication security threats'],
    ['DnsAdmins', 1101, 'DNS Administrators Group'],
    ...DEPARTMENTS.map((d, i): [string, number, string] => [d, 1200 + i, `${d} department`]),
  ];
  for (const [g, grid, description] of groups) {
    add(groupDn(g), ['top', 'group'], 'Group', {
      head: { description },
      body: {
        member: groupMembers.get(g),
        objectSid: sid(grid),
        adminCount: grid < 1000 && grid !== 513 && grid !== 514 && grid !== 515 ? '1' : undefined,
        sAMAccountName: g,
        sAMAccountType: grid < 1000 || grid >= 1200 ? '268435456' : '536870912',
        groupType: grid === 1101 ? '-2147483644' : '-2147483646',
      },
    }, created);
  }

  // computers: the DC itself and a few workstations
  const win = o.persona.windows;
  const hosts: { name: string; dc: boolean }[] = [{ name: o.persona.netbiosName, dc: true }];
  const wsCount = int(3, 5);
  for (let i = 0; i < wsCount; i++) hosts.push({ name: `WS-${String(int(1, 999)).padStart(3, '0')}`.slice(0, 15), dc: false });
  const uniqHosts = hosts.filter((h, i) => hosts.findIndex((x) => x.name === h.name) === i);
  for (const [i, h] of uniqHosts.entries()) {
    const fqdn = `${h.name.toLowerCase()}.${n.dnsDomain}`;
    const dn = h.dc ? `CN=${h.name},OU=Domain Controllers,${n.baseDn}` : `CN=${h.name},CN=Computers,${n.baseDn}`;
    add(dn, ['top', 'person', 'organizationalPerson', 'user', 'computer'], 'Computer', {
      body: {
        userAccountControl: h.dc ? '532480' : '4096',
        primaryGroupID: h.dc ? '516' : '515',
        objectSid: sid(h.dc ? 1000 : 1150 + i),
        sAMAccountName: `${h.name}$`,
        sAMAccountType: '805306369',
        operatingSystem: h.dc ? (win?.product ?? 'Windows Server 2019 Standard') : 'Windows 10 Pro',
        operatingSystemVersion: h.dc ? `${win?.major ?? 10}.${win?.minor ?? 0} (${win?.build ?? 17763})` : '10.0 (19045)',
        dNSHostName: fqdn,
        servicePrincipalName: h.dc
          ? [`ldap/${fqdn}/${n.dnsDomain}`, `ldap/${fqdn}`, `ldap/${h.name}`, `HOST/${fqdn}`, `HOST/${h.name}`, `GC/${fqdn}/${n.dnsDomain}`, `RestrictedKrbHost/${fqdn}`]
          : [`HOST/${fqdn}`, `HOST/${h.name}`, `RestrictedKrbHost/${fqdn}`],
        lastLogonTimestamp: filetime(new Date(o.now.getTime() - int(1, 10 * 86_400) * 1000)),
      },
    }, h.dc ? created : at(int(10, 600)));
  }
  return entries;
}

/** DN comparison form: lower case, no blanks around separators. */
export const normDn = (dn: string): string => dn.toLowerCase().replace(/\s*([,=])\s*/g, '$1').trim();

/** Entries in scope of `base` (0 base, 1 one level, 2 subtree); undefined when the base does not exist. */
export function inScope(entries: readonly DirEntry[], base: string, scope: number): DirEntry[] | undefined {
  const b = normDn(base);
  if (!entries.some((e) => normDn(e.dn) === b)) return undefined;
  return entries.filter((e) => {
    const d = normDn(e.dn);
    if (scope === 0) return d === b;
    if (!d.endsWith(`,${b}`)) return scope === 2 && d === b;
    return scope === 2 || !d.slice(0, d.length - b.length - 1).includes(',');
  });
}
