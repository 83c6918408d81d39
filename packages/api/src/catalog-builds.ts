/**
 * Product builds per platform: the default banner and version of every service of a
 * decky come from what its distro (or, for Windows OS profiles, Microsoft) ships, so a
 * rocky9 decky shows RHEL's OpenSSH, httpd and MariaDB, a Debian decky Debian's, and
 * a Windows decky Microsoft products and no Debian banner. One table, read by resolve:
 * an explicit serviceConfig value always wins, a key the table lacks falls back to the
 * catalogue default.
 *
 * Sources (facts, not code): the distributions' package archives (packages.debian.org,
 * packages.ubuntu.com, the Rocky/CentOS/Fedora/Alpine repositories) for package
 * versions, and how each product prints them (OpenSSH's "SSH-2.0-OpenSSH_<ver>
 * <distro-patch>", Apache's "Apache/<ver> (<platform>)", MariaDB's "5.5.5-" prefixed
 * handshake, BIND's version.bind with the distro's suffix).
 */
import type { OsProfileName } from './types.js';

export type Platform = 'debian' | 'ubuntu22' | 'ubuntu20' | 'rocky9' | 'centos7' | 'alpine' | 'fedora' | 'kali' | 'arch' | 'windows';

/** How the platform's products read: service -> config key -> value (`{host}` is the decky's hostname, lower case). */
type Builds = Readonly<Record<string, Readonly<Record<string, string>>>>;

interface PlatformBuilds {
  /** what the platform calls itself in banners, for conflict warnings */
  tag: string;
  openssh?: string;
  kernel?: string;
  httpd: string;
  ftpd: string;
  smtp: string;
  mysql: string;
  pg: string;
  redis: string;
  bind: string;
  mosquitto: string;
}

const P: Readonly<Record<Platform, PlatformBuilds>> = {
  debian: {
    tag: 'Debian',
    openssh: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3',
    kernel: '6.1.0-26-amd64',
    httpd: 'Apache/2.4.62 (Debian)',
    ftpd: '(vsFTPd 3.0.3)',
    smtp: '{host} ESMTP Postfix (Debian/GNU)',
    mysql: '5.5.5-10.11.6-MariaDB-0+deb12u1',
    pg: '15.8',
    redis: '7.0.15',
    bind: '9.18.28-1~deb12u2-Debian',
    mosquitto: 'mosquitto version 2.0.11',
  },
  ubuntu22: {
    tag: 'Ubuntu',
    openssh: 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10',
    kernel: '5.15.0-122-generic',
    httpd: 'Apache/2.4.52 (Ubuntu)',
    ftpd: '(vsFTPd 3.0.5)',
    smtp: '{host} ESMTP Postfix (Ubuntu)',
    mysql: '8.0.39-0ubuntu0.22.04.1',
    pg: '14.13',
    redis: '6.0.16',
    bind: '9.18.28-0ubuntu0.22.04.1-Ubuntu',
    mosquitto: 'mosquitto version 2.0.11',
  },
  ubuntu20: {
    tag: 'Ubuntu',
    openssh: 'SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.11',
    kernel: '5.4.0-196-generic',
    httpd: 'Apache/2.4.41 (Ubuntu)',
    ftpd: '(vsFTPd 3.0.3)',
    smtp: '{host} ESMTP Postfix (Ubuntu)',
    mysql: '8.0.39-0ubuntu0.20.04.1',
    pg: '12.20',
    redis: '5.0.7',
    bind: '9.18.28-0ubuntu0.20.04.1-Ubuntu',
    mosquitto: 'mosquitto version 1.6.9',
  },
  rocky9: {
    tag: 'Rocky Linux',
    openssh: 'SSH-2.0-OpenSSH_8.7',
    kernel: '5.14.0-427.13.1.el9_4.x86_64',
    httpd: 'Apache/2.4.57 (Rocky Linux)',
    ftpd: '(vsFTPd 3.0.5)',
    smtp: '{host} ESMTP Postfix',
    mysql: '5.5.5-10.5.22-MariaDB',
    pg: '13.14',
    redis: '6.2.7',
    bind: '9.16.23-RH',
    mosquitto: 'mosquitto version 2.0.18',
  },
  centos7: {
    tag: 'CentOS',
    openssh: 'SSH-2.0-OpenSSH_7.4',
    kernel: '3.10.0-1160.119.1.el7.x86_64',
    httpd: 'Apache/2.4.6 (CentOS)',
    ftpd: '(vsFTPd 3.0.2)',
    smtp: '{host} ESMTP Postfix',
    mysql: '5.5.5-5.5.68-MariaDB',
    pg: '9.2.24',
    redis: '3.2.12',
    bind: '9.11.4-P2-RedHat-9.11.4-26.P2.el7_9.16',
    mosquitto: 'mosquitto version 1.6.10',
  },
  alpine: {
    tag: 'Alpine',
    openssh: 'SSH-2.0-OpenSSH_9.6',
    kernel: '6.6.32-0-lts',
    httpd: 'nginx/1.24.0',
    ftpd: '(vsFTPd 3.0.5)',
    smtp: '{host} ESMTP Postfix',
    mysql: '5.5.5-10.11.8-MariaDB',
    pg: '16.3',
    redis: '7.2.5',
    bind: '9.18.27',
    mosquitto: 'mosquitto version 2.0.18',
  },
  fedora: {
    tag: 'Fedora',
    openssh: 'SSH-2.0-OpenSSH_9.3',
    kernel: '6.8.11-200.fc39.x86_64',
    httpd: 'Apache/2.4.59 (Fedora Linux)',
    ftpd: '(vsFTPd 3.0.5)',
    smtp: '{host} ESMTP Postfix',
    mysql: '5.5.5-10.5.25-MariaDB',
    pg: '15.7',
    redis: '7.2.5',
    bind: '9.18.26',
    mosquitto: 'mosquitto version 2.0.18',
  },
  kali: {
    tag: 'Debian',
    openssh: 'SSH-2.0-OpenSSH_9.7p1 Debian-7',
    kernel: '6.8.11-amd64',
    httpd: 'Apache/2.4.59 (Debian)',
    ftpd: '(vsFTPd 3.0.3)',
    smtp: '{host} ESMTP Postfix (Debian/GNU)',
    mysql: '5.5.5-11.4.2-MariaDB-4',
    pg: '16.3',
    redis: '7.0.15',
    bind: '9.19.24-185-g392e7199df2-1-Debian',
    mosquitto: 'mosquitto version 2.0.18',
  },
  arch: {
    tag: 'Unix',
    openssh: 'SSH-2.0-OpenSSH_9.8',
    kernel: '6.9.7-arch1-1',
    httpd: 'Apache/2.4.62 (Unix)',
    ftpd: '(vsFTPd 3.0.5)',
    smtp: '{host} ESMTP Postfix',
    mysql: '5.5.5-11.4.2-MariaDB',
    pg: '16.3',
    redis: '7.2.5',
    bind: '9.18.27',
    mosquitto: 'mosquitto version 2.0.18',
  },
  windows: {
    tag: 'Windows',
    openssh: 'SSH-2.0-OpenSSH_for_Windows_8.1',
    httpd: 'Microsoft-IIS/10.0',
    ftpd: 'Microsoft FTP Service',
    smtp: '{host} ESMTP MAIL Service ready', // Exchange says "<host> Microsoft ESMTP MAIL Service ready at <date>"; smtp-server puts ESMTP right after the name
    mysql: '8.0.36',
    pg: '15.6',
    redis: '3.0.504',
    bind: '9.16.50',
    mosquitto: 'mosquitto version 2.0.18',
  },
};

export const PLATFORMS = Object.keys(P) as readonly Platform[];

/** A Windows OS profile makes the decky a Windows machine whatever its base image; else its distro. */
export function platformOf(distro: string, nmapOS: OsProfileName): Platform {
  if (nmapOS === 'windows' || nmapOS === 'windows_server') return 'windows';
  return (PLATFORMS as readonly string[]).includes(distro) ? (distro as Platform) : 'debian';
}

function buildsOf(p: PlatformBuilds): Builds {
  const shell = { ...(p.openssh !== undefined ? { ssh_version: p.openssh } : {}), ...(p.kernel !== undefined ? { kernel_version: p.kernel } : {}) };
  const smtp = { smtp_banner: p.smtp, smtp_mta: p.tag === 'Windows' ? 'Microsoft' : 'Postfix' };
  return {
    ssh: shell,
    telnet: shell,
    http: { server_header: p.httpd },
    https: { server_header: p.httpd },
    ftp: { banner: p.ftpd },
    smtp,
    smtp_relay: smtp,
    mysql: { mysql_version: p.mysql },
    postgres: { pg_version: p.pg },
    redis: { redis_version: p.redis, os_string: p.tag === 'Windows' ? 'Windows' : `Linux ${p.kernel ?? '6.1.0'} x86_64` },
    dns: { bind_version: p.bind },
    mqtt: { mqtt_version: p.mosquitto },
  };
}

/** The platform's defaults for one service's config keys (hostname filled in); {} when it has none. */
export function platformDefaults(platform: Platform, service: string, hostname: string): Record<string, string> {
  const b = buildsOf(P[platform])[service];
  if (!b) return {};
  const host = hostname.toLowerCase();
  return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v.replace('{host}', host)]));
}

/* ----------------------------- conflicting stories ----------------------------- */

/** The platform a banner names, when it names one. */
export function bannerStory(value: string): 'windows' | 'debian' | 'ubuntu' | 'rhel' | 'freebsd' | undefined {
  if (/for_Windows|Microsoft|\bIIS\b|\(Win(32|64)\)|Windows/i.test(value)) return 'windows';
  if (/ubuntu/i.test(value)) return 'ubuntu';
  if (/debian|deb\d+u\d+|\+deb\d+/i.test(value)) return 'debian';
  if (/\b(CentOS|Rocky Linux|Red Hat|RedHat|RHEL|\.el\d|-RH\b|Fedora)/i.test(value)) return 'rhel';
  if (/FreeBSD/i.test(value)) return 'freebsd';
  return undefined;
}

/** The story a decky's own fields tell: its OS profile, and its distro unless a Windows profile overrides it. */
export function platformStory(distro: string, nmapOS: OsProfileName): ReturnType<typeof bannerStory> {
  if (nmapOS === 'windows' || nmapOS === 'windows_server') return 'windows';
  if (nmapOS === 'bsd') return 'freebsd';
  if (distro === 'ubuntu22' || distro === 'ubuntu20') return 'ubuntu';
  if (distro === 'debian' || distro === 'kali') return 'debian';
  if (distro === 'rocky9' || distro === 'centos7' || distro === 'fedora') return 'rhel';
  return undefined;
}
