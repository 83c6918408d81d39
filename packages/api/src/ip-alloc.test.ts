import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inSubnet, intToIp, ipToInt, parseCidr } from './cidr.js';
import { addressProblem, IpAllocator } from './ip-alloc.js';

describe('IpAllocator', () => {
  it('walks the subnet in order skipping network, gateway and taken addresses', () => {
    const a = new IpAllocator('10.213.0.0/24', '10.213.0.1', ['10.213.0.3', '10.9.9.9']);
    expect([a.next('a'), a.next('b'), a.next('c')]).toEqual([
      { ok: true, ip: '10.213.0.2' },
      { ok: true, ip: '10.213.0.4' },
      { ok: true, ip: '10.213.0.5' },
    ]);
  });

  it('never hands out the broadcast address and reports exhaustion naming the decky', () => {
    const a = new IpAllocator('10.213.0.0/30', '10.213.0.1');
    expect(a.next('one')).toEqual({ ok: true, ip: '10.213.0.2' });
    expect(a.next('two')).toEqual({
      ok: false,
      message: 'no free IP left in 10.213.0.0/30 for decky two (network, broadcast, gateway, reserved and used addresses are skipped)',
    });
  });

  it('refuses IPv6 subnets', () => {
    expect(() => new IpAllocator('fd00::/64', 'fd00::1')).toThrow('fd00::/64 is IPv6; only IPv4 subnets are supported');
  });

  it('never returns a taken, duplicate or out-of-subnet address (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 24, max: 30 }),
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 300 }),
        (prefix, third, takenOffsets, count) => {
          const base = ipToInt(`10.213.${third}.0`);
          const size = 2 ** (32 - prefix);
          const network = base - (base % size);
          const cidr = `${intToIp(network)}/${prefix}`;
          const r = parseCidr(cidr);
          if (!r.ok) return false;
          const gateway = intToIp(network + 1);
          const taken = takenOffsets.map((o) => intToIp(network + o));
          const a = new IpAllocator(cidr, gateway, taken);
          const got = new Set<string>();
          let exhausted = false;
          for (let i = 0; i < count; i++) {
            const res = a.next(`d${i}`);
            if (!res.ok) {
              exhausted = true;
              break;
            }
            const n = ipToInt(res.ip);
            if (!inSubnet(r.subnet, n) || n === r.subnet.network || n === r.subnet.broadcast) return false;
            if (res.ip === gateway || taken.includes(res.ip) || got.has(res.ip)) return false;
            got.add(res.ip);
          }
          if (exhausted) {
            // exhaustion only when every usable address is taken or handed out
            const usable = size - 2;
            const blocked = new Set([gateway, ...taken.filter((ip) => {
              const n = ipToInt(ip);
              return n > r.subnet.network && n < r.subnet.broadcast;
            })]);
            return got.size + blocked.size === usable;
          }
          return true;
        },
      ),
    );
  });
});

describe('addressProblem', () => {
  const r = parseCidr('10.213.0.0/24');
  if (!r.ok) throw new Error('parse');
  it('explains unusable explicit addresses', () => {
    expect(addressProblem(r.subnet, '10.213.0.1', '10.9.0.5')).toBe('10.9.0.5 is outside the fleet subnet 10.213.0.0/24');
    expect(addressProblem(r.subnet, '10.213.0.1', '10.213.0.0')).toBe('10.213.0.0 is the network address of 10.213.0.0/24');
    expect(addressProblem(r.subnet, '10.213.0.1', '10.213.0.255')).toBe('10.213.0.255 is the broadcast address of 10.213.0.0/24');
    expect(addressProblem(r.subnet, '10.213.0.1', '10.213.0.1')).toBe('10.213.0.1 is the gateway of 10.213.0.0/24');
    expect(addressProblem(r.subnet, '10.213.0.1', 'fd00::5')).toBe('fd00::5 is IPv6; only IPv4 is supported');
    expect(addressProblem(r.subnet, '10.213.0.1', '10.213.0.10')).toBeUndefined();
  });
});
