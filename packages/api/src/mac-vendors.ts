/**
 * Vendor MAC addresses: a decky's MAC is a real vendor's OUI (chosen by the kind of
 * machine its OS profile and archetype say it is) plus three bytes derived from its
 * fleet and name, so it is stable across re-applies and says "Dell" or "Hikvision"
 * where Docker's own `02:42` prefix would say "container".
 *
 * Source of the OUIs and vendor names: the IEEE OUI registry as nmap ships it
 * (/usr/share/nmap/nmap-mac-prefixes, nmap 7.93); `vendor` is what nmap prints after
 * `MAC Address:` (a unit test checks every row against that file when it is present).
 * Facts only: the table is ours, the assignments are the IEEE's.
 */
import { createHash } from 'node:crypto';
import type { OsProfileName } from './types.js';

export type MacClass = 'workstation' | 'server' | 'windows-server' | 'printer' | 'iot' | 'plc' | 'cisco';

export interface OuiRow {
  /** six hex digits, upper case */
  oui: string;
  /** the vendor as nmap prints it */
  vendor: string;
}

const row = (vendor: string, ...ouis: string[]): OuiRow[] => ouis.map((oui) => ({ oui, vendor }));

/** Per class: the vendors a machine of that kind plausibly has, each with a few of its OUIs. */
export const OUI_TABLE: Readonly<Record<MacClass, readonly (readonly OuiRow[])[]>> = {
  workstation: [
    row('Dell', 'D4BED9', 'F8BC12', '509A4C', 'B8CA3A'),
    row('Hewlett Packard', '9457A5', 'B05ADA', '3C4A92'),
    row('Lcfc(hefei) Electronics Technology', '98FA9B', '8C1645'), // Lenovo ThinkPad/ThinkCentre ODM
    row('Intel Corporate', 'A4BF01', '3CFDFE', 'A0369F'),
  ],
  server: [
    row('Dell', '14FEB5', 'D4AE52', 'E4434B', 'F01FAF'),
    row('Hewlett Packard Enterprise', '1C98EC', '48DF37'),
    row('Super Micro Computer', '0CC47A', 'AC1F6B', '3CECEF'),
    row('VMware', '000C29', '005056'),
  ],
  'windows-server': [
    row('Dell', '14FEB5', 'D4AE52', 'E4434B'),
    row('Hewlett Packard Enterprise', '1C98EC', '48DF37'),
    row('Microsoft', '00155D'), // Hyper-V guests
    row('VMware', '000C29', '005056'),
  ],
  printer: [
    row('Hewlett Packard', 'F4CE46', '9C8E99', 'B499BA'),
    row('Brother industries', '001BA9', '008077', '30055C'),
  ],
  iot: [
    row('Hangzhou Hikvision Digital Technology', '085411', '1012FB', '4419B6'),
    row('Axis Communications AB', '00408C', 'ACCC8E', 'B8A44F'),
    row('Tp-link Technologies', '001478', '0019E0', '001D0F'),
    row('Raspberry Pi Foundation', 'B827EB'),
  ],
  plc: [row('Siemens AG', '000E8C', '080006')],
  cisco: [row('Cisco Systems', '001A2F', '0024C4', '00270D', '58AC78')],
};

/** The kind of machine a decky is, for its MAC vendor: the archetype when it says, else the OS profile. */
export function macClassFor(nmapOS: OsProfileName, archetype?: string): MacClass {
  switch (archetype) {
    case 'printer':
      return 'printer';
    case 'iot-device':
      return 'iot';
    case 'industrial-control':
      return 'plc';
    case 'windows-workstation':
      return 'workstation';
    case 'windows-server':
    case 'domain-controller':
      return 'windows-server';
    default:
  }
  switch (nmapOS) {
    case 'windows':
      return 'workstation';
    case 'windows_server':
      return 'windows-server';
    case 'embedded':
      return 'iot';
    case 'cisco':
      return 'cisco';
    default:
      return 'server';
  }
}

/** Docker's own prefix: never a decky's MAC. */
export const DOCKER_MAC_PREFIX = '02:42';

export const MAC_PATTERN = '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$';
export const MAC_RE = new RegExp(MAC_PATTERN);

/** Canonical spelling: lower-case hex pairs joined by ':' (what Docker reports). */
export function normaliseMac(mac: string): string {
  return mac.toLowerCase();
}

/** Why `mac` cannot be a decky's MAC, or undefined when it can. */
export function macProblem(mac: string): string | undefined {
  if (!MAC_RE.test(mac)) return `expected a MAC address like 00:1a:2f:12:34:56, got "${mac.slice(0, 40)}"`;
  const m = normaliseMac(mac);
  const first = parseInt(m.slice(0, 2), 16);
  if (first & 1) return `${m} is a multicast address (the first byte is odd)`;
  if (m.startsWith(DOCKER_MAC_PREFIX)) return `${m} is in Docker's own ${DOCKER_MAC_PREFIX} range, which gives a decky away`;
  if (m === '00:00:00:00:00:00') return `${m} is not a usable address`;
  return undefined;
}

/**
 * The derived MAC of a decky: vendor and OUI picked by a hash of fleet and name within
 * its class, the NIC bytes from the same hash; `attempt` > 0 gives the next candidate
 * when an earlier one is taken on the LAN.
 */
export function deriveMac(fleet: string, name: string, cls: MacClass, attempt = 0): string {
  const h = createHash('sha256').update(`decnet-mac\0${fleet}\0${name}\0${attempt}`).digest();
  const vendors = OUI_TABLE[cls];
  const rows = vendors[h[0]! % vendors.length]!;
  const oui = rows[h[1]! % rows.length]!.oui;
  const bytes = [oui.slice(0, 2), oui.slice(2, 4), oui.slice(4, 6), ...[h[2]!, h[3]!, h[4]!].map((b) => b.toString(16).padStart(2, '0'))];
  return bytes.join(':').toLowerCase();
}

/** The vendor nmap prints for `mac`, when its OUI is one of the table's. */
export function macVendor(mac: string): string | undefined {
  const oui = mac.replace(/:/g, '').slice(0, 6).toUpperCase();
  for (const vendors of Object.values(OUI_TABLE)) for (const rows of vendors) for (const r of rows) if (r.oui === oui) return r.vendor;
  return undefined;
}
