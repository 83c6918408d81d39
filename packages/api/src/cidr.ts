/** IPv4 addresses and CIDR subnets as 32-bit unsigned integers. IPv4 only. */

export interface Subnet {
  /** network address as an unsigned 32-bit int */
  network: number;
  prefix: number;
  /** broadcast address (last address of the subnet) */
  broadcast: number;
  /** canonical text, e.g. 10.213.0.0/24 */
  text: string;
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
export const IPV4_PATTERN = `^${OCTET}(\\.${OCTET}){3}$`;
export const CIDR_PATTERN = `^${OCTET}(\\.${OCTET}){3}/([0-9]|[12][0-9]|3[0-2])$`;
const IPV4_RE = new RegExp(IPV4_PATTERN);

export function looksLikeIPv6(text: string): boolean {
  return text.includes(':');
}

export function isIPv4(text: string): boolean {
  return IPV4_RE.test(text);
}

export function ipToInt(ip: string): number {
  if (!IPV4_RE.test(ip)) throw new RangeError(`not an IPv4 address: ${ip}`);
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Outcome of reading a CIDR: a subnet or the reason it is not one. */
export type CidrResult = { ok: true; subnet: Subnet } | { ok: false; reason: string };

export function parseCidr(text: string): CidrResult {
  if (looksLikeIPv6(text)) return { ok: false, reason: `${text} is IPv6; only IPv4 subnets are supported` };
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m || !IPV4_RE.test(m[1]!) || Number(m[2]) > 32) {
    return { ok: false, reason: `${text} is not an IPv4 CIDR subnet (expected e.g. 10.213.0.0/24)` };
  }
  const prefix = Number(m[2]);
  const addr = ipToInt(m[1]!);
  const size = 2 ** (32 - prefix);
  const network = addr - (addr % size);
  if (network !== addr) {
    return { ok: false, reason: `${text} has host bits set; did you mean ${intToIp(network)}/${prefix}?` };
  }
  if (prefix > 30) return { ok: false, reason: `${text} is too small: a fleet subnet needs a prefix of /30 or shorter` };
  return { ok: true, subnet: { network, prefix, broadcast: network + size - 1, text } };
}

export function inSubnet(subnet: Subnet, ip: number): boolean {
  return ip >= subnet.network && ip <= subnet.broadcast;
}

export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  return a.network <= b.broadcast && b.network <= a.broadcast;
}
