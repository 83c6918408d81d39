/**
 * Registry: catalogue service name -> implementation. The runtime entrypoint
 * picks the module named in the service config file; unknown names fall back
 * to `generic` when present.
 */
import type { ServiceModule } from '../runtime/types.js';
// --- imports: one line per service module (append below) ---

import { sshService } from './ssh/ssh.js';
import { telnetService } from './telnet/telnet.js';
import { ftpService } from './ftp/ftp.js';
import { httpService, httpsService } from './http/http.js';
import { smtpService } from './smtp/smtp.js';
import { pop3Service } from './pop3/pop3.js';
import { redisService } from './redis/redis.js';
import { mysqlService } from './mysql/mysql.js';
import { mssqlService } from './mssql/mssql.js';
import { llmnrService } from './llmnr/llmnr.js';
import { ldapService } from './ldap/ldap.js';
import { rdpService } from './rdp/rdp.js';
import { genericService } from './generic/generic.js';
import { smbService } from './smb/smb.js';
import { imapService } from './imap/imap.js';
import { postgresService } from './postgres/postgres.js';
import { mongodbService } from './mongodb/mongodb.js';
import { k8sService } from './k8s/k8s.js';
import { elasticsearchService } from './elasticsearch/elasticsearch.js';
import { dockerApiService } from './docker_api/docker_api.js';
import { vncService } from './vnc/vnc.js';
import { mqttService } from './mqtt/mqtt.js';
import { tftpService } from './tftp/tftp.js';
import { dnsService } from './dns/dns.js';
import { snmpService } from './snmp/snmp.js';
import { sipService } from './sip/sip.js';
import { conpotService } from './conpot/conpot.js';
// --- end imports ---

export const registry: Record<string, ServiceModule> = {
  // --- entries: one line per service name (append below) ---
  ssh: sshService,
  telnet: telnetService,
  ftp: ftpService,
  http: httpService,
  https: httpsService,
  smtp: smtpService,
  // smtp_relay personas get the same capture-only server: a honeypot never relays
  smtp_relay: smtpService,
  pop3: pop3Service,
  redis: redisService,
  mysql: mysqlService,
  mssql: mssqlService,
  llmnr: llmnrService,
  ldap: ldapService,
  rdp: rdpService,
  generic: genericService,
  smb: smbService,
  imap: imapService,
  postgres: postgresService,
  mongodb: mongodbService,
  k8s: k8sService,
  elasticsearch: elasticsearchService,
  docker_api: dockerApiService,
  vnc: vncService,
  mqtt: mqttService,
  tftp: tftpService,
  dns: dnsService,
  snmp: snmpService,
  sip: sipService,
  conpot: conpotService,
  // --- end entries ---
};

/** The module for `name`, or the generic listener, or undefined. */
export function getService(name: string): ServiceModule | undefined {
  return registry[name] ?? registry['generic'];
}

export function serviceNames(): string[] {
  return Object.keys(registry).sort();
}
