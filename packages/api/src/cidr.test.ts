import { describe, expect, it } from 'vitest';
import { inSubnet, intToIp, ipToInt, isIPv4, parseCidr, subnetsOverlap } from './cidr.js';

describe('cidr', () => {
  it('converts addresses both ways', () => {
    expect(ipToInt('10.213.0.1')).toBe(0x0ad50001);
    expect(intToIp(0xffffffff)).toBe('255.255.255.255');
    expect(intToIp(ipToInt('192.168.1.254'))).toBe('192.168.1.254');
    expect(() => ipToInt('1.2.3')).toThrow('not an IPv4 address: 1.2.3');
  });
  it('validates IPv4 text strictly', () => {
    expect(['1.2.3.4', '0.0.0.0', '255.255.255.255'].every(isIPv4)).toBe(true);
    expect(['1.2.3.256', '01.2.3.4', '1.2.3', 'fd00::1', '1.2.3.4 '].some(isIPv4)).toBe(false);
  });
  it('parses subnets and computes network and broadcast', () => {
    const r = parseCidr('10.213.4.0/22');
    expect(r.ok && [intToIp(r.subnet.network), intToIp(r.subnet.broadcast), r.subnet.prefix]).toEqual(['10.213.4.0', '10.213.7.255', 22]);
  });
  it('explains what is wrong with a subnet', () => {
    const reason = (t: string) => {
      const r = parseCidr(t);
      return r.ok ? 'ok' : r.reason;
    };
    expect(reason('fd00::/64')).toBe('fd00::/64 is IPv6; only IPv4 subnets are supported');
    expect(reason('10.0.0.1/8')).toBe('10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?');
    expect(reason('10.0.0.0/31')).toBe('10.0.0.0/31 is too small: a fleet subnet needs a prefix of /30 or shorter');
    expect(reason('10.0.0.0/33')).toBe('10.0.0.0/33 is not an IPv4 CIDR subnet (expected e.g. 10.213.0.0/24)');
    expect(reason('10.0.0.0')).toBe('10.0.0.0 is not an IPv4 CIDR subnet (expected e.g. 10.213.0.0/24)');
  });
  it('tests membership and overlap', () => {
    const a = parseCidr('10.213.0.0/24');
    const b = parseCidr('10.213.0.128/25');
    const c = parseCidr('10.214.0.0/24');
    if (!a.ok || !b.ok || !c.ok) throw new Error('parse');
    expect(inSubnet(a.subnet, ipToInt('10.213.0.255'))).toBe(true);
    expect(inSubnet(a.subnet, ipToInt('10.213.1.0'))).toBe(false);
    expect(subnetsOverlap(a.subnet, b.subnet)).toBe(true);
    expect(subnetsOverlap(a.subnet, c.subnet)).toBe(false);
  });
});
