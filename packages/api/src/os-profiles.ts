/** OS fingerprint profiles: nmapOS -> kernel sysctls on the decky's base container. */
import type { OsProfileName } from './types.js';

export const OS_PROFILE_NAMES = ['linux', 'windows', 'windows_server', 'bsd', 'embedded', 'cisco'] as const satisfies readonly OsProfileName[];

const KEYS = [
  'ip_default_ttl',
  'tcp_syn_retries',
  'tcp_timestamps',
  'tcp_window_scaling',
  'tcp_sack',
  'tcp_ecn',
  'ip_no_pmtu_disc',
  'tcp_fin_timeout',
  'icmp_ratelimit',
  'icmp_ratemask',
] as const;

/** One column per profile, rows in KEYS order. */
const TABLE: Record<OsProfileName, readonly number[]> = {
  linux: [64, 6, 1, 1, 1, 2, 0, 60, 1000, 6168],
  windows: [128, 2, 1, 1, 1, 0, 0, 30, 0, 0],
  windows_server: [128, 2, 1, 1, 1, 1, 0, 30, 0, 0],
  bsd: [64, 6, 1, 1, 1, 0, 0, 60, 250, 6168],
  embedded: [255, 3, 0, 0, 0, 0, 1, 15, 0, 0],
  cisco: [255, 2, 0, 0, 0, 0, 1, 15, 0, 0],
};

export function isOsProfileName(value: string): value is OsProfileName {
  return (OS_PROFILE_NAMES as readonly string[]).includes(value);
}

/** Full sysctl names (`net.ipv4.ip_default_ttl`) -> string values for a profile. */
export function osSysctls(profile: OsProfileName): Record<string, string> {
  const row = TABLE[profile];
  const out: Record<string, string> = {};
  KEYS.forEach((key, i) => {
    out[`net.ipv4.${key}`] = String(row[i]);
  });
  // not a fingerprint: the honeypots run unprivileged and bind low ports through it (in the
  // spec so that bases made before it are recreated by the next apply)
  out['net.ipv4.ip_unprivileged_port_start'] = '0';
  return out;
}
