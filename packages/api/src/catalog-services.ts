/**
 * The service catalogue: every honeypot service decnet ships, the ports it claims
 * and its typed persona config. Defaults are exported for the honeypot services;
 * resolution never injects them into a decky's config.
 */
import type { ConfigValue, ServicePort } from './types.js';

export type ConfigFieldType = 'string' | 'secret' | 'int' | 'bool' | 'textarea' | 'enum' | 'multi-enum';

export interface ConfigField {
  type: ConfigFieldType;
  /** allowed values for enum / multi-enum */
  values?: readonly string[];
  default?: ConfigValue;
  /** bounds for int */
  min?: number;
  max?: number;
  description?: string;
}

export type ConfigSchema = Readonly<Record<string, ConfigField>>;

export interface ServiceDef {
  name: string;
  ports: readonly ServicePort[];
  config: ConfigSchema;
  description: string;
}

const tcp = (...ports: number[]): ServicePort[] => ports.map((port) => ({ port, proto: 'tcp' as const }));
const udp = (...ports: number[]): ServicePort[] => ports.map((port) => ({ port, proto: 'udp' as const }));
const str = (description: string, def?: string): ConfigField =>
  def === undefined ? { type: 'string', description } : { type: 'string', description, default: def };

const shellConfig: ConfigSchema = {
  ssh_version: str('version banner', 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6'),
  kernel_version: str('kernel shown by uname', '5.15.0-91-generic'),
  users: str('accepted logins, user:pass,... (empty: every login fails)'),
  hostname: str('hostname shown in the prompt (default: the decky hostname)'),
};

export const FAKE_APPS = ['none', 'wordpress', 'phpmyadmin', 'tomcat', 'jenkins'] as const;

const httpConfig: ConfigSchema = {
  server_header: str('Server response header', 'Apache/2.4.57 (Debian)'),
  response_code: { type: 'int', default: 200, min: 100, max: 599, description: 'status code of the index page' },
  fake_app: { type: 'enum', values: FAKE_APPS, default: 'none', description: 'web application to imitate' },
  extra_headers: { type: 'textarea', description: 'extra response headers, one `Name: value` per line' },
  custom_body: { type: 'textarea', description: 'body of the index page (b64: prefix for base64)' },
};

const smtpConfig: ConfigSchema = {
  smtp_banner: str('220 greeting banner', 'mail.example.com ESMTP Postfix (Debian/GNU)'),
  smtp_mta: str('MTA name shown in replies', 'Postfix'),
  tls_cert: { type: 'textarea', description: 'PEM certificate for STARTTLS (b64: prefix for base64)' },
  tls_key: { type: 'secret', description: 'PEM private key of tls_cert' },
};

const snmpConfig: ConfigSchema = {
  snmp_community: str('community string the agent answers (others: no answer)', 'public'),
  sys_descr: str('sysDescr (default: derived from the OS profile)'),
  sys_contact: str('sysContact', 'root@localhost'),
  sys_location: str('sysLocation', 'Server Room'),
};

/** An operator's certificate for a TLS port (default: one generated as the product makes it). */
const tlsConfig: ConfigSchema = {
  tls_cert: { type: 'textarea', description: 'PEM certificate (b64: prefix for base64)' },
  tls_key: { type: 'secret', description: 'PEM private key of tls_cert' },
};

const mailboxConfig: ConfigSchema = {
  users: str('accepted logins, user:pass,... (empty: every login fails); they see a small fake mailbox'),
  tls_cn: str('common name of the certificate (default: the host name)'),
  ...tlsConfig,
};

const defs: ServiceDef[] = [
  { name: 'ssh', ports: tcp(22), config: shellConfig, description: 'SSH login honeypot' },
  { name: 'telnet', ports: tcp(23), config: shellConfig, description: 'telnet login honeypot' },
  { name: 'http', ports: tcp(80), config: httpConfig, description: 'HTTP server' },
  {
    name: 'https',
    ports: tcp(443),
    config: {
      ...httpConfig,
      tls_cn: str('common name of the self-signed certificate (default: the hostname)'),
      ...tlsConfig,
    },
    description: 'HTTPS server',
  },
  { name: 'ftp', ports: tcp(21), config: { banner: str('220 greeting banner', '(vsFTPd 3.0.3)') }, description: 'FTP server' },
  { name: 'tftp', ports: udp(69), config: {}, description: 'TFTP server' },
  { name: 'smtp', ports: tcp(25, 587), config: smtpConfig, description: 'SMTP server' },
  {
    name: 'smtp_relay',
    ports: tcp(25, 587),
    config: {
      ...smtpConfig,
      relay_host: str('upstream relay host'),
      relay_port: { type: 'int', default: 587, min: 1, max: 65535, description: 'upstream relay port' },
      relay_user: str('upstream relay login'),
      relay_password: { type: 'secret', description: 'upstream relay password' },
      relay_tls: { type: 'bool', default: true, description: 'use STARTTLS to the upstream relay' },
    },
    description: 'SMTP open-relay bait',
  },
  { name: 'pop3', ports: tcp(110, 995), config: mailboxConfig, description: 'POP3 server (STLS on 110, TLS on 995)' },
  { name: 'imap', ports: tcp(143, 993), config: mailboxConfig, description: 'IMAP server (STARTTLS on 143, TLS on 993)' },
  {
    name: 'mysql',
    ports: tcp(3306),
    config: { mysql_version: str('server version', '8.0.36'), mysql_banner: str('full handshake version string') },
    description: 'MySQL server',
  },
  {
    name: 'postgres',
    ports: tcp(5432),
    config: { pg_version: str('server version (md5 logins up to 13, scram-sha-256 from 14)', '15.6'), ...tlsConfig },
    description: 'PostgreSQL server',
  },
  {
    name: 'mssql',
    ports: tcp(1433),
    config: {
      mssql_version: str('server version', '15.0.2000.5'),
      instance: str('instance name (MSSQLSERVER = default instance; a named one shows as HOST\\NAME)', 'MSSQLSERVER'),
      server_name: str('server name in error messages (default: the persona NetBIOS name)'),
    },
    description: 'Microsoft SQL Server',
  },
  { name: 'mongodb', ports: tcp(27017), config: { mongo_version: str('server version', '6.0.14') }, description: 'MongoDB server' },
  {
    name: 'redis',
    ports: tcp(6379),
    config: { redis_version: str('server version', '7.0.15'), os_string: str('os field of INFO', 'Linux 5.15.0-91-generic x86_64') },
    description: 'Redis server',
  },
  {
    name: 'elasticsearch',
    ports: tcp(9200),
    config: { es_version: str('server version', '8.12.2'), cluster_name: str('cluster name', 'elasticsearch') },
    description: 'Elasticsearch REST API',
  },
  {
    name: 'smb',
    ports: [...tcp(445, 139), ...udp(137)],
    config: {
      workgroup: str('NetBIOS workgroup or domain name (default: WORKGROUP, or the first label of the domain on a domain member)'),
      server_name: str('NetBIOS name (default: the hostname)'),
      os_version: str('OS string, e.g. "Windows Server 2019 Standard 17763" (default: from the decky\'s nmapOS)'),
      users: str('accepted logins, user:pass,... (empty: every login fails)'),
      shares: str('shares besides IPC$, name:comment,... (default: a few per persona)'),
      guest: { type: 'bool', default: false, description: 'accept guest/anonymous sessions' },
    },
    description: 'SMB file sharing',
  },
  {
    name: 'rdp',
    ports: tcp(3389),
    config: {
      os_version: str('OS string (default: from the decky\'s nmapOS and build)'),
      build: str('Windows build number (default: 19045 for windows, 17763 for windows_server)'),
      nla: { type: 'bool', default: true, description: 'require network level authentication' },
      ...tlsConfig,
    },
    description: 'Remote Desktop',
  },
  {
    name: 'ldap',
    ports: tcp(389, 636),
    config: {
      base_dn: str('base DN', 'DC=corp,DC=local'),
      domain: str('domain name', 'corp.local'),
      users: str('accepted binds, user:pass,... (empty: every bind with a password fails)'),
      ...tlsConfig,
    },
    description: 'LDAP directory',
  },
  { name: 'llmnr', ports: udp(5355, 5353), config: {}, description: 'LLMNR / mDNS responder' },
  {
    name: 'vnc',
    ports: tcp(5900),
    config: {
      vnc_version: { type: 'enum', values: ['003.003', '003.007', '003.008'], default: '003.008', description: 'RFB protocol version' },
      vnc_desktop: str('desktop name (default: the decky hostname)'),
    },
    description: 'VNC server (RFB, VNC authentication)',
  },
  {
    name: 'snmp',
    ports: udp(161),
    config: snmpConfig,
    description: 'SNMP agent (v1/v2c)',
  },
  {
    name: 'sip',
    ports: [...udp(5060), ...tcp(5060)],
    config: {
      sip_server: str('Server / User-Agent header', 'Asterisk PBX 18.20.0'),
      sip_domain: str('SIP domain (default: the decky IP)'),
      sip_extensions: str('extensions that exist, comma separated (others get 404)', '100,101,102,200'),
    },
    description: 'SIP VoIP server',
  },
  {
    name: 'mqtt',
    ports: tcp(1883),
    config: {
      mqtt_version: str('broker version ($SYS/broker/version)', 'mosquitto version 2.0.18'),
      mqtt_anonymous: { type: 'bool', default: true, description: 'accept clients without credentials' },
      users: str('accepted logins, user:pass,... (empty: credentials are refused)'),
    },
    description: 'MQTT broker',
  },
  {
    name: 'k8s',
    ports: tcp(6443, 8080),
    config: { k8s_version: str('gitVersion', 'v1.28.6'), ...tlsConfig },
    description: 'Kubernetes API server (TLS on 6443)',
  },
  {
    name: 'docker_api',
    ports: tcp(2375, 2376),
    config: { docker_version: str('engine version', '24.0.7'), ...tlsConfig },
    description: 'Docker Engine API (plain on 2375, TLS on 2376)',
  },
  {
    name: 'dns',
    ports: [...udp(53), ...tcp(53)],
    config: {
      bind_version: str('version.bind answer', '9.18.24'),
      domain: str('authoritative domain (default: the persona DNS domain)'),
      dns_records: {
        type: 'textarea',
        description: 'zone records, one `name ip` per line, names relative to the domain (default: the decky itself)',
      },
    },
    description: 'DNS server (authoritative, never recursive)',
  },
  {
    name: 'conpot',
    ports: [...tcp(502), ...tcp(102), ...udp(161), ...tcp(80)],
    config: {
      ics_vendor: str('vendor name (modbus device identification, s7 copyright, HMI)', 'Siemens'),
      ics_product: str('product / module type', 'CPU 315-2 PN/DP'),
      ics_order_code: str('order code (s7 module, modbus product code)', '6ES7 315-2EH14-0AB0'),
      ics_version: str('firmware revision', 'V3.2.6'),
      ics_serial: str('serial number (default: derived from the decky name)'),
      ics_plant: str('plant identification (default: derived from the persona domain)'),
      ...snmpConfig,
    },
    description: 'ICS/SCADA PLC (modbus 502, s7comm 102, snmp, HMI on 80)',
  },
];

export const SERVICE_CATALOG: Readonly<Record<string, ServiceDef>> = Object.freeze(
  Object.fromEntries(defs.map((d) => [d.name, d])),
);

/** Catalogue service names, sorted. */
export const SERVICE_NAMES: readonly string[] = Object.freeze(defs.map((d) => d.name).sort());

export function serviceDef(name: string): ServiceDef | undefined {
  return Object.hasOwn(SERVICE_CATALOG, name) ? SERVICE_CATALOG[name] : undefined;
}

/** The documented defaults of a service's persona config (for honeypot services; never injected by resolve). */
export function serviceConfigDefaults(name: string): Record<string, ConfigValue> {
  const def = serviceDef(name);
  const out: Record<string, ConfigValue> = {};
  if (!def) return out;
  for (const [key, field] of Object.entries(def.config)) if (field.default !== undefined) out[key] = field.default;
  return out;
}

export function portKey(p: ServicePort): string {
  return `${p.port}/${p.proto}`;
}

/**
 * First port two port lists share, or undefined. Used to reject services of one decky
 * that would bind the same port (http+https do not clash; smtp+smtp_relay do).
 */
export function sharedPort(a: readonly ServicePort[], b: readonly ServicePort[]): ServicePort | undefined {
  const keys = new Set(a.map(portKey));
  return b.find((p) => keys.has(portKey(p)));
}
