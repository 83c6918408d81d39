/**
 * The decky's own IPv4 address and MAC, as its name services announce them. A
 * listener bound to 0.0.0.0 cannot see which local address a datagram was sent
 * to, so the answer is the address of the interface whose subnet holds the
 * sender (the one the query arrived on), else the first non-internal IPv4 (the
 * container's LAN address). Interfaces are injectable for tests.
 */
import os from 'node:os';

export interface Ipv4Interface {
  address: string;
  netmask: string;
  mac: string;
  internal: boolean;
}

export function ipv4Interfaces(): Ipv4Interface[] {
  const out: Ipv4Interface[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4') out.push({ address: a.address, netmask: a.netmask, mac: a.mac, internal: a.internal });
    }
  }
  return out;
}

function toInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** the first non-internal IPv4 interface (the container's LAN side), else the first one */
export function primaryInterface(ifaces: Ipv4Interface[] = ipv4Interfaces()): Ipv4Interface | undefined {
  return ifaces.find((i) => !i.internal) ?? ifaces[0];
}

/** The local address a reply to `src` should carry. */
export function ownAddressFor(src: string, ifaces: Ipv4Interface[] = ipv4Interfaces()): string | undefined {
  const s = toInt(src);
  if (s !== undefined) {
    for (const i of ifaces) {
      const a = toInt(i.address);
      const m = toInt(i.netmask);
      if (a !== undefined && m !== undefined && ((a & m) >>> 0) === ((s & m) >>> 0)) return i.address;
    }
  }
  return primaryInterface(ifaces)?.address;
}

/** 10.0.0.7 -> 7.0.0.10.in-addr.arpa */
export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** "02:42:ac:11:00:02" -> its 6 bytes (zeros when unparsable, as Samba reports) */
export function macBytes(mac: string | undefined): Buffer {
  const hex = (mac ?? '').replace(/[^0-9a-fA-F]/g, '');
  return hex.length === 12 ? Buffer.from(hex, 'hex') : Buffer.alloc(6);
}
