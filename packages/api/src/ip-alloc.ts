/**
 * IPv4 allocation inside a fleet subnet: walk the subnet in order, skipping the
 * network and broadcast addresses, the gateway and every taken address
 * (explicit IPs, IPs of deployed deckies, reserved IPs).
 */
import { inSubnet, intToIp, ipToInt, isIPv4, parseCidr, type Subnet } from './cidr.js';

export type AllocResult = { ok: true; ip: string } | { ok: false; message: string };

/** Why an address cannot be a decky's IP in this subnet (not counting other deckies), or undefined. */
export function addressProblem(subnet: Subnet, gateway: string, ip: string): string | undefined {
  if (!isIPv4(ip)) return ip.includes(':') ? `${ip} is IPv6; only IPv4 is supported` : `${ip} is not an IPv4 address`;
  const n = ipToInt(ip);
  if (!inSubnet(subnet, n)) return `${ip} is outside the fleet subnet ${subnet.text}`;
  if (n === subnet.network) return `${ip} is the network address of ${subnet.text}`;
  if (n === subnet.broadcast) return `${ip} is the broadcast address of ${subnet.text}`;
  if (isIPv4(gateway) && n === ipToInt(gateway)) return `${ip} is the gateway of ${subnet.text}`;
  return undefined;
}

export class IpAllocator {
  readonly subnet: Subnet;
  private readonly taken = new Set<number>();
  private cursor: number;

  /** `taken`: addresses never handed out (explicit, deployed, reserved); out-of-subnet ones are ignored. */
  constructor(subnet: string | Subnet, gateway: string, taken: Iterable<string> = []) {
    if (typeof subnet === 'string') {
      const r = parseCidr(subnet);
      if (!r.ok) throw new RangeError(r.reason);
      this.subnet = r.subnet;
    } else this.subnet = subnet;
    if (isIPv4(gateway)) this.taken.add(ipToInt(gateway));
    for (const ip of taken) this.take(ip);
    this.cursor = this.subnet.network + 1;
  }

  /** Mark an address as used; false when it was already taken. */
  take(ip: string): boolean {
    if (!isIPv4(ip)) return false;
    const n = ipToInt(ip);
    if (this.taken.has(n)) return false;
    this.taken.add(n);
    return true;
  }

  isTaken(ip: string): boolean {
    return isIPv4(ip) && this.taken.has(ipToInt(ip));
  }

  /** Next free address in subnet order, for the named decky. */
  next(decky: string): AllocResult {
    while (this.cursor < this.subnet.broadcast) {
      const n = this.cursor++;
      if (!this.taken.has(n)) {
        this.taken.add(n);
        return { ok: true, ip: intToIp(n) };
      }
    }
    return {
      ok: false,
      message: `no free IP left in ${this.subnet.text} for decky ${decky} (network, broadcast, gateway, reserved and used addresses are skipped)`,
    };
  }
}
